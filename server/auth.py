"""Who is calling: API keys (`Authorization: Bearer KEY`, assistant/apikeys.py) and their roles.

- no key, a malformed header, an unknown or revoked key: 401 (with `WWW-Authenticate: Bearer`);
- a key over its rate limit (server/limits.py): 429 with `Retry-After`;
- a key whose role may not do what it asks: 403 (`require(Role.OWNER)`).

An application that serves several people with one key names the person each call is made for in
`X-Dalil-User` (assistant/client.py `USER_HEADER`); what the call does is then recorded as
"PERSON via KEY" (`Caller.recorded_as`). The key stays what is authorised: the header changes the
record, never the role or the audience.

A route takes `caller: Caller = Depends(current_caller)` (any valid key) or
`caller: Caller = Depends(require(Role.OWNER))`. The caller's audience decides which collections it
sees: a citizen key the public ones only, every other role all of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote

from fastapi import Depends, HTTPException, Request

from assistant.apikeys import ApiKeyStore
from assistant.client import USER_HEADER
from assistant.modes import Audience, Role
from server.limits import RateLimiter, retry_after

__all__ = ["Caller", "Role", "current_caller", "require"]


@dataclass(frozen=True)
class Caller:
    """The holder of a valid API key."""

    name: str  # the key's name (`dalil keys add NAME`): recorded as the user of what it does
    role: Role
    # the person an application's key acts for (header X-Dalil-User), recorded beside the key's name
    acting_for: str | None = None

    @property
    def recorded_as(self) -> str:
        """Who did it, as the audit trail, withdrawals and jobs record it: "USER via KEY", or KEY."""
        return f"{self.acting_for} via {self.name}" if self.acting_for else self.name

    @property
    def audience(self) -> Audience:
        """Which collections it sees: citizens the public ones, every other role all of them."""
        return self.role.audience

    @property
    def can_manage_documents(self) -> bool:
        return self.role is Role.OWNER

    def may_see(self, collection_audience: Audience | str) -> bool:
        """Whether a collection of that audience is visible to this caller."""
        return self.audience is Audience.AGENTS or Audience(collection_audience) is Audience.PUBLIC


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


async def current_caller(request: Request) -> Caller:
    """The caller of this request (FastAPI dependency): 401 without a valid key, 429 over its rate.

    Runs on the event loop (no thread): the key lookup is one indexed SQLite read."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise _unauthorised("an API key is needed: send `Authorization: Bearer KEY` (`dalil keys add`)")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorised("malformed Authorization header: send `Authorization: Bearer KEY`")
    keys: ApiKeyStore = request.app.state.keys
    record = keys.lookup(token.strip())
    if record is None:
        raise _unauthorised("unknown or revoked API key: ask the operator for a key (`dalil keys add`)")
    caller = Caller(record.name, record.role, _acting_for(request.headers.get(USER_HEADER)))
    request.state.caller = caller
    limiter: RateLimiter = request.app.state.limiter
    wait = limiter.take(caller.name)
    if wait > 0:
        raise HTTPException(
            429,
            f"rate limit of key {caller.name!r} exceeded ({limiter.rate:g} requests/s, burst "
            f"{limiter.burst}): retry after the delay in Retry-After",
            headers={"Retry-After": retry_after(wait)},
        )
    return caller


def _acting_for(value: str | None) -> str | None:
    """The person named by the X-Dalil-User header (percent-encoded UTF-8), or None; 400 for a
    name that is not one printable line of at most 128 characters."""
    if value is None or not value.strip():
        return None
    name = unquote(value.strip())
    if len(name) > 128 or not name.isprintable():
        raise HTTPException(
            400, f"{USER_HEADER} must name one person: one printable line of at most 128 characters"
        )
    return name


def require(*roles: Role) -> Callable[..., Awaitable[Caller]]:
    """A dependency that lets through only callers with one of `roles` (403 for the others)."""
    allowed = frozenset(roles)

    async def dependency(caller: Caller = Depends(current_caller)) -> Caller:
        if caller.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise HTTPException(
                403, f"key {caller.name!r} has role {caller.role.value}; this needs role {names}"
            )
        return caller

    return dependency
