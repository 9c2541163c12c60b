"""The login: others' failures never hold up the right password, guesses stay slow, memory bounded.

Time is a fake clock here and the holds a fake sleep (`FakeTime`), so the tests wait for nothing;
one test posts to the real /login route of a served page.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import gradio as gr
import httpx
import pytest

from assistant.ui import launch, parse_auth
from assistant.ui import login as login_module
from tests.shared import free_port

ATTACKER = "203.0.113.7"
USER = "192.0.2.10"


class FakeTime:
    """A clock and the sleep holding wrong attempts: a hold moves the clock on at once,
    or, after `hold_open()`, stays in flight until `let_go()`."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.holds: list[float] = []
        self._open: asyncio.Event | None = None

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.holds.append(seconds)
        if self._open is None:
            self.now += seconds
        else:
            await self._open.wait()

    def hold_open(self) -> None:
        self._open = asyncio.Event()

    def let_go(self) -> None:
        assert self._open is not None
        self._open.set()
        self._open = None


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def new_login(fake: FakeTime) -> login_module.Login:
    return login_module.Login("reporter", "s3cret", clock=fake.clock, sleep=fake.sleep)


@pytest.fixture
def login(fake: FakeTime) -> login_module.Login:
    return new_login(fake)


async def started(coroutines: list) -> list[asyncio.Task]:
    """Tasks for the coroutines, each run up to its first real wait (its hold, say)."""
    tasks = [asyncio.create_task(c) for c in coroutines]
    for _ in range(3):
        await asyncio.sleep(0)
    return tasks


def test_auth_setting() -> None:
    assert parse_auth(None) is None and parse_auth("") is None
    assert parse_auth("reporter:a:b") == ("reporter", "a:b")
    for bad in ("reporter", ":secret", "reporter:"):
        with pytest.raises(ValueError, match="user:password"):
            parse_auth(bad)


def test_right_password_does_not_wait_behind_eight_failures_and_six_parallel_ones(
    fake: FakeTime, login: login_module.Login
) -> None:
    async def scenario() -> tuple[list[bool], int, list[bool]]:
        for i in range(8):
            assert not await login.attempt_from(ATTACKER, "reporter", f"guess{i}")
        fake.hold_open()  # from now on wrong attempts stay in flight until let go
        wrong = await started(
            [login.attempt_from(ATTACKER, "reporter", f"again{i}") for i in range(6)]
        )
        right = [  # a guard, never reached: waiting behind the held ones would never end
            await asyncio.wait_for(login.attempt_from(client, "reporter", "s3cret"), 10)
            for client in (USER, None, "2001:db8::1")
        ]
        in_flight = sum(not task.done() for task in wrong)
        fake.let_go()
        return right, in_flight, list(await asyncio.gather(*wrong))

    right, in_flight, wrong = asyncio.run(scenario())
    assert right == [True, True, True]  # other clients, an unknown one: in at once
    assert in_flight >= 1  # while the attacker's guess was still held
    assert wrong == [False] * 6


def test_sixty_names_failing_at_once_do_not_stop_the_right_password(
    fake: FakeTime, login: login_module.Login
) -> None:
    async def scenario() -> tuple[list[bool], int, list[bool]]:
        fake.hold_open()
        wrong = await started(
            [login.attempt_from(f"198.51.100.{i}", f"name{i}", "guess") for i in range(60)]
            + [login.attempt_from(None, f"other{i}", "guess") for i in range(60)]
            + [login.attempt_from(ATTACKER, f"more{i}", "guess") for i in range(60)]
        )
        right = [
            await asyncio.wait_for(login.attempt_from(client, "reporter", "s3cret"), 10)
            for client in (USER, None)
        ]
        in_flight = sum(not task.done() for task in wrong)
        fake.let_go()
        return right, in_flight, list(await asyncio.gather(*wrong))

    right, in_flight, wrong = asyncio.run(scenario())
    assert right == [True, True]
    assert in_flight >= 60  # the held wrong ones were all still waiting
    assert not any(wrong)


def test_wrong_guesses_are_held_doubling_up_to_the_cap(
    fake: FakeTime, login: login_module.Login
) -> None:
    async def one_client() -> tuple[list[bool], bool, bool]:
        for i in range(12):
            assert not await login.attempt_from(ATTACKER, "reporter", f"guess{i}")
        fake.hold_open()
        held = await started([login.attempt_from(ATTACKER, "reporter", "guess12")])
        # while that guess is held, the client's others are refused unchecked, even the right one
        parallel = [await login.attempt_from(ATTACKER, "reporter", p) for p in ("x", "s3cret")]
        fake.let_go()
        assert not await held[0]
        fake.now += login_module.MAX_DELAY
        after = await login.attempt_from(ATTACKER, "reporter", "s3cret")  # its hold is over
        free_again = len(fake.holds)
        await login.attempt_from(ATTACKER, "reporter", "typo")  # the count started again
        return parallel, after, len(fake.holds) == free_again

    parallel, after, count_cleared = asyncio.run(one_client())
    first, cap = login_module.FIRST_DELAY, login_module.MAX_DELAY
    doubling = [min(first * 2**i, cap) for i in range(7)]
    assert doubling[-1] == cap  # the cap is reached, then kept
    assert fake.holds == doubling + [cap] * 3  # three free, then doubling to the cap
    assert parallel == [False, False]
    assert after and count_cleared


