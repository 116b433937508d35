"""Permission queries, as keys.verifyKey and keyauth policies take them.

    documents.read
    documents.read AND documents.write
    (documents.read OR documents.write) AND users.view

AND binds tighter than OR; parentheses group. A key's permission `documents.*` grants
every permission under `documents.` (and `*` grants everything). Parsing happens once,
when a policy is stored or a request arrives; evaluation is a walk over a small tree.
"""

from __future__ import annotations

import re
from collections.abc import Set
from dataclasses import dataclass

_TOKEN = re.compile(r"\s*(?:(\()|(\))|([A-Za-z0-9_:\-.*]+))")
MAX_LENGTH = 1000


class QueryError(ValueError):
    """The query is not well formed; the message says where."""


@dataclass(frozen=True, slots=True)
class Query:
    op: str  # "perm", "and", "or"
    name: str = ""
    parts: tuple[Query, ...] = ()

    def allows(self, held: Set[str]) -> bool:
        if self.op == "perm":
            return grants(held, self.name)
        if self.op == "and":
            return all(part.allows(held) for part in self.parts)
        return any(part.allows(held) for part in self.parts)


def grants(held: Set[str], wanted: str) -> bool:
    """Whether the permissions `held` include `wanted`, directly or by a wildcard."""
    if wanted in held or "*" in held:
        return True
    for permission in held:
        if permission.endswith("*") and wanted.startswith(permission[:-1]):
            return True
    return False


def parse(text: str) -> Query:
    if len(text) > MAX_LENGTH:
        raise QueryError(f"a permission query may be at most {MAX_LENGTH} characters long")
    tokens = _tokens(text)
    if not tokens:
        raise QueryError("the permission query is empty")
    query, position = _or(tokens, 0)
    if position != len(tokens):
        raise QueryError(f"unexpected {tokens[position]!r} in the permission query")
    return query


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        found = _TOKEN.match(text, position)
        if found is None:
            bad = text[position:].strip()[:1]
            raise QueryError(f"{bad!r} cannot appear in a permission query")
        tokens.append(found.group(found.lastindex or 0))
        position = found.end()
    return tokens


def _or(tokens: list[str], position: int) -> tuple[Query, int]:
    parts = []
    part, position = _and(tokens, position)
    parts.append(part)
    while position < len(tokens) and tokens[position].upper() == "OR":
        part, position = _and(tokens, position + 1)
        parts.append(part)
    return (parts[0] if len(parts) == 1 else Query("or", parts=tuple(parts))), position


def _and(tokens: list[str], position: int) -> tuple[Query, int]:
    parts = []
    part, position = _atom(tokens, position)
    parts.append(part)
    while position < len(tokens) and tokens[position].upper() == "AND":
        part, position = _atom(tokens, position + 1)
        parts.append(part)
    return (parts[0] if len(parts) == 1 else Query("and", parts=tuple(parts))), position


def _atom(tokens: list[str], position: int) -> tuple[Query, int]:
    if position >= len(tokens):
        raise QueryError("the permission query ends where a permission was expected")
    item = tokens[position]
    if item == "(":
        query, position = _or(tokens, position + 1)
        if position >= len(tokens) or tokens[position] != ")":
            raise QueryError("a '(' in the permission query is never closed")
        return query, position + 1
    if item == ")" or item.upper() in ("AND", "OR"):
        raise QueryError(f"a permission was expected where {item!r} is")
    return Query("perm", name=item), position + 1
