"""A request path as a template: `/orders/7/items/3f9c...` is `/orders/{id}/items/{id}`.

The gateway knows no app's routes, so a path segment that looks like an id is replaced:
digits, a UUID, a long hex or base64-like token, a prefixed id such as `key_2Xb9...`. A
chart then groups by endpoint rather than by every order number. Computed by the
collector, off the hot path, and cached (the same paths recur).
"""

from __future__ import annotations

import functools
import re

ID = "{id}"
_ID_SEGMENT = re.compile(
    r"""^(?:
        \d+                                                  # 7, 2024
      | [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}  # a UUID
      | [0-9a-f]{16,}                                         # a hex digest or id
      | [a-z]{1,12}_(?=[A-Za-z]*\d)[A-Za-z0-9]{8,}          # key_2Xb9..., usr_...
      | (?=[^/]*\d)[A-Za-z0-9_-]{20,}                        # a long token with a digit
    )$""",
    re.VERBOSE | re.IGNORECASE,
)
CACHE_SIZE = 65_536


@functools.lru_cache(maxsize=CACHE_SIZE)
def path_template(path: str) -> str:
    return "/".join(ID if _ID_SEGMENT.match(segment) else segment for segment in path.split("/"))
