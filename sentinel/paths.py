"""Dot segments in a request's path, resolved before the path reaches an app.

`/static/../../etc/passwd` means `/etc/passwd` to anyone who resolves it (RFC 3986 section
5.2.4) and something else to an app that serves files by joining paths naively. The edge
resolves `.` and `..` segments, percent-encoded dots included (`%2e%2e`), so every app
sees the same path the edge's policies matched; a path whose `..` would climb above the
root has no meaning and is refused (None).
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.types import Scope

_ENCODED_DOT = (b"%2e", b"%2E")


def resolve_dot_segments(raw_path: bytes) -> bytes | None:
    """The path without dot segments, as the client encoded it otherwise; None when a
    `..` climbs above the root. Paths without dots are returned as they are, at once."""
    if b"." not in raw_path and not any(dot in raw_path for dot in _ENCODED_DOT):
        return raw_path
    kept: list[bytes] = []
    segments = raw_path.split(b"/")[1:]
    for index, segment in enumerate(segments):
        plain = segment
        for dot in _ENCODED_DOT:
            plain = plain.replace(dot, b".")
        last = index == len(segments) - 1
        if plain == b".":
            if last:
                kept.append(b"")
            continue
        if plain == b"..":
            if not kept:
                return None
            kept.pop()
            if last:
                kept.append(b"")
            continue
        kept.append(segment)
    return b"/" + b"/".join(kept)


def resolve_in_scope(scope: Scope) -> bool:
    """Resolve the dot segments of the request's path in place (`raw_path` and `path`);
    False, leaving the scope alone, when the path climbs above the root."""
    raw: bytes | None = scope.get("raw_path")
    if raw is None:
        path: str = scope["path"]
        resolved = resolve_dot_segments(path.encode("utf-8"))
        if resolved is None:
            return False
        scope["path"] = resolved.decode("utf-8")
        return True
    resolved = resolve_dot_segments(raw)
    if resolved is None:
        return False
    if resolved is not raw:
        scope["raw_path"] = resolved
        scope["path"] = unquote_to_bytes(resolved).decode("utf-8", "replace")
    return True
