"""The static model distilled from MiniLM for the chunk vectors (index/static.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.api import answer
from assistant.chain import Assistant
from assistant.cli import main
from assistant.question import Question
from index import static
from index.build import rebuild
from index.embed import model_key
from index.errors import IndexMismatch
from index.static import StaticEmbedder, static_embedder
from index.store import open_index
from tests.conftest import CACHE
from tests.shared import SAMPLE

AVDIIVKA = "What happened in Avdiivka?"
KEY_FACTS = ("3rd Assault Brigade", "extremely critical", "withdraw our units")


@pytest.fixture(scope="module")
def model() -> StaticEmbedder:
    """The static model in the tests' cache folder (distilled there once per machine)."""
    return static_embedder(cache_dir=CACHE)


@pytest.fixture(scope="module")
def static_index(tmp_path_factory: pytest.TempPathFactory, model: StaticEmbedder) -> Path:
    """An index of the sample article whose chunk vectors come from the static model."""
    index_dir = tmp_path_factory.mktemp("static") / "index"
    rebuild([SAMPLE], index_dir, embedder=model, progress=False)
    return index_dir


@pytest.mark.slow
def test_distilled_offline_from_the_bundled_model_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: StaticEmbedder
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "onnx").symlink_to(CACHE / "onnx")  # the ONNX export is not what is tested here
    first = StaticEmbedder(cache_dir=cache)  # the network is blocked for every test
    assert first.vectors_path.parent == cache / "static" / model_key(first.path)
    assert [p.name for p in first.vectors_path.parent.iterdir()] == [first.vectors_path.name]

    def refuse(*args: Any) -> None:
        raise AssertionError("distilled again")

    monkeypatch.setattr(static, "distil", refuse)
    again = StaticEmbedder(cache_dir=cache)
    text = "Russian forces took the town after months of fighting."
    assert again.embed_query(text) == first.embed_query(text)
    assert np.allclose(first.embed_query(text), model.embed_query(text), atol=1e-5)


def test_vectors_are_unit_length_and_rank_the_related_sentence_first(
    model: StaticEmbedder,
) -> None:
    query, related, unrelated = model.embed_documents(
        [
            "Why did Ukraine withdraw from Avdiivka?",
            "Ukrainian troops pulled out of the town of Avdiivka after months of Russian attacks.",
            "The central bank left its interest rate unchanged on Thursday.",
        ]
    )
    for vector in (query, related, unrelated):
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
    assert np.dot(query, related) > np.dot(query, unrelated) + 0.2
    assert model.embed_documents([]) == []
    assert not np.any(model.embed_query(""))  # no token, no direction: a zero vector


def test_an_index_of_static_vectors_answers_with_the_key_sentences(
    static_index: Path, model: StaticEmbedder, embedder: Any
) -> None:
    store = open_index(static_index)
    try:
        assert store.manifest.embedding_model == "all-MiniLM-L6-v2:static"
    finally:
        store.close()
    assistant = Assistant(static_index, model, sentence_embedder=embedder)
    result = assistant.chain.invoke(Question.ask(AVDIIVKA, as_of="2024-02-17"))
    cited = " ".join(c.text for c in result.citations)
    assert result.covered
    for fact in KEY_FACTS:
        assert fact in cited, (fact, result.text)


def test_an_index_is_never_queried_with_the_other_models_vectors(
    static_index: Path, sample_index: Path, model: StaticEmbedder, embedder: Any
) -> None:
    question = Question.ask(AVDIIVKA)
    with pytest.raises(IndexMismatch, match="'all-MiniLM-L6-v2:static', not 'all-MiniLM-L6-v2'"):
        Assistant(static_index, embedder).chain.invoke(question)
    with pytest.raises(IndexMismatch, match="'all-MiniLM-L6-v2', not 'all-MiniLM-L6-v2:static'"):
        Assistant(sample_index, model).chain.invoke(question)
    with pytest.raises(IndexMismatch, match="--full"):  # nor updated with them
        rebuild([SAMPLE], static_index, embedder=embedder, progress=False)


def test_the_setting_chooses_the_chunk_vectors_for_index_and_answer(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    index_dir = tmp_path / "index"
    monkeypatch.setenv("ASSISTANT_CHUNK_VECTORS", "static")
    assert main(["index", str(SAMPLE), "--index-dir", str(index_dir), "--quiet"]) == 0
    assert main(["status", "--index-dir", str(index_dir)]) == 0
    assert "with all-MiniLM-L6-v2:static" in capsys.readouterr().out
    result = answer(AVDIIVKA, index_dir=index_dir, as_of="2024-02-17")
    assert all(fact in " ".join(c.text for c in result.citations) for fact in KEY_FACTS)

    monkeypatch.setenv("ASSISTANT_CHUNK_VECTORS", "minilm")
    assert main(["ask", AVDIIVKA, "--index-dir", str(index_dir)]) == 2
    assert "built with the embedding model 'all-MiniLM-L6-v2:static'" in capsys.readouterr().err

    monkeypatch.setenv("ASSISTANT_CHUNK_VECTORS", "fast")
    assert main(["ask", AVDIIVKA, "--index-dir", str(index_dir)]) == 2
    assert "ASSISTANT_CHUNK_VECTORS must be one of minilm, static, not 'fast'" in (
        capsys.readouterr().err
    )


def test_unset_a_new_index_gets_static_vectors_and_an_index_keeps_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], embedder: object
) -> None:
    new, old = tmp_path / "new", tmp_path / "old"
    assert "ASSISTANT_CHUNK_VECTORS" not in os.environ
    assert main(["index", str(SAMPLE), "--index-dir", str(new), "--quiet"]) == 0
    rebuild([SAMPLE], old, embedder=embedder, progress=False)  # an index made with MiniLM
    (more := tmp_path / "articles").mkdir()
    (more / "harbour.txt").write_text("Portside harbour will close pier 7 on Monday.")
    for folder, model in ((new, "all-MiniLM-L6-v2:static"), (old, "all-MiniLM-L6-v2")):
        assert main(["index", str(more), "--index-dir", str(folder), "--quiet"]) == 0
        assert main(["status", "--index-dir", str(folder)]) == 0
        assert capsys.readouterr().out.rstrip().endswith(f"with {model} (2 segments)")
        result = answer("Which pier will Portside harbour close?", index_dir=folder)
        assert "pier 7" in " ".join(c.text for c in result.citations)


def test_an_upload_into_a_static_index_is_embedded_with_its_model(
    tmp_path: Path, model: StaticEmbedder, embedder: object
) -> None:
    from assistant.config import Settings
    from assistant.ui.handlers import ChatApp
    from assistant.ui.worker import InThread

    index_dir = tmp_path / "index"
    rebuild([SAMPLE], index_dir, embedder=model, progress=False)
    settings = Settings(index_dir=index_dir, chunk_vectors="static", cache_dir=CACHE)
    assistant = Assistant(index_dir, model, sentence_embedder=embedder)  # type: ignore[arg-type]
    app = ChatApp(settings, assistant, InThread())
    article = tmp_path / "harbour.txt"
    article.write_text("Portside harbour will close pier 7 for repairs on Monday, officials said.")
    message, *_ = app.add_articles([str(article)], progress=lambda *a, **k: None)
    assert "1 added" in message
    found = assistant.chain.invoke(Question.ask("Which pier will Portside harbour close?"))
    assert "pier 7" in " ".join(c.text for c in found.citations)
