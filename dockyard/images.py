"""Local images for the demo app, buildable with no container registry."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import docker
from docker.errors import ImageNotFound

LOCAL_BUSYBOX = "dockyard/busybox:local"
DEMO_REPOSITORY = "dockyard/hello"
# The versions of the demo image the README's tour deploys.
DEMO_VERSIONS = ("v1", "v2")
BUSYBOX_BINARIES = ("/bin/busybox", "/usr/bin/busybox")
DEMO_CONTEXT = Path(__file__).resolve().parent.parent / "examples" / "hello"
NO_BUSYBOX = (
    "no busybox base image can be pulled and no static busybox binary was found; "
    "install one (Debian: apt-get install busybox-static)"
)


def busybox_base(client: docker.DockerClient) -> str:
    """An image with busybox in /bin: the public one if it can be had, else one built here."""
    for candidate in (LOCAL_BUSYBOX, "busybox:1.36"):
        try:
            client.images.get(candidate)
            return candidate
        except ImageNotFound:
            continue
    binary = next((path for path in BUSYBOX_BINARIES if _is_static(path)), None)
    if binary is None:
        try:
            client.images.pull("busybox:1.36")
            return "busybox:1.36"
        except docker.errors.APIError as error:
            raise RuntimeError(NO_BUSYBOX) from error
    dockerfile = (
        b"FROM scratch\nCOPY busybox /bin/busybox\n"
        b'RUN ["/bin/busybox", "--install", "-s", "/bin"]\n'
    )
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as archive:
        _add_bytes(archive, "Dockerfile", dockerfile)
        archive.add(binary, arcname="busybox")
    context.seek(0)
    client.images.build(fileobj=context, custom_context=True, tag=LOCAL_BUSYBOX, rm=True)
    return LOCAL_BUSYBOX


def build_demos(client: docker.DockerClient) -> dict[str, str]:
    """Every version of the demo image the tour deploys, each tag by its version."""
    return {version: build_demo(client, version) for version in DEMO_VERSIONS}


def build_demo(client: docker.DockerClient, version: str = "v1") -> str:
    """Build examples/hello as `dockyard/hello:<version>`; its /version.txt says the version."""
    tag = f"{DEMO_REPOSITORY}:{version}"
    client.images.build(
        path=str(DEMO_CONTEXT),
        tag=tag,
        buildargs={"BASE_IMAGE": busybox_base(client), "VERSION": version},
        rm=True,
    )
    return tag


def _is_static(path: str) -> bool:
    binary = shutil.which(path)
    if binary is None:
        return False
    with open(binary, "rb") as handle:
        header = handle.read(4096)
    # A dynamically linked ELF names its interpreter (.interp); a static one does not.
    return header.startswith(b"\x7fELF") and b"/lib64/ld-linux" not in header


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))
