"""The chat's login: ASSISTANT_AUTH's user and password, with failed attempts slowed down.

Gradio hands the login callable only the name and password typed, so `RememberClient` (an ASGI
middleware `launch` gives Gradio's FastAPI app) keeps each request's client address where
`Login.attempt` reads it. That is the connecting address, or the one a trusted proxy names:
uvicorn trusts X-Forwarded-For from FORWARDED_ALLOW_IPS, by default loopback only. An IPv6
client counts as its /64.

Every attempt is checked at once, and the right password is answered at once: no lock, no
queue, nobody else's failures in front of it. A wrong one is answered only after a hold: none for
a client's first FREE_FAILURES, then FIRST_DELAY doubling up to MAX_DELAY, and at least the
hold of the failures over all clients (ALL_FREE free), so that many addresses gain little. While
a client's wrong attempt is held, its other attempts are refused unchecked: one guess in flight
per client, so parallel connections gain nothing. The right password clears its client's count.
At most MAX_CLIENTS clients are remembered (the longest quiet forgotten first) and names are
not kept at all, so the memory stays bounded whatever is tried.
"""

from __future__ import annotations

import asyncio
import contextvars
import hmac
import ipaddress
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from index.errors import SettingsError

FREE_FAILURES = 3  # a client's typing mistakes cost nothing
FIRST_DELAY = 0.5  # seconds the first wrong attempt past the free ones is held
MAX_DELAY = 30.0
ALL_FREE = 20  # failures over all clients before every wrong attempt is held too
FORGET_AFTER = 15 * 60.0  # seconds without a failure after which a count starts again
MAX_CLIENTS = 10_000  # clients whose failures are remembered

_CLIENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("login_client", default=None)


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """ASSISTANT_AUTH's 'user:password' as Gradio wants it (None when unset)."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise SettingsError("ASSISTANT_AUTH must look like user:password")
    return user, password


class RememberClient:
    """ASGI middleware: each HTTP request's client address, for `Login.attempt` to read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        token = _CLIENT.set(str(client[0]) if client else None)
        try:
            await self.app(scope, receive, send)
        finally:
            _CLIENT.reset(token)


def app_kwargs() -> dict[str, Any]:
    """What Gradio's `launch(app_kwargs=...)` needs so that logins know their client."""
    return {"middleware": [Middleware(RememberClient)]}


def client_key(host: str | None) -> str | None:
    """Whom failures are counted for: the address, an IPv6 one's /64 (None when unknown)."""
    if not host:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:200]  # not an address: a test client's name, say
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


@dataclass
class _Count:
    free: int
    failures: int = 0
    last: float = float("-inf")  # the last failure (monotonic seconds)
    open_at: float = float("-inf")  # the client's attempts are refused unchecked before this

    def fail(self, now: float) -> float:
        """Counts a failure; how long to hold it: FIRST_DELAY past the free ones, doubling."""
        if now - self.last > FORGET_AFTER:
            self.failures = 0
        self.failures += 1
        self.last = now
        over = self.failures - self.free
        return 0.0 if over <= 0 else min(FIRST_DELAY * 2 ** min(over - 1, 16), MAX_DELAY)


class Login:
    """The one user and password; `attempt` is what Gradio's `auth` takes.

    Gradio awaits `auth` only when it is a coroutine function, so pass the bound method
    `attempt`, never the object itself (a coroutine object would count as a yes).
    """

    def __init__(
        self,
        user: str,
        password: str,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ):
        self._user = user.encode()
        self._password = password.encode()
        self._clock = clock
        self._sleep = sleep
        self._clients: OrderedDict[str, _Count] = OrderedDict()  # least recently failed first
        self._all = _Count(ALL_FREE)

    async def attempt(self, user: str, password: str) -> bool:
        """Whether the user and password are right, for the client `RememberClient` saw."""
        return await self.attempt_from(_CLIENT.get(), user, password)

    async def attempt_from(self, client: str | None, user: str, password: str) -> bool:
        """Whether they are right: at once when right, after the failure's hold when wrong.

        No while this client's last wrong attempt is still held, without a check.
        """
        now = self._clock()
        key = client_key(client)
        count = self._known(key, now)
        if count is not None and now < count.open_at:
            return False
        if self.check(user, password):
            if key is not None:
                self._clients.pop(key, None)
            return True
        hold = self._all.fail(now)
        if key is not None:
            count = count or _Count(FREE_FAILURES)
            hold = max(hold, count.fail(now))
            count.open_at = now + hold
            self._remember(key, count, now)
        if hold > 0:
            await self._sleep(hold)
        return False

    def check(self, user: str, password: str) -> bool:
        """Both compared in constant time, whatever their lengths."""
        same_user = hmac.compare_digest(user.encode(), self._user)
        same_password = hmac.compare_digest(password.encode(), self._password)
        return same_user and same_password

    def tracked(self) -> int:
        """How many clients' failures are remembered (never more than MAX_CLIENTS)."""
        return len(self._clients)

    def _known(self, key: str | None, now: float) -> _Count | None:
        if key is None:
            return None
        count = self._clients.get(key)
        if count is not None and now - count.last > FORGET_AFTER:
            del self._clients[key]
            return None
        return count

    def _remember(self, key: str, count: _Count, now: float) -> None:
        self._clients[key] = count
        self._clients.move_to_end(key)
        while self._clients:
            oldest = next(iter(self._clients.values()))
            if len(self._clients) <= MAX_CLIENTS and now - oldest.last <= FORGET_AFTER:
                break
            self._clients.popitem(last=False)
