"""Chunks: overlapping runs of whole sentences that know their sentences; title, date embedded."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.chunk import ChunkSettings, chunk_article, embedding_text
from index.load import Article, load_file
from index.sentences import split_sentences
from index.store import open_index
from tests.shared import SAMPLE_ARTICLE


def sample() -> Article:
    (article,) = load_file(SAMPLE_ARTICLE)
    assert isinstance(article, Article)
    return article


def numbered(count: int, words: int = 8) -> Article:
    """An article of `count` sentences, each about `words` words long."""
    body = " ".join(f"Sentence {i} " + "word " * (words - 3) + "ends." for i in range(count))
    return Article(id="num", title="Numbered", text=body, published="2024-05-01")


def test_chunks_are_runs_of_whole_sentences_with_one_sentence_of_overlap() -> None:
    article = sample()
    sentences = split_sentences(article.text)
    chunks = chunk_article(article, sentences)
    assert len(chunks) > 3
    for chunk in chunks:
        run = chunk.sentences
        assert [s.n for s in run] == list(range(run[0].n, run[-1].n + 1))  # no gaps
        assert chunk.text == article.text[run[0].start : run[-1].end]
        assert len(chunk.text) <= 700 or len(run) == 1
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after.sentences[0] == before.sentences[-1]  # exactly one sentence shared
    # Every sentence is in some chunk, from the first to the last.
    held = {s.n for c in chunks for s in c.sentences}
    assert held == {s.n for s in sentences}


def test_chunk_ids_are_deterministic_article_colon_number() -> None:
    article = sample()
    first = chunk_article(article, split_sentences(article.text))
    second = chunk_article(article, split_sentences(article.text))
    assert [c.id for c in first] == [f"{article.id}:{n}" for n in range(len(first))]
    assert first == second


def test_each_chunk_knows_the_offsets_of_its_sentences() -> None:
    article = sample()
    chunks = chunk_article(article, split_sentences(article.text))
    sentence = next(
        s for c in chunks for s in c.sentences if "U.S. Congress" in article.text[s.start : s.end]
    )
    assert article.text[sentence.start : sentence.end] == (
        "Stoltenberg said he also expects the U.S. Congress to agree on a new support package "
        "for Ukraine after funding ran out in December."
    )


def test_max_chars_bounds_the_chunk_and_overlap_zero_shares_nothing() -> None:
    article = numbered(30)
    sentences = split_sentences(article.text)
    assert len(sentences) == 30
    chunks = chunk_article(article, sentences, ChunkSettings(max_chars=200, overlap=0))
    assert all(len(c.text) <= 200 for c in chunks)
    assert [s.n for c in chunks for s in c.sentences] == list(range(30))  # each exactly once


@pytest.mark.parametrize("overlap", [2, 5, 50])
def test_large_overlap_still_moves_forward(overlap: int) -> None:
    article = numbered(12)
    chunks = chunk_article(article, split_sentences(article.text), ChunkSettings(200, overlap))
    firsts = [c.sentences[0].n for c in chunks]
    assert firsts == sorted(set(firsts))  # strictly increasing: no chunk repeats, no endless loop
    assert chunks[-1].sentences[-1].n == 11


def test_a_sentence_longer_than_max_chars_is_a_chunk_of_its_own() -> None:
    long_sentence = "This one goes on " + "and on " * 60 + "until it stops."
    article = Article(id="long", title="Long", text=f"Short start. {long_sentence} Short end.")
    chunks = chunk_article(article, split_sentences(article.text), ChunkSettings(100, 1))
    assert [c.text for c in chunks] == ["Short start.", long_sentence, "Short end."]


def test_no_sentences_no_chunks() -> None:
    assert chunk_article(Article(id="e", title="Empty", text=" "), []) == []


def test_title_and_date_go_into_what_is_embedded() -> None:
    article = sample()
    chunk = chunk_article(article, split_sentences(article.text))[0]
    embedded = embedding_text(article, chunk)
    assert embedded.splitlines()[0] == f"{article.title} (2024-02-16)"
    assert embedded.endswith(chunk.text)
    undated = Article(id="u", title="No date here", text="Just text. More.")
    undated_chunk = chunk_article(undated, split_sentences(undated.text))[0]
    assert embedding_text(undated, undated_chunk) == "No date here\nJust text. More."


def test_stored_chunks_carry_their_sentence_ids_and_offsets(sample_index: Path) -> None:
    index = open_index(sample_index)
    try:
        (segment,) = index.segments
        got = segment.chunks.get(include=["documents", "metadatas"])
        assert len(got["ids"]) == index.manifest.chunks > 1
        for chunk_id, document, meta in zip(
            got["ids"], got["documents"], got["metadatas"], strict=True
        ):
            article_id = meta["article_id"]
            assert chunk_id == f"{article_id}:{meta['chunk']}"
            article, stored = index.article(article_id)  # type: ignore[misc]
            text = article.text
            for n, start, end in zip(
                meta["sentence_ids"], meta["starts"], meta["ends"], strict=True
            ):
                assert (stored[n].start, stored[n].end) == (start, end)
            assert document == text[meta["starts"][0] : meta["ends"][-1]]
            assert meta["published"] == "2024-02-16" and meta["published_ts"] == 20240216
    finally:
        index.close()
