"""The jwt rule (a dockyard extension): a bearer JWT verified with PyJWT.

Keys come from a PEM public key in the policy, or from a JWKS URL: PyJWKClient fetches
the key set on first use and whenever a token names a key id it does not have yet, in a
worker thread (it uses blocking HTTP), and caches it. Issuer, audiences, algorithms and
the allowed clock skew are the policy's. A missing or invalid token is a 401; a valid
one's claims become the principal (`subject` is its `sub`). A key set that cannot be
fetched is a 503: the token may well be good, and the request stays refused.
"""

from __future__ import annotations

import asyncio
from typing import Any

import jwt
from starlette.responses import Response

from sentinel import problems
from sentinel.policies.rules import Exchange

MISSING = "a bearer token is required: send it as `Authorization: Bearer <JWT>`"
INVALID = "the bearer token is not valid: {reason}"
UNREACHABLE = "the token cannot be verified right now: its key set did not load ({reason})"
JWKS_CACHE_SECONDS = 300


class JwtRule:
    def __init__(self, spec: dict[str, Any]) -> None:
        self._algorithms = list(spec.get("algorithms") or ["RS256"])
        self._issuer: str | None = spec.get("issuer")
        self._audiences: list[str] | None = spec.get("audiences") or None
        self._leeway = int(spec.get("clockSkewSeconds", 30))
        self._public_key: str | None = spec.get("publicKey")
        self._jwks = (
            jwt.PyJWKClient(spec["jwksUrl"], cache_keys=True, lifespan=JWKS_CACHE_SECONDS)
            if spec.get("jwksUrl")
            else None
        )
        self._missing = problems.Problem(401, "token_missing", MISSING)
        self._missing.headers["www-authenticate"] = "Bearer"

    async def _key(self, token: str) -> Any:
        if self._jwks is None:
            return self._public_key
        return (await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)).key

    async def check(self, exchange: Exchange) -> Response | None:
        header = exchange.view.header("authorization") or ""
        if header[:7].lower() != "bearer " or not header[7:].strip():
            return self._missing
        token = header[7:].strip()
        try:
            claims = jwt.decode(
                token,
                await self._key(token),
                algorithms=self._algorithms,
                audience=self._audiences,
                issuer=self._issuer,
                leeway=self._leeway,
            )
        except jwt.PyJWKClientConnectionError as error:
            return problems.Problem(503, "token_unverifiable", UNREACHABLE.format(reason=error))
        except (jwt.PyJWTError, ValueError) as error:
            invalid = problems.Problem(401, "token_invalid", INVALID.format(reason=error))
            invalid.headers["www-authenticate"] = 'Bearer error="invalid_token"'
            return invalid
        exchange.identify(
            {
                "type": "jwt",
                "subject": str(claims.get("sub", "")),
                "issuer": claims.get("iss"),
                "claims": claims,
            }
        )
        return None