def test_many_addresses_gain_little(fake: FakeTime, login: login_module.Login) -> None:
    async def spread() -> None:
        for i in range(login_module.ALL_FREE + 6):  # one guess from each address
            assert not await login.attempt_from(f"198.51.100.{i}", "reporter", "guess")

    asyncio.run(spread())
    # past ALL_FREE failures over all clients, every wrong guess is held, doubling
    assert fake.holds == [login_module.FIRST_DELAY * 2**i for i in range(6)]


def test_an_ipv6_client_counts_as_its_slash_64(fake: FakeTime, login: login_module.Login) -> None:
    async def guesses() -> None:
        for i in range(login_module.FREE_FAILURES + 1):
            assert not await login.attempt_from(f"2001:db8:0:1::{i + 1}", "reporter", "guess")
        assert not await login.attempt_from("2001:db8:0:2::1", "reporter", "guess")

    asyncio.run(guesses())
    assert fake.holds == [login_module.FIRST_DELAY]  # the other /64's first guess is free
    assert login.tracked() == 2


def test_memory_stays_bounded_whatever_is_tried(fake: FakeTime) -> None:
    async def nothing(seconds: float) -> None:  # time stands still: every count stays live
        pass

    login = login_module.Login("reporter", "s3cret", clock=fake.clock, sleep=nothing)

    async def flood() -> bool:
        for i in range(60_000):
            client = f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}"
            await login.attempt_from(client, f"name{i}", "guess")
            await login.attempt_from(ATTACKER, f"name{i}", "guess")
            await login.attempt_from(None, f"name{i}", "guess")
        return await login.attempt_from(USER, "reporter", "s3cret")

    assert asyncio.run(flood())
    assert login.tracked() == login_module.MAX_CLIENTS  # 60,001 clients, 180,000 names tried
    fake.now += login_module.FORGET_AFTER + 1
    assert not asyncio.run(login.attempt_from(USER, "reporter", "typo"))
    assert login.tracked() == 1  # the quiet ones are forgotten


def test_the_middleware_tells_the_login_its_client(
    fake: FakeTime, login: login_module.Login
) -> None:
    results: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        results.append(await login.attempt("reporter", "guess"))

    async def request(host: str) -> None:
        scope = {"type": "http", "client": (host, 5000)}
        await login_module.RememberClient(app)(scope, None, None)  # type: ignore[arg-type]

    async def requests() -> None:
        for _ in range(login_module.FREE_FAILURES + 1):
            await request(ATTACKER)
        await request(USER)  # another client: its first failure is free
        assert await login.attempt_from(None, "reporter", "s3cret")

    asyncio.run(requests())
    assert results == [False] * (login_module.FREE_FAILURES + 2)
    assert fake.holds == [login_module.FIRST_DELAY]  # the attacker's fourth guess only
    assert login.tracked() == 2


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A page behind the login, its holds shortened: FIRST_DELAY 0.05 s, at most 1 s."""
    monkeypatch.setattr(login_module, "FIRST_DELAY", 0.05)
    monkeypatch.setattr(login_module, "MAX_DELAY", 1.0)
    with gr.Blocks() as demo:
        gr.Markdown("behind the login")
    url = launch(demo, port=free_port(), auth=("reporter", "s3cret"), block=False)
    try:
        yield url
    finally:
        demo.close()


@pytest.mark.slow
def test_login_route_answers_the_right_password_while_many_wrong_ones_are_in_flight(
    served: str,
) -> None:
    """Clients named by X-Forwarded-For, which uvicorn trusts from loopback as from a proxy."""

    async def post(client: httpx.AsyncClient, address: str, user: str, password: str) -> float:
        form = {"username": user, "password": password}
        response = await client.post(
            f"{served}login", data=form, headers={"X-Forwarded-For": address}
        )
        assert response.status_code == (200 if password == "s3cret" else 400), address
        return time.perf_counter()

    async def scenario() -> tuple[float, list[float]]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(timeout=120, limits=limits) as client:
            for i in range(8):
                await post(client, ATTACKER, "reporter", f"guess{i}")
            wrong = [
                asyncio.create_task(post(client, ATTACKER, "reporter", f"again{i}"))
                for i in range(6)
            ] + [
                asyncio.create_task(post(client, f"198.51.100.{i}", f"name{i}", "guess"))
                for i in range(60)
            ]
            await asyncio.sleep(0.3)  # let them reach the server first
            right = await post(client, USER, "reporter", "s3cret")
            return right, list(await asyncio.gather(*wrong))

    right, wrong = asyncio.run(scenario())
    assert right < max(wrong)  # answered while wrong ones were still held
    assert sum(done > right for done in wrong) >= 10
