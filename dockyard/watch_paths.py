"""Watch paths: a push deploys an environment only when it changed a file they match.

Patterns are globs relative to the environment's root directory, as environments.
updateSettings documents them: `*` and `?` stay within one path segment, `**` crosses
segments, and a pattern naming a directory matches everything below it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from functools import lru_cache


def should_build(
    patterns: list[str], root_directory: str, changed_files: Iterable[str] | None
) -> bool:
    """Whether a push that changed `changed_files` (None: not known) needs a build."""
    if not patterns or changed_files is None:
        return True
    root = posixpath.normpath(root_directory.strip("/") or ".")
    prefix = "" if root == "." else f"{root}/"
    return any(
        _pattern(f"{prefix}{pattern}").match(path) for path in changed_files for pattern in patterns
    )


@lru_cache(maxsize=256)
def _pattern(glob: str) -> re.Pattern[str]:
    parts = []
    index = 0
    while index < len(glob):
        if glob.startswith("**/", index):
            parts.append("(?:.*/)?")
            index += 3
        elif glob.startswith("**", index):
            parts.append(".*")
            index += 2
        elif glob[index] == "*":
            parts.append("[^/]*")
            index += 1
        elif glob[index] == "?":
            parts.append("[^/]")
            index += 1
        else:
            parts.append(re.escape(glob[index]))
            index += 1
    return re.compile("".join(parts) + "(?:/.*)?$")
