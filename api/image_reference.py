"""Docker image references, checked against Docker's reference grammar before anything runs.

    reference  := name [ ":" tag ] [ "@" digest ]
    name       := [ domain "/" ] path-component [ "/" path-component ]*
    domain     := host [ ":" port ]
    path-component := [a-z0-9]+ ( separator [a-z0-9]+ )*   separator: "." | "_" | "__" | "-"+
    tag        := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
    digest     := algorithm ":" hex        e.g. sha256:<64 hex digits>

A typo caught here is a 400 the caller can fix at once, instead of a deployment that fails
minutes later in a worker with "pull access denied".
"""

from __future__ import annotations

import re

NAME_MAX_LENGTH = 255
EXAMPLE = "ghcr.io/acme/api:v1.2.3"

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_NAME = re.compile(rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*", re.ASCII)
_TAG = re.compile(r"\w[\w.-]{0,127}", re.ASCII)
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
# Docker refuses these as names: they would be mistaken for image ids.
_IMAGE_ID = re.compile(r"[a-f0-9]{64}")
_DIGEST_HEX_LENGTHS = {"sha256": 64, "sha512": 128}


def image_reference_problem(reference: str) -> str | None:
    """Why `reference` is not a valid Docker image reference, or None when it is one."""
    if not reference:
        return "the image reference is empty"
    if any(character.isspace() for character in reference):
        return f"{reference!r} contains whitespace; an image reference has none"
    name, has_digest, digest = reference.partition("@")
    if has_digest:
        problem = _digest_problem(digest)
        if problem:
            return problem
    # A colon after the last slash starts the tag; one before it belongs to a registry port.
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.fullmatch(tag):
            return (
                f"tag {tag!r} is not valid: use up to 128 letters, digits, '_', '.' or '-', "
                "not starting with '.' or '-'"
            )
    return _name_problem(name)


def _name_problem(name: str) -> str | None:
    if not name:
        return "the repository name is missing"
    if len(name) > NAME_MAX_LENGTH:
        return f"the repository name is longer than {NAME_MAX_LENGTH} characters"
    if _IMAGE_ID.fullmatch(name):
        return "a 64-character hexadecimal name is reserved for image ids; name the repository"
    if _NAME.fullmatch(name):
        return None
    if _NAME.fullmatch(name.lower()):
        return f"repository name {name!r} must be lowercase"
    return (
        f"{name!r} is not a valid repository name: expected "
        f"[registry[:port]/]path[:tag][@digest] such as {EXAMPLE}"
    )


def _digest_problem(digest: str) -> str | None:
    if not _DIGEST.fullmatch(digest):
        return f"digest {digest!r} is not valid: expected <algorithm>:<hex>, e.g. sha256:<64 hex>"
    algorithm, _, hex_part = digest.partition(":")
    expected = _DIGEST_HEX_LENGTHS.get(algorithm)
    if expected is not None and len(hex_part) != expected:
        return f"a {algorithm} digest has {expected} hex digits, not {len(hex_part)}"
    return None


def check_image_reference(reference: str) -> str:
    """The reference unchanged when valid; a ValueError saying what is wrong otherwise."""
    problem = image_reference_problem(reference)
    if problem:
        raise ValueError(problem)
    return reference
