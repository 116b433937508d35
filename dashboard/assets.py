"""The page's files, held in memory under a version that changes with their contents.

Asset URLs carry the version (`/dashboard/assets/<version>/app.js`), so a browser caches
them for good and a warm page load asks the server for nothing but the shell and its
data; a new dockyard (or an edited file, in development) is a new version. Libraries kept
as published live under `vendor/`, named by their path (`vendor/uPlot.esm.js`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".html": "text/html; charset=utf-8",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str


class Assets:
    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._stamp: tuple[tuple[str, int, int], ...] = ()
        self._files: dict[str, Asset] = {}
        self.version = ""

    def refresh(self) -> None:
        """Reload when a file changed; a few stat calls when nothing did."""
        paths = self._paths()
        stamp = tuple(
            (name, path.stat().st_mtime_ns, path.stat().st_size) for name, path in paths.items()
        )
        if stamp == self._stamp:
            return
        files = {
            name: Asset(path.read_bytes(), MEDIA_TYPES[path.suffix]) for name, path in paths.items()
        }
        digest = hashlib.sha256()
        for name, asset in files.items():
            digest.update(name.encode() + b"\0" + asset.body + b"\0")
        self._files, self._stamp, self.version = files, stamp, digest.hexdigest()[:12]

    def _paths(self) -> dict[str, Path]:
        """The page's files by name: the folder's own, and one level of subfolders."""
        found = [*self._folder.iterdir(), *self._folder.glob("*/*")]
        return {
            path.relative_to(self._folder).as_posix(): path
            for path in sorted(found)
            if path.is_file() and path.suffix in MEDIA_TYPES
        }

    def get(self, name: str) -> Asset | None:
        if not self._files:
            self.refresh()
        return self._files.get(name)
