"""The Assistant over a changing index: a rebuild never closes a searcher under a running query."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from assistant import chain
from assistant.chain import Assistant
from assistant.question import Filters, Question
from assistant.search import Searcher
from index.build import rebuild
from index.errors import IndexMismatch
from index.manifest import Manifest
from index.places import Folder
from tests.shared import SAMPLE, Renamed

AVDIIVKA = "What happened in Avdiivka?"


def add_article(folder: Path, i: int) -> None:
    (folder / f"extra-{i}.md").write_text(
        f"---\ntitle: Harbour notice {i}\npublished: 2024-02-1{i}\n---\n"
        f"The harbour of Portside will close pier {i} for repairs on Monday.\n",
        encoding="utf-8",
    )


@pytest.fixture()
def articles(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    shutil.copytree(SAMPLE, folder)
    return folder


def build(articles: Path, index_dir: Path, embedder: object, full: bool = False) -> None:
    rebuild([articles], index_dir, embedder=embedder, progress=False, full=full)  # type: ignore[arg-type]


def manifest_of(assistant: Assistant) -> Manifest:
    manifest = Folder(index_dir(assistant)).manifest()
    assert manifest is not None
    return manifest


def index_dir(assistant: Assistant) -> Path:
    assert isinstance(assistant.place, Folder)
    return assistant.place.path


@pytest.fixture()
def assistant(articles: Path, tmp_path: Path, embedder: object) -> Assistant:
    """An Assistant over an index of the sample articles."""
    build(articles, tmp_path / "index", embedder)
    return Assistant(tmp_path / "index", embedder)  # type: ignore[arg-type]


def test_a_held_searcher_keeps_working_after_a_rebuild(
    assistant: Assistant, articles: Path, embedder: object
) -> None:
    with assistant.searcher() as held:
        add_article(articles, 1)
        build(articles, index_dir(assistant), embedder)
        assistant.refresh()  # the new build opened (a question would not wait for it)
        with assistant.searcher() as current:
            assert current is not held
            assert any(
                "Harbour" in c.title for c in current.chunks("Portside pier", Filters(), None)
            )
        # the query that held the old build still reads it
        assert held.chunks(AVDIIVKA, Filters(), None)
    assert assistant.chain.invoke(Question.ask("Which pier will Portside close?")).covered


def test_questions_never_wait_for_a_new_index_to_open(
    assistant: Assistant, articles: Path, embedder: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    pier = Question.ask("Which pier will Portside close for repairs?")
    assert not assistant.chain.invoke(pier).covered  # the first index (the sample) opened
    add_article(articles, 1)
    build(articles, index_dir(assistant), embedder)
    opening, go = threading.Event(), threading.Event()
    searcher = chain.Searcher

    def slow_to_open(*args: object) -> Searcher:
        opening.set()
        go.wait(60)
        return searcher(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(chain, "Searcher", slow_to_open)
    try:
        for _ in range(3):  # answered at once, by the old index, while the new one opens
            assert not assistant.chain.invoke(pier).covered
            assert opening.wait(10)
            assert assistant.chain.invoke(Question.ask(AVDIIVKA)).covered
    finally:
        go.set()
    assistant.refresh()
    cited = assistant.chain.invoke(pier).citations
    assert cited and cited[0].title == "Harbour notice 1"


def test_a_new_index_built_with_another_model_is_refused_not_ignored(
    assistant: Assistant, articles: Path, embedder: object
) -> None:
    assert assistant.chain.invoke(Question.ask(AVDIIVKA)).covered
    add_article(articles, 2)
    rebuild([articles], index_dir(assistant), embedder=Renamed(embedder, "other-model"), full=True)
    for _ in range(2):  # the first question starts opening it, in the background ...
        with pytest.raises(IndexMismatch, match="'other-model'.*rebuild with"):
            assistant.refresh()
        with pytest.raises(IndexMismatch, match="'other-model'"):  # ... then every one says so
            assistant.chain.invoke(Question.ask(AVDIIVKA))


@pytest.mark.slow
def test_answers_in_threads_while_rebuilds_swap_the_index(
    assistant: Assistant, articles: Path, embedder: object
) -> None:
    answers, errors = [], []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            try:
                answers.append(assistant.chain.invoke(Question.ask(AVDIIVKA)))
            except Exception as error:  # collected: the test fails on any
                errors.append(error)

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for i in range(4):
            add_article(articles, i)
            build(articles, index_dir(assistant), embedder)
            seen = len(answers)
            while len(answers) < seen + 3 and not errors:  # answers from the new build too
                stop.wait(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []
    assert answers and all(a.covered and "Avdiivka" in a.text for a in answers)
    assistant.refresh()
    with assistant.searcher() as current:  # old builds were closed once their queries ended
        assert current.index.manifest == manifest_of(assistant)  # every switch took
        assert list(assistant._users) == [current]


def test_a_build_a_reader_holds_is_not_pruned_until_it_lets_go(
    assistant: Assistant, articles: Path, embedder: object
) -> None:
    with assistant.searcher() as held:
        folders = [index_dir(assistant) / "segments" / s.id for s in held.index.segments]
        for i in range(3):  # pruning keeps only the segments of this and the previous build ...
            add_article(articles, i)
            build(articles, index_dir(assistant), embedder, full=True)
        assert all(f.is_dir() for f in folders)  # ... but not a segment someone still reads
        assert held.chunks(AVDIIVKA, Filters(), None)
    assistant.refresh()  # moves to the current index, closing the old
    add_article(articles, 9)
    build(articles, index_dir(assistant), embedder, full=True)
    assert not any(f.exists() for f in folders)
