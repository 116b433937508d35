"""DNS look-ups for custom domains, behind an interface tests replace.

`Resolver` is what domain verification needs: the TXT strings at a name, and the CNAME
target of a name. `SystemResolver` asks the system's nameservers (dnspython); tests hand
`api.main.create_app` a resolver that answers from a dict.
"""

from __future__ import annotations

from typing import Protocol

import dns.asyncresolver
import dns.exception
import dns.resolver

TIMEOUT_SECONDS = 3.0


class LookupFailed(Exception):
    """The question could not be answered (timeout, SERVFAIL); not "no such record"."""


class Resolver(Protocol):
    async def txt(self, name: str) -> list[str]:
        """Every TXT string at `name`; [] when there is none."""
        ...

    async def cname(self, name: str) -> str | None:
        """The CNAME target of `name` without the trailing dot; None when there is none."""
        ...


class SystemResolver:
    def __init__(self, timeout: float = TIMEOUT_SECONDS) -> None:
        self._resolver = dns.asyncresolver.Resolver()
        self._resolver.lifetime = timeout

    async def txt(self, name: str) -> list[str]:
        answer = await self._resolve(name, "TXT")
        return [
            b"".join(getattr(record, "strings", ())).decode(errors="replace") for record in answer
        ]

    async def cname(self, name: str) -> str | None:
        answer = await self._resolve(name, "CNAME")
        for record in answer:
            return str(getattr(record, "target", "")).rstrip(".").lower() or None
        return None

    async def _resolve(self, name: str, rdtype: str) -> list[dns.rdata.Rdata]:
        try:
            answer = await self._resolver.resolve(name, rdtype)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as error:
            raise LookupFailed(f"{rdtype} {name}: {error}") from error
        return list(answer)
