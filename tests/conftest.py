"""Shared fixtures: no network beyond loopback, every path in tmp, one real embedder per session."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from tests.shared import REPO, SAMPLE

# The exported ONNX model is cached inside the venv.
CACHE = REPO / ".venv" / "cache"
LOOPBACK = {"127.0.0.1", "::1", "localhost", "0.0.0.0"}


def _host(address: object) -> str:
    if isinstance(address, tuple) and address:
        return str(address[0])
    return str(address)


@pytest.fixture(scope="session", autouse=True)
def block_network() -> Iterator[None]:
    """A test or fixture (session-scoped ones too) that tries to leave this machine fails."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = _host(address)
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in LOOPBACK:
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", guarded)
        yield


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every path and setting a test could touch points into its own tmp folder."""
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(CACHE))
    monkeypatch.delenv("ASSISTANT_LLM", raising=False)
    monkeypatch.delenv("ASSISTANT_CHROMA_URL", raising=False)
    monkeypatch.delenv("ASSISTANT_EMBED_MODEL", raising=False)


@pytest.fixture(scope="session")
def embedder() -> Iterator[object]:
    """The real bundled all-MiniLM-L6-v2, loaded once for the whole session."""
    from index.embed import default_embedder

    yield default_embedder(cache_dir=CACHE)


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory, embedder: object) -> Path:
    """An index of the bundled sample article, built once."""
    from index.build import rebuild

    index_dir = tmp_path_factory.mktemp("sample") / "index"
    report = rebuild([SAMPLE], index_dir, embedder=embedder, progress=False)  # type: ignore[arg-type]
    assert report.added == 1, report.summary()
    return index_dir
