"""The network guard of conftest.py: on for tests and for session-scoped fixtures alike."""

from __future__ import annotations

import socket

import pytest


def _reach_out() -> str:
    try:
        socket.create_connection(("192.0.2.1", 80), timeout=1).close()  # TEST-NET-1
    except RuntimeError as error:
        return str(error)
    return "connected"


@pytest.fixture(scope="session")
def from_a_session_fixture() -> str:
    return _reach_out()


def test_a_session_fixture_cannot_reach_the_network(from_a_session_fixture: str) -> None:
    assert "tried to reach the network" in from_a_session_fixture


def test_a_test_cannot_reach_the_network() -> None:
    assert "tried to reach the network" in _reach_out()


def test_loopback_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        socket.create_connection(server.getsockname(), timeout=1).close()
