"""The Docker build driver: `docker build` of a checked-out app, one output line at a time.

Docker's layer cache does the heavy lifting: a rebuild after a small change reruns only
the steps after the first one whose input changed. `abort` cuts the connection to the
engine, which makes the engine cancel the build and remove its intermediate containers.
"""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import docker

# The classic builder announces each Dockerfile instruction as `Step 3/7 : RUN make`.
STEP_LINE = re.compile(r"^Step (\d+)/\d+ : ")
BUILD_ABORTED = "the build was stopped"
NO_IMAGE = "the build finished without producing an image"

Output = Literal["stdout", "stderr"]


@dataclass(frozen=True)
class BuildLine:
    step_id: str  # `docker` before the first instruction, then `step-<n>`
    step: str  # the instruction as docker printed it, e.g. `Step 2/4 : COPY . /app`
    output: Output
    message: str


class BuildFailed(Exception):
    """The Dockerfile did not build; the message says why (docker's own error)."""


class _StreamingApi(docker.APIClient):  # type: ignore[misc]
    """Keeps the response of the build in progress, so another thread can cut it off."""

    response: Any = None

    def _stream_helper(self, response: Any, decode: bool = False) -> Iterator[Any]:
        self.response = response
        return super()._stream_helper(response, decode)  # type: ignore[no-any-return]


class ImageBuild:
    """One `docker build`; not reusable."""

    def __init__(
        self,
        *,
        context: Path,
        dockerfile: str,
        tag: str,
        build_args: dict[str, str] | None = None,
    ) -> None:
        self._context = context
        self._dockerfile = dockerfile
        self._tag = tag
        self._build_args = build_args
        self._api = _StreamingApi(**docker.utils.kwargs_from_env(), version="auto")
        self._aborted = False
        self._step_id = "docker"
        self._step = ""

    def run(self, on_line: Callable[[BuildLine], None]) -> str:
        """Build and tag the image; its id (`sha256:...`), which is its content digest."""
        try:
            image_id = self._stream(on_line) or str(self._api.inspect_image(self._tag)["Id"])
        except Exception as error:  # a cut connection surfaces as urllib3's or docker's error
            if self._aborted and not isinstance(error, BuildFailed):
                raise BuildFailed(BUILD_ABORTED) from error
            raise
        finally:
            self._api.close()
        if self._aborted:
            raise BuildFailed(BUILD_ABORTED)
        return image_id

    def _stream(self, on_line: Callable[[BuildLine], None]) -> str:
        image_id = ""
        partial = ""
        stream = self._api.build(
            path=str(self._context),
            dockerfile=self._dockerfile,
            tag=self._tag,
            buildargs=self._build_args,
            rm=True,
            forcerm=True,
            decode=True,
        )
        for chunk in stream:
            if "error" in chunk:
                if partial:
                    on_line(self._line(partial, "stdout"))
                message = str(chunk["error"]).strip()
                on_line(self._line(message, "stderr"))
                raise BuildFailed(message)
            image_id = (chunk.get("aux") or {}).get("ID") or image_id
            *lines, partial = (partial + _text(chunk)).split("\n")
            for line in lines:
                on_line(self._line(line.rstrip("\r"), "stdout"))
        if partial:
            on_line(self._line(partial, "stdout"))
        return str(image_id)

    def abort(self) -> None:
        self._aborted = True
        response = self._api.response
        connection = getattr(getattr(response, "raw", None), "connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            # Already closed means the build is over anyway.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _line(self, text: str, output: Output) -> BuildLine:
        step = STEP_LINE.match(text)
        if step:
            self._step_id, self._step = f"step-{step.group(1)}", text[:256]
        return BuildLine(step_id=self._step_id, step=self._step, output=output, message=text)


def _text(chunk: dict[str, Any]) -> str:
    if "stream" in chunk:
        return str(chunk["stream"])
    if "status" in chunk and not chunk.get("progressDetail"):  # pulling a base image
        ident = f"{chunk['id']}: " if chunk.get("id") else ""
        return f"{ident}{chunk['status']}\n"
    return ""
