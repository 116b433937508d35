"""Custom domain names: checked and put in canonical form, and the DNS records they need.

A name is stored as lowercase ASCII, Unicode labels in Punycode, so `bücher.example` and
`xn--bcher-kva.example` are one domain. It must sit under a registrable domain (the public
suffix list decides: `api.acme.co.uk` yes, `co.uk` no), and outside dockyard's own apex,
whose names dockyard generates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import idna
from publicsuffixlist import PublicSuffixList

from dockyard.domains import DomainKind

TXT_PREFIX = "_dockyard"
TXT_VALUE_PREFIX = "dockyard-domain-verify="
TTL_SECONDS = 300
MAX_LENGTH = 253
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")

NOT_A_NAME = (
    "{name!r} is not a valid fully qualified domain name. Pass a name such as 'api.acme.com', "
    "without a scheme, port, or path."
)
PUBLIC_SUFFIX = (
    "{name!r} is a public suffix that nobody can own. Pass a domain registered to you, "
    "such as 'api.acme.com'."
)
OWN_APEX = (
    "{name!r} is under {apex!r}, where dockyard names deployments itself; attach a domain "
    "you own instead."
)
ROUTING_NOTE = "Create as DNS-only if your provider offers the choice."
APEX_NOTE = (
    "Apex domains cannot hold a CNAME. Use ALIAS, ANAME, or a flattened CNAME depending on "
    "your provider."
)
OWNERSHIP_NOTE = "Proves ownership. Create it alongside the routing record."


@cache
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()


def canonical(name: str) -> str:
    """The stored form of a domain name, or ValueError saying what is wrong with it."""
    if any(ord(character) < 0x20 or character == "\x7f" for character in name):
        # CR, LF and friends are never part of a name; stripped, they would hide an attempt
        # to smuggle a header into the DNS records, Host matches or logs this name reaches.
        raise ValueError(NOT_A_NAME.format(name=name))
    text = name.strip().rstrip(".")
    if not text or any(mark in text for mark in ("://", "/", ":", " ", "@", "?", "#")):
        raise ValueError(NOT_A_NAME.format(name=name))
    try:
        ascii_name = idna.encode(text, uts46=True).decode()
    except idna.IDNAError as error:
        raise ValueError(NOT_A_NAME.format(name=name)) from error
    labels = ascii_name.split(".")
    if len(ascii_name) > MAX_LENGTH or len(labels) < 2 or not all(map(_LABEL.match, labels)):
        raise ValueError(NOT_A_NAME.format(name=name))
    return ascii_name


def check_attachable(hostname: str, *, apex: str) -> None:
    """ValueError unless the (canonical) name can be attached as a custom domain."""
    if hostname == apex or hostname.endswith(f".{apex}"):
        raise ValueError(OWN_APEX.format(name=hostname, apex=apex))
    if _suffixes().privatesuffix(hostname) is None:
        raise ValueError(PUBLIC_SUFFIX.format(name=hostname))


def is_apex(hostname: str) -> bool:
    return _suffixes().privatesuffix(hostname) == hostname


def txt_name(hostname: str) -> str:
    return f"{TXT_PREFIX}.{hostname}"


def txt_value(token: str) -> str:
    return f"{TXT_VALUE_PREFIX}{token}"


@dataclass(frozen=True)
class Record:
    type: str  # CNAME | ALIAS | TXT
    name: str
    value: str
    verified: bool
    note: str
    ttl: int = TTL_SECONDS


def records(
    hostname: str, *, token: str, target: str, routing_verified: bool, owned: bool
) -> list[Record]:
    """The routing record (to the edge, through the environment's own name) and the TXT
    record that proves ownership."""
    apex = is_apex(hostname)
    return [
        Record(
            type="ALIAS" if apex else "CNAME",
            name=hostname,
            value=target,
            verified=routing_verified,
            note=APEX_NOTE if apex else ROUTING_NOTE,
        ),
        Record(
            type="TXT",
            name=txt_name(hostname),
            value=txt_value(token),
            verified=owned,
            note=OWNERSHIP_NOTE,
        ),
    ]


CUSTOM = DomainKind.CUSTOM.value
