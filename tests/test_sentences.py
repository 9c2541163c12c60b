"""Sentence splitting: hard cases kept whole, paragraphs never joined, offsets exact."""

from __future__ import annotations

import json
import random
import re
import signal
from collections.abc import Iterator
from itertools import islice

import pytest

from index.load import Article, load_file
from index.sentences import MAX_SPAN, paragraphs, split_sentences
from tests.shared import DEV_CORPUS, HARD_CASES, SAMPLE_ARTICLE, shared_data


def texts(text: str) -> list[str]:
    """The sentences of `text`, read back through their offsets."""
    return [text[s.start : s.end] for s in split_sentences(text)]


def assert_exact_offsets(text: str) -> None:
    """Every sentence is a stripped, non-empty, in-order span, and together they cover the text."""
    sentences = split_sentences(text)
    assert [s.n for s in sentences] == list(range(len(sentences)))
    previous_end = 0
    for s in sentences:
        piece = text[s.start : s.end]
        assert piece and piece == piece.strip(), (s, piece)
        assert s.start >= previous_end, (s, piece)
        previous_end = s.end
    # Nothing but white space is left out between and around the sentences.
    covered = "".join(text[s.start : s.end] for s in sentences)
    assert re.sub(r"\s", "", covered) == re.sub(r"\s", "", text)


@pytest.mark.parametrize(("text", "expected"), HARD_CASES, ids=[c[0][:30] for c in HARD_CASES])
def test_hard_cases_stay_inside_their_sentences(text: str, expected: list[str]) -> None:
    assert texts(text) == expected
    assert_exact_offsets(text)


def test_paragraphs_are_never_joined_even_without_final_punctuation() -> None:
    text = "Sign up for our newsletter\n\nRead more\nThe story begins here. It goes on"
    assert texts(text) == [
        "Sign up for our newsletter",
        "Read more",
        "The story begins here.",
        "It goes on",
    ]


def test_a_line_starting_in_lower_case_continues_a_hard_wrapped_sentence() -> None:
    text = "A sentence that was hard-wrapped\nby an editor ends here. Next one.\nNew paragraph."
    assert texts(text) == [
        "A sentence that was hard-wrapped\nby an editor ends here.",
        "Next one.",
        "New paragraph.",
    ]


def test_windows_line_endings_neither_split_nor_join_sentences() -> None:
    text = "First line.\r\nSecond line.\r\n\r\nThird one, hard\r\nwrapped here. End."
    assert texts(text) == [
        "First line.",
        "Second line.",
        "Third one, hard\r\nwrapped here.",
        "End.",
    ]
    assert_exact_offsets(text)


def test_paragraph_spans_skip_blank_lines_and_surrounding_space() -> None:
    text = "  One.\n\n\n  Two, then\nthree.  \n"
    assert [text[a:b] for a, b in paragraphs(text)] == ["One.", "Two, then\nthree."]


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t\n"])
def test_blank_text_has_no_sentences(text: str) -> None:
    assert split_sentences(text) == []


def test_offsets_count_characters_not_bytes() -> None:
    text = "Zelenskyy’s office said “yes”. Macron’s office — in Paris — agreed. Done 🎉."
    assert texts(text) == [
        "Zelenskyy’s office said “yes”.",
        "Macron’s office — in Paris — agreed.",
        "Done 🎉.",
    ]
    assert_exact_offsets(text)


def test_the_sample_article_splits_into_its_real_sentences() -> None:
    (article,) = load_file(SAMPLE_ARTICLE)
    assert isinstance(article, Article)
    sentences = texts(article.text)
    assert len(sentences) == 36
    assert sentences[0] == (
        "Ukrainian President Volodymyr Zelenskyy is in Paris Friday, where France and Ukraine "
        "are set to sign a bilateral security agreement."
    )
    assert (
        "Stoltenberg said he also expects the U.S. Congress to agree on a new support package "
        "for Ukraine after funding ran out in December."
    ) in sentences
    # Two sentences on one line (one paragraph) are split ...
    assert "A following attack killed four more people." in sentences
    # ... while a quotation with ellipses inside stays one sentence.
    quote = next(s for s in sentences if s.startswith("“The situation in the city"))
    assert quote.endswith("have approximately seven brigades,” the message said.")
    assert sentences[-1].startswith("Some information for this report came from")
    assert_exact_offsets(article.text)


def test_no_sentence_crosses_a_line_of_the_sample_article() -> None:
    (article,) = load_file(SAMPLE_ARTICLE)
    assert isinstance(article, Article)
    assert all("\n" not in s for s in texts(article.text))


def test_real_articles_of_the_dev_corpus_split_with_exact_offsets() -> None:
    with shared_data(DEV_CORPUS).open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in islice(lines, 40)]
    assert len(records) == 40
    total = 0
    for record in records:
        text = record["text"]
        assert_exact_offsets(text)
        sentences = texts(text)
        total += len(sentences)
        # The corpus separates paragraphs with blank lines: no sentence may span one.
        assert not [s for s in sentences if "\n\n" in s], record["id"]
    assert total > 40 * 10  # real articles, not one "sentence" each


# --- long paragraphs: pysbd reads at most MAX_SPAN characters at once --------------------------
@pytest.fixture
def hang_guard() -> Iterator[None]:
    """Fail a test that hangs (pysbd alone took minutes here), instead of waiting for ever."""

    def hung(signum: int, frame: object) -> None:
        raise TimeoutError("sentence splitting did not finish in 10 minutes")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(600)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_long_paragraph_of_sentences_splits_into_the_same_sentences() -> None:
    sentences = [f"Sentence number {i} of the long paragraph ends here." for i in range(300)]
    text = " ".join(sentences)
    assert len(text) > 5 * MAX_SPAN
    assert texts(text) == sentences
    assert_exact_offsets(text)


def test_a_long_run_without_white_space_is_cut_into_pieces() -> None:
    text = "Before it. " + "x" * (2 * MAX_SPAN + 500) + " After it."
    pieces = texts(text)
    assert pieces[0] == "Before it."
    assert pieces[-1].endswith("After it.")
    assert all(len(p) <= MAX_SPAN for p in pieces)
    assert_exact_offsets(text)


@pytest.mark.slow
def test_a_megabyte_paragraph_without_punctuation_is_split(hang_guard: None) -> None:
    # pysbd's work grows with the square of a paragraph: 247 KB like this took 99 s and 4.65 MB
    # never finished. Read a window at a time, every sentence is at most MAX_SPAN long.
    words = ["the", "council", "voted", "on", "a", "plan", "to", "rebuild", "no", "bridge"]
    rng = random.Random(7)
    text = " ".join(rng.choice(words) for _ in range(210_000))
    assert len(text) > 1_000_000
    sentences = split_sentences(text)
    assert all(s.end - s.start <= MAX_SPAN for s in sentences)
    assert len(sentences) >= len(text) // MAX_SPAN
    assert_exact_offsets(text)
