"""The ONNX embedding backend against sentence-transformers on PyTorch, and its export cache."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from index import embed
from index.embed import SentenceEmbedder

NEWS = [
    "The central bank raised its benchmark interest rate by half a percentage point on Thursday.",
    "Flooding in the northern provinces has displaced more than 40,000 people, officials said.",
    "Shares of the chipmaker fell 7% after it cut its revenue forecast for the third quarter.",
    "The prime minister told parliament the budget would be balanced by 2027.",
    "Rescue teams worked through the night to reach miners trapped after the collapse.",
    "Brief.",
]
# ~1,500 characters: longer than the model's 256-token window, so truncation is exercised too.
LONG = (
    "Negotiators from both sides returned to the table on Monday after a week-long pause in "
    "talks that had threatened to derail the agreement, according to three people familiar "
    "with the discussions who asked not to be named because they were not authorised to speak "
    "publicly. The sticking points remain the timetable for lifting tariffs on steel and "
    "aluminium, the treatment of agricultural subsidies, and a mechanism to settle disputes "
    "without recourse to national courts. Officials in the capital said on Sunday evening that "
    "a compromise on the dispute mechanism was within reach, but cautioned that the tariff "
    "schedule could still take weeks to resolve. Business groups, which have lobbied hard for a "
    "deal, warned that further delay would push investment decisions into next year and cost "
    "thousands of jobs in manufacturing regions that have already been hit by rising energy "
    "prices. Opposition lawmakers, meanwhile, demanded that the full text be published before "
    "any vote, arguing that earlier drafts had been negotiated behind closed doors. The trade "
    "minister rejected that criticism in an interview on Monday morning, saying parliament "
    "would have at least a month to scrutinise the final agreement and that summaries of each "
    "chapter had been shared with committee chairs. Analysts said markets had largely priced in "
    "a deal, and that the main risk now was a collapse of talks rather than a delay, which "
    "would weigh on the currency and on the shares of exporters."
)


class TorchReference:
    """The model as sentence-transformers runs it on PyTorch: what the ONNX export must match."""

    def __init__(self, path: Path):
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(path), device="cpu")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.model.encode(texts, normalize_embeddings=True).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


@dataclass
class Models:
    onnx: SentenceEmbedder
    torch: TorchReference
    cache: Path


def _cos(a: list[float], b: list[float]) -> float:
    x, y = np.asarray(a), np.asarray(b)
    return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Models]:
    """Both backends loaded once; the ONNX export goes to a fresh cache folder."""
    real_connect = socket.socket.connect

    # The conftest network guard is per test; module fixtures load before it, so guard here too.
    def local_only(self: socket.socket, address: object) -> object:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise RuntimeError(f"model loading tried to reach the network: {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", local_only)
        onnx = SentenceEmbedder(cache_dir=cache)
        torch = TorchReference(onnx.path)
    yield Models(onnx, torch, cache)


@pytest.mark.parametrize("text", [*NEWS, LONG], ids=lambda t: t[:20])
def test_onnx_matches_torch(models: Models, text: str) -> None:
    assert len(LONG) > 1400
    assert _cos(models.onnx.embed_query(text), models.torch.embed_query(text)) > 0.9999


def test_batch_matches_torch_batch(models: Models) -> None:
    texts = [*NEWS, LONG]
    ours, theirs = models.onnx.embed_documents(texts), models.torch.embed_documents(texts)
    assert len(ours) == len(texts)
    for a, b in zip(ours, theirs, strict=True):
        assert _cos(a, b) > 0.9999


def test_vectors_are_normalised(models: Models) -> None:
    vectors = np.asarray(models.onnx.embed_documents([*NEWS, LONG, ""]))
    assert vectors.shape == (len(NEWS) + 2, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_order_preserved_for_mixed_lengths(models: Models, monkeypatch: pytest.MonkeyPatch) -> None:
    # Lengths deliberately out of order and a tiny batch size, so sorting spans several batches.
    texts = [LONG, NEWS[5], NEWS[0], LONG[:400], NEWS[3], LONG[:900], NEWS[1]]
    monkeypatch.setattr(models.onnx, "batch_size", 2)
    batched = models.onnx.embed_documents(texts)
    for text, vector in zip(texts, batched, strict=True):
        assert _cos(vector, models.onnx.embed_query(text)) > 0.9999
    reversed_ = models.onnx.embed_documents(texts[::-1])
    np.testing.assert_allclose(reversed_, batched[::-1], atol=1e-5)


def test_empty_input(models: Models) -> None:
    assert models.onnx.embed_documents([]) == []


def test_invalid_model_path_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a sentence-transformers folder"):
        SentenceEmbedder(tmp_path / "no-such-model", cache_dir=tmp_path)
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="no model.safetensors"):
        SentenceEmbedder(tmp_path / "bare", cache_dir=tmp_path)


def test_export_cache_is_reused(models: Models, monkeypatch: pytest.MonkeyPatch) -> None:
    path = models.onnx.onnx_path
    assert path == models.cache / "onnx" / embed.model_key(models.onnx.path) / "model.onnx"
    before = path.stat().st_mtime_ns

    def no_export(*args: object) -> None:
        raise AssertionError("the cached ONNX file should have been reused")

    monkeypatch.setattr(embed, "export_onnx", no_export)
    again = SentenceEmbedder(cache_dir=models.cache)
    assert again.onnx_path == path
    assert path.stat().st_mtime_ns == before
    assert not [p for p in path.parent.iterdir() if p.suffix == ".tmp"]  # no temp files left
    assert again.embed_query(NEWS[0]) == pytest.approx(models.onnx.embed_query(NEWS[0]))


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "model.onnx"

    def killed(tmp: Path) -> None:
        tmp.write_bytes(b"half an export")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        embed.write_atomically(target, killed)
    assert not target.exists()
    assert os.listdir(target.parent) == []


@pytest.mark.parametrize(
    "bert_config, expected",
    [({"max_seq_length": 64}, 64), ({"max_seq_length": 4096}, 512), (None, 512)],
)
def test_max_seq_length_from_sentence_bert_config_within_the_model_positions(
    tmp_path: Path, bert_config: dict[str, int] | None, expected: int
) -> None:
    (tmp_path / "config.json").write_text('{"max_position_embeddings": 512}')
    if bert_config is not None:
        (tmp_path / "sentence_bert_config.json").write_text(json.dumps(bert_config))
    assert embed.max_seq_length(tmp_path) == expected


@pytest.mark.slow
def test_int8_close_to_fp32(models: Models) -> None:
    int8 = SentenceEmbedder(quantize=True, cache_dir=models.cache)
    assert int8.onnx_path.name == "model.int8.onnx"
    for text in [*NEWS, LONG]:
        assert _cos(int8.embed_query(text), models.onnx.embed_query(text)) > 0.97


def test_export_is_fused(models: Models) -> None:
    import onnx

    graph = onnx.load(str(models.onnx.onnx_path), load_external_data=False).graph
    ops = {node.op_type for node in graph.node}
    assert {"Attention", "SkipLayerNormalization"} <= ops  # else the fusion pass silently missed
