# dockyard's own image: one image for the api, the worker and the edge, picked by the
# command (deploy/docker-entrypoint.sh): `docker run IMAGE api|worker|edge`.
#
#   docker build -t dockyard .     the usual base, packages from PyPI
#   scripts/build-image            no registry at all: a local Debian base and wheels/
#
# BASE_IMAGE: any Debian-like image with python3 (3.11 or newer) and its venv module.
# A wheels/ directory in the build context (`pip wheel` output, built for the base image's
# Python) makes every install come from it with --no-index: no package index is contacted.
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python3 -m venv /opt/dockyard
WORKDIR /src
# Dependencies get their own layer, rebuilt when pyproject.toml or the wheelhouse changes
# and not on every source edit. `wheel[s]` copies the wheelhouse's files when there is
# one and matches nothing when there is none; pyproject.toml keeps the COPY valid then.
COPY pyproject.toml wheel[s] /wheelhouse/
RUN python3 -c 'import tomllib; print("\n".join(tomllib.load(open("/wheelhouse/pyproject.toml", "rb"))["project"]["dependencies"]))' \
        > /wheelhouse/requirements.txt \
    && if ls /wheelhouse/*.whl >/dev/null 2>&1; then index="--no-index --find-links /wheelhouse"; else index=""; fi \
    && /opt/dockyard/bin/pip install $index -r /wheelhouse/requirements.txt
COPY . .
RUN if ls /wheelhouse/*.whl >/dev/null 2>&1; then index="--no-index --find-links /wheelhouse"; else index=""; fi \
    && /opt/dockyard/bin/pip install $index --no-deps . \
    && /opt/dockyard/bin/python -c "import dockyard"

FROM ${BASE_IMAGE}
# PATH is spelled out: an imported base (scripts/build-image) may have none to extend.
ENV PATH=/opt/dockyard/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DOCKYARD_HOME=/var/lib/dockyard \
    DOCKYARD_BIND_HOST=0.0.0.0
# A fixed uid and gid, so volumes and the Docker socket's group can be granted to them.
# Written directly: minimal bases have no useradd.
RUN echo 'dockyard:x:10001:10001:dockyard:/var/lib/dockyard:/usr/sbin/nologin' >> /etc/passwd \
    && echo 'dockyard:x:10001:' >> /etc/group \
    && mkdir -p /var/lib/dockyard \
    && chown 10001:10001 /var/lib/dockyard
# git: the worker fetches the exact commit it builds.
RUN command -v git >/dev/null \
    || (apt-get update && apt-get install -y --no-install-recommends git ca-certificates \
        && rm -rf /var/lib/apt/lists/*)
COPY --from=build /opt/dockyard /opt/dockyard
COPY deploy/docker-entrypoint.sh /usr/local/bin/dockyard-entrypoint
USER 10001:10001
WORKDIR /var/lib/dockyard
# api on 8000, edge on 8080 (DOCKYARD_API_PORT, DOCKYARD_EDGE_PORT).
EXPOSE 8000 8080
ENTRYPOINT ["dockyard-entrypoint"]
CMD ["api"]
