"""The chat's login: ASSISTANT_AUTH's user and password, with failed attempts slowed down.

Gradio hands the login callable only the name and password typed, not who typed them, so
failures are counted per name tried and over all names. After FREE_FAILURES failures in a row,
each further attempt on that count waits until the last failure's delay has passed, the delay
doubling up to MAX_DELAY; attempts queue one behind another, so parallel connections gain
nothing. The right password clears its name's count.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass

from index.errors import SettingsError

FREE_FAILURES = 3  # typing mistakes cost nothing
FIRST_DELAY = 0.5  # seconds before the attempt after the first failure past the free ones
MAX_DELAY = 30.0
ANY_NAME_FREE = 20  # failures over all names before every attempt is slowed too
FORGET_AFTER = 15 * 60.0  # seconds without a failure after which a count starts again


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """ASSISTANT_AUTH's 'user:password' as Gradio wants it (None when unset)."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise SettingsError("ASSISTANT_AUTH must look like user:password")
    return user, password


@dataclass
class _Count:
    free: int
    failures: int = 0
    open_at: float = 0.0  # no attempt is checked before this time (monotonic seconds)
    last: float = 0.0
    lock: asyncio.Lock | None = None

    def delay(self) -> float:
        """How long the next attempt waits: FIRST_DELAY after the last free failure, doubling."""
        over = self.failures - self.free
        return 0.0 if over < 0 else min(FIRST_DELAY * 2**over, MAX_DELAY)


class Login:
    """The one user and password; `attempt` is what Gradio's `auth` takes.

    Gradio awaits `auth` only when it is a coroutine function, so pass the bound method
    `attempt`, never the object itself (a coroutine object would count as a yes).
    """

    def __init__(self, user: str, password: str, clock: Callable[[], float] = time.monotonic):
        self._user = user.encode()
        self._password = password.encode()
        self._clock = clock
        self._counts: dict[str, _Count] = {}

    async def attempt(self, user: str, password: str) -> bool:
        """Whether the user and password are right; waits first when failures came before."""
        counts = [self._count(f"name:{user}", FREE_FAILURES), self._count("*", ANY_NAME_FREE)]
        async with counts[0].lock, counts[1].lock:  # type: ignore[union-attr]
            for count in counts:
                wait = count.open_at - self._clock()
                if wait > 0:
                    await asyncio.sleep(wait)
            ok = self.check(user, password)
            now = self._clock()
            for count in counts if not ok else counts[:1]:
                count.failures = 0 if ok else count.failures + 1
                count.last = now
                count.open_at = now + count.delay()
            return ok

    def check(self, user: str, password: str) -> bool:
        """Both compared in constant time, whatever their lengths."""
        same_user = hmac.compare_digest(user.encode(), self._user)
        same_password = hmac.compare_digest(password.encode(), self._password)
        return same_user and same_password

    def _count(self, key: str, free: int) -> _Count:
        count = self._counts.get(key)
        if count is None or self._clock() - count.last > FORGET_AFTER:
            count = self._counts[key] = _Count(free, last=self._clock(), lock=asyncio.Lock())
        return count
