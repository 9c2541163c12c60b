"""rebuild(): what the index holds, incremental updates, duplicates, settings, skipped inputs.

The index is a list of segments (`DIR/segments/<id>/chroma`) named by `DIR/manifest.json`; an
update writes one new segment of the new and changed articles and lists the ids it replaces.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from index import build as build_module
from index import places, stories
from index import segments as segments_module
from index.build import DEFAULT_CHUNKING, BuildReport, rebuild
from index.chunk import ChunkSettings, chunk_article
from index.errors import IndexMismatch, IndexProblem
from index.lexical import LAYOUT, Lexical, build_lexical, open_lexical, rows
from index.load import Article, load_file
from index.manifest import Manifest
from index.places import place
from index.segments import StoredChunk
from index.sentences import Sentence, split_sentences
from index.store import Index, open_index
from tests.shared import SAMPLE_ARTICLE, Renamed

ARTICLES = {
    "harbour.txt": (
        "---\ntitle: Harbour bridge reopens\npublished: 2024-03-14\nsource: Port Times\n---\n"
        "The harbour bridge reopened on Thursday after eight months of repairs. "
        "Engineers said the work cost about 3.5 million dollars.\n"
        "Ferry operators will return to their usual timetable next week.\n"
    ),
    "library.txt": (
        "---\ntitle: City library extends its hours\npublished: 2024-03-15\n---\n"
        "The central library will stay open until 9 p.m. on weekdays from April. "
        "The council approved the change on Jan. 5 after a public survey.\n"
    ),
    "orchard.md": (
        "---\ntitle: Frost threatens apple orchards\n---\n"
        "Growers in the valley lit fires overnight to protect blossoms from frost. "
        "Dr. Lena Park of the farm institute said losses could reach a third of the crop.\n"
    ),
}


def write_articles(folder: Path, articles: dict[str, str] = ARTICLES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in articles.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def build(sources: list[Path] | Path, index_dir: Path, embedder: Any, **kw: Any) -> BuildReport:
    roots = sources if isinstance(sources, list) else [sources]
    return rebuild(roots, index_dir, embedder=embedder, progress=False, **kw)


def counts(report: BuildReport) -> tuple[int, int, int, int, int]:
    return report.added, report.updated, report.unchanged, report.removed, len(report.skipped)


def article_id(path: Path) -> str:
    (article,) = load_file(path.resolve())
    assert isinstance(article, Article)
    return article.id


@contextmanager
def opened(index_dir: Path) -> Iterator[Index]:
    """The current index of a folder, as a reader opens it (holding its segments)."""
    index = open_index(place(index_dir))
    try:
        yield index
    finally:
        index.close()


def manifest(index_dir: Path) -> dict[str, Any]:
    return json.loads((index_dir / "manifest.json").read_text())


def segment_ids(index_dir: Path) -> list[str]:
    """The segments the current manifest lists, oldest first."""
    return segment_ids_of(manifest(index_dir))


def segment_ids_of(m: dict[str, Any]) -> list[str]:
    return [s["id"] for s in m["segments"]]


def segment_folders(index_dir: Path) -> list[str]:
    """Every folder under segments/ (finished or not)."""
    folder = index_dir / "segments"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def manifest_stamp(index_dir: Path) -> tuple[int, int, bytes]:
    """What changes when manifest.json is replaced: its inode, its mtime, its bytes."""
    file = index_dir / "manifest.json"
    stat = file.stat()
    return stat.st_ino, stat.st_mtime_ns, file.read_bytes()


def live_chunks(index: Index) -> list[tuple[str, str, dict[str, Any]]]:
    """(id, text, metadata) of every chunk of an article no later segment replaced."""
    return [
        (cid, doc, meta)
        for segment, dropped in zip(index.segments, index.dropped, strict=True)
        for cid, doc, meta in segment.all(segment.chunks, documents=True)
        if meta["article_id"] not in dropped
    ]


def chunk_documents(index: Index, article: str) -> list[str]:
    return [doc for _, doc, meta in live_chunks(index) if meta["article_id"] == article]


def lexical(index: Index) -> Lexical:
    """BM25 over the index as readers get it (saved by the build), which must be the one made
    afresh from the chunks of its segments."""
    saved = open_lexical(index)
    fresh = build_lexical(
        (rows(s.all(s.chunks, documents=True)), d)
        for s, d in zip(index.segments, index.dropped, strict=True)
    )
    assert saved.ids == fresh.ids and saved.article_ids == fresh.article_ids
    assert (
        saved.sources == fresh.sources
        and saved.published_ts.tolist() == fresh.published_ts.tolist()
    )
    if fresh.ids:
        query = live_chunks(index)[0][1][:80]  # words of a live chunk: it must be found
        assert saved.search(query, 10) == fresh.search(query, 10) != []
    return saved


def fetched(index: Index, article: str) -> tuple[Article, list[Sentence]]:
    found = index.article(article)
    assert found is not None, article
    return found


def titles(index_dir: Path) -> dict[str, str]:
    with opened(index_dir) as index:
        return {i: fetched(index, i)[0].title for i in index.catalogue()}


def assert_consistent(index_dir: Path, settled: bool = True) -> None:
    """The segments hold what the manifest counts, every chunk has its live article, the
    manifest's segments are all on disk, and BM25 sees exactly the live chunks."""
    with opened(index_dir) as index:
        manifest = index.manifest
        assert Manifest.from_json(manifest.to_json(), "here") == manifest  # the JSON round trip
        catalogue = index.catalogue()
        assert len(catalogue) == manifest.articles
        assert sum(e.sentences for e in catalogue.values()) == manifest.sentences
        chunks = live_chunks(index)
        assert len(chunks) == manifest.chunks == sum(e.chunks for e in catalogue.values())
        ids = [cid for cid, _, _ in chunks]
        assert len(set(ids)) == len(ids)  # no chunk twice: a replaced one is hidden
        assert {meta["article_id"] for _, _, meta in chunks} == {
            i for i, e in catalogue.items() if e.chunks
        }
        for article, entry in catalogue.items():
            text, sentences = fetched(index, article)
            assert len(sentences) == entry.sentences
            assert text.title == entry.title
        assert sorted(lexical(index).ids) == sorted(ids)
        for segment in index.segments:
            assert (index_dir / "segments" / segment.id / "chroma").is_dir()
            assert not (index_dir / "segments" / f"{segment.id}.partial").exists()
    if settled:  # no build was killed since the last one ended
        assert not [f for f in segment_folders(index_dir) if f.endswith(".partial")]


# --- what an index holds --------------------------------------------------------------------
def test_sample_index_records_its_settings_and_counts(sample_index: Path) -> None:
    with opened(sample_index) as index:
        manifest = index.manifest
        assert manifest.embedding_model == "all-MiniLM-L6-v2"
        assert manifest.chunking == ChunkSettings(max_chars=700, overlap=1)
        assert (manifest.articles, manifest.sentences) == (1, 36)
        assert manifest.generation == 1 and manifest.previous == ()
        assert [p.removes for p in manifest.parts] == [frozenset()]  # a full build: one segment
        (segment,) = index.segments
        assert manifest.chunks == segment.chunks.count() > 1
        saved = json.loads((sample_index / "manifest.json").read_text())
        assert saved["format"] == 2 and saved["chunking"] == {"max_chars": 700, "overlap": 1}
        assert segment.articles.count() == 1
    assert_consistent(sample_index)


def test_any_article_and_any_sentence_can_be_fetched(sample_index: Path) -> None:
    (loaded,) = load_file(SAMPLE_ARTICLE.resolve())
    assert isinstance(loaded, Article)
    with opened(sample_index) as index:
        article, spans = fetched(index, loaded.id)
        assert (article.title, article.text, article.published, article.source) == (
            loaded.title,
            loaded.text,
            "2024-02-16",
            "VOA News",
        )
        sentences = [loaded.text[s.start : s.end] for s in spans]
        assert [s.n for s in spans] == list(range(36))
        assert sentences == [loaded.text[s.start : s.end] for s in split_sentences(loaded.text)]
        assert sentences[7] == (
            "Stoltenberg said he also expects the U.S. Congress to agree on a new support "
            "package for Ukraine after funding ran out in December."
        )
        assert index.article("no-such-article") is None


def test_sentences_that_state_nothing_are_marked_at_index_time_and_kept_in_the_reader(
    tmp_path: Path, embedder: Any
) -> None:
    text = (
        "The river flooded the old town on Sunday.\n\nWhat residents should know\n\n"
        "Why did the river rise so fast?\n\nRescue crews pulled 40 people from their homes."
    )
    src = write_articles(tmp_path / "src", {"flood.md": f"---\ntitle: Flood\n---\n{text}"})
    build(src, tmp_path / "index", embedder)
    with opened(tmp_path / "index") as index:
        (record,) = index.segments[0].chunks.get(include=["metadatas"])["metadatas"]
        assert record["quotable"] == [True, False, False, True]
        (chunk,) = index.chunks_by_id(index.segments[0].chunks.get()["ids"]).values()
        quoted = [t for _, _, _, t in chunk.sentences()]
        assert quoted == [
            "The river flooded the old town on Sunday.",
            "Rescue crews pulled 40 people from their homes.",
        ]
        article, spans = fetched(index, chunk.article_id)  # the reader shows every line
        assert [article.text[s.start : s.end] for s in spans][1:3] == [
            "What residents should know",
            "Why did the river rise so fast?",
        ]
        # An index built before sentences were told apart: told apart when its chunks are read.
        got = index.segments[0].chunks.get(include=["documents", "metadatas"])
        older = {k: v for k, v in got["metadatas"][0].items() if k != "quotable"}
        again = StoredChunk.from_record(got["ids"][0], got["documents"][0], older)
        assert again.quotable == (True, False, False, True)


def test_a_query_finds_the_chunk_that_answers_it(sample_index: Path, embedder: Any) -> None:
    with opened(sample_index) as index:
        vector = embedder.embed_query("Which Russian navy ship did Ukraine destroy?")
        hits = index.nearest(vector, 2, None)
        assert len(hits) == 2
        found = index.chunks_by_id(hits)
        assert sorted(found) == sorted(hits)
        assert any("Caesar Kunikov" in c.text for c in found.values())
        assert all(index.article(c.article_id) for c in found.values())


def test_the_same_articles_give_the_same_index(tmp_path: Path, embedder: Any) -> None:
    src = write_articles(tmp_path / "src")
    build(src, tmp_path / "one", embedder)
    build(src, tmp_path / "two", embedder)
    got = []
    for name in ("one", "two"):
        with opened(tmp_path / name) as index:
            chunks = sorted((cid, doc) for cid, doc, _ in live_chunks(index))
            sentences = {i: fetched(index, i)[1] for i in index.catalogue()}
            got.append((chunks, sentences))
    assert got[0] == got[1]
    assert len(got[0][1]) == 3


def test_chunks_are_read_back_a_page_at_a_time(
    tmp_path: Path, embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chroma refuses one get() of ~32,000+ records; catalogue and BM25 read pages of them.
    monkeypatch.setattr(segments_module, "PAGE", 1)
    build(write_articles(tmp_path / "src"), tmp_path / "index", embedder)
    with opened(tmp_path / "index") as index:
        (segment,) = index.segments
        every = segment.chunks.get(include=[])["ids"]
        assert len(every) > 2 * segments_module.PAGE
        assert sorted(c for c, _, _ in segment.all(segment.chunks, documents=True)) == sorted(every)
        assert sorted(lexical(index).ids) == sorted(every)
        assert len(index.catalogue()) == segment.articles.count() == 3


# --- incremental rebuilds -------------------------------------------------------------------
def test_unchanged_articles_cost_nothing(tmp_path: Path, embedder: Any) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    first = build(src, index_dir, embedder)
    assert counts(first) == (3, 0, 0, 0, 0)
    assert first.changed
    folders, stamp = segment_folders(index_dir), manifest_stamp(index_dir)
    assert len(folders) == 1

    second = build(src, index_dir, embedder)
    assert counts(second) == (0, 0, 3, 0, 0)
    assert not second.changed
    assert (second.articles, second.chunks) == (first.articles, first.chunks)
    assert segment_folders(index_dir) == folders  # no new segment
    assert manifest_stamp(index_dir) == stamp  # manifest.json not even rewritten
    assert manifest(index_dir)["generation"] == 1


def test_changed_articles_are_replaced_and_gone_ones_removed(tmp_path: Path, embedder: Any) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    build(src, index_dir, embedder)
    (first,) = segment_ids(index_dir)
    harbour, library = article_id(src / "harbour.txt"), article_id(src / "library.txt")
    orchard = article_id(src / "orchard.md")
    edited = ARTICLES["harbour.txt"].replace("eight months", "nine months")
    (src / "harbour.txt").write_text(edited, encoding="utf-8")
    (src / "library.txt").unlink()
    (src / "new.txt").write_text("A new park opened. Children played.", encoding="utf-8")
    new = article_id(src / "new.txt")

    report = build(src, index_dir, embedder)
    assert counts(report) == (1, 1, 1, 1, 0)
    after = manifest(index_dir)
    assert after["generation"] == 2 and after["previous"] == [first]
    assert [s["id"] for s in after["segments"]][0] == first  # the old segment is kept as is
    assert [s["removes"] for s in after["segments"]] == [[], sorted([harbour, library])]
    with opened(index_dir) as index:
        old, update = index.segments
        assert index.dropped == [frozenset({harbour, library}), frozenset()]
        # The new segment holds only the changed and new articles, and only their chunks.
        assert sorted(update.articles.get(include=[])["ids"]) == sorted([harbour, new])
        update_chunks = update.chunks.get(include=["metadatas"])["metadatas"]
        assert {m["article_id"] for m in update_chunks} == {harbour, new}
        assert old.articles.count() == 3  # nothing of the old segment was rewritten

        article, sentences = fetched(index, harbour)
        assert "nine months" in article.text
        documents = chunk_documents(index, harbour)
        assert documents and all("eight months" not in d for d in documents)
        assert any("nine months" in d for d in documents)
        first_sentence = sentences[0]
        assert article.text[first_sentence.start : first_sentence.end] == (
            "The harbour bridge reopened on Thursday after nine months of repairs."
        )
        assert [(s.start, s.end) for s in sentences] == [
            (s.start, s.end) for s in split_sentences(article.text)
        ]
        kept, kept_sentences = fetched(index, orchard)  # from the old segment, unchanged
        assert kept.text[kept_sentences[0].start : kept_sentences[0].end] == (
            "Growers in the valley lit fires overnight to protect blossoms from frost."
        )
        assert index.article(library) is None
        assert chunk_documents(index, library) == []
        assert set(index.catalogue()) == {harbour, orchard, new}
        assert report.articles == len(index.catalogue()) == 3
    assert_consistent(index_dir)


def test_dropped_chunks_never_come_back(tmp_path: Path, embedder: Any) -> None:
    # Small chunks: the harbour article has several, and fewer once it is cut short.
    chunking = ChunkSettings(max_chars=80, overlap=0)
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    build(src, index_dir, embedder, chunking=chunking)
    harbour, library = article_id(src / "harbour.txt"), article_id(src / "library.txt")
    with opened(index_dir) as index:
        old_harbour = sorted(c for c, _, m in live_chunks(index) if m["article_id"] == harbour)
        old_library = sorted(c for c, _, m in live_chunks(index) if m["article_id"] == library)
    assert len(old_harbour) == 3 and len(old_library) == 2
    short = "---\ntitle: Harbour bridge reopens\n---\nThe harbour bridge is closed again.\n"
    (src / "harbour.txt").write_text(short, encoding="utf-8")
    (src / "library.txt").unlink()
    assert counts(build(src, index_dir, embedder, chunking=chunking)) == (0, 1, 1, 1, 0)

    with opened(index_dir) as index:
        # The old segment still holds the old chunks on disk ...
        assert sorted(index.segments[0].chunks.get(ids=old_harbour + old_library)["ids"]) == (
            sorted(old_harbour + old_library)
        )
        # ... but no reader's way in returns them.
        found = index.chunks_by_id(old_harbour + old_library)
        assert sorted(found) == [f"{harbour}:0"]
        assert found[f"{harbour}:0"].text == "The harbour bridge is closed again."
        for question in ("harbour bridge repairs cost", "library opening hours", "frost"):
            vector = embedder.embed_query(question)
            hits = index.nearest(vector, 20, None)
            assert hits and not set(hits) & (set(old_harbour[1:]) | set(old_library))
            assert len(hits) == len(set(hits)) == manifest(index_dir)["chunks"]
            by_id = index.chunks_by_id(hits)
            assert {c.article_id for c in by_id.values()} <= set(index.catalogue())
            assert by_id[f"{harbour}:0"].text == "The harbour bridge is closed again."
        lex = lexical(index)
        assert library not in lex.article_ids
        assert sorted(c for c in lex.ids if c.startswith(f"{harbour}:")) == [f"{harbour}:0"]
        assert len(lex.ids) == len(set(lex.ids))
        assert not [
            c for c, _ in lex.search("months repairs library hours", 20) if c in old_library
        ]
    assert_consistent(index_dir)


def test_an_update_costs_what_it_adds(tmp_path: Path, embedder: Any) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    build(src, index_dir, embedder)
    (src / "added.txt").write_text(
        "The ferry company ordered two electric boats. They arrive next spring. "
        "Each carries three hundred passengers.",
        encoding="utf-8",
    )
    (added,) = load_file((src / "added.txt").resolve())
    assert isinstance(added, Article)
    expected = chunk_article(added, split_sentences(added.text), DEFAULT_CHUNKING)
    report = build(src, index_dir, embedder)
    assert counts(report) == (1, 0, 3, 0, 0)
    with opened(index_dir) as index:
        assert len(index.segments) == 2
        newest = index.segments[-1]
        assert newest.chunks.count() == len(expected)  # not the 3 older articles' chunks again
        assert sorted(newest.chunks.get(include=[])["ids"]) == sorted(c.id for c in expected)
        assert newest.articles.get(include=[])["ids"] == [added.id]
        assert index.manifest.parts[-1].removes == frozenset()
        assert index.segments[0].chunks.count() + len(expected) == index.manifest.chunks
    assert_consistent(index_dir)


def test_daily_updates_past_max_segments_are_merged_into_one(
    tmp_path: Path, embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build_module, "MAX_SEGMENTS", 4)
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    build(src, index_dir, embedder)
    archive = segment_ids(index_dir)[0]
    harbour, library = article_id(src / "harbour.txt"), article_id(src / "library.txt")
    days = [
        (  # a wire story: the merge keeps its wire service with its chunks and story record
            "ferry.txt",
            "PORT ELLIS (AP) \u2014 The ferry company ordered two electric boats. They arrive in "
            "spring.",
        ),
        ("harbour.txt", ARTICLES["harbour.txt"].replace("eight months", "nine months")),
        ("market.txt", "The night market moves to the old pier. Stalls open at six."),
    ]
    for name, text in days:  # day 2 replaces an archive article, which day 3 edits again
        (src / name).write_text(text, encoding="utf-8")
        build(src, index_dir, embedder)
    (src / "harbour.txt").write_text(ARTICLES["harbour.txt"].replace("eight", "ten"), "utf-8")
    (src / "library.txt").unlink()
    before = manifest(index_dir)
    assert len(before["segments"]) == 4
    report = build(src, index_dir, embedder)  # a 5th segment: all but the archive merged
    assert counts(report) == (0, 1, 3, 1, 0)
    after = manifest(index_dir)
    assert [s["id"] for s in after["segments"]][0] == archive and len(after["segments"]) == 2
    assert set(after["segments"][1]["removes"]) >= {harbour, library}
    assert_consistent(index_dir)
    with opened(index_dir) as index:
        merged = index.segments[1]
        assert sorted(merged.articles.get(include=[])["ids"]) == sorted(
            article_id(src / n) for n in ("ferry.txt", "harbour.txt", "market.txt")
        )
        assert "ten months" in fetched(index, harbour)[0].text
        assert index.article(library) is None
        ferry = article_id(src / "ferry.txt")
        wires = {m.get("wire") for _, _, m in live_chunks(index) if m["article_id"] == ferry}
        assert wires == {"The Associated Press"}
        (story,) = [m for i, m, _ in stories.records(index) if i == ferry]
        assert story["wire"] == "The Associated Press"
        assert {m["article_id"] for _, _, m in live_chunks(index)} == {
            article_id(p) for p in src.iterdir()
        }
        vector = embedder.embed_query("harbour bridge months of repairs")
        texts = [c.text for c in index.chunks_by_id(index.nearest(vector, 10, None)).values()]
        assert any("ten months" in t for t in texts) and not any("nine months" in t for t in texts)
    build(src, index_dir, embedder)  # no change
    (src / "last.txt").write_text("A last article. It is the fifth.", encoding="utf-8")
    build(src, index_dir, embedder)
    assert not (
        set(segment_folders(index_dir))
        - set(segment_ids(index_dir))
        - {s for s in manifest(index_dir)["previous"]}
    )  # the segments merged away are removed once no manifest lists them


def test_an_update_that_only_removes_writes_an_empty_segment(tmp_path: Path, embedder: Any) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    first = build(src, index_dir, embedder)
    library = article_id(src / "library.txt")
    (src / "library.txt").unlink()
    report = build(src, index_dir, embedder)
    assert counts(report) == (0, 0, 2, 1, 0) and report.changed
    assert report.articles == first.articles - 1
    with opened(index_dir) as index:
        newest = index.segments[-1]
        assert newest.chunks.count() == newest.articles.count() == 0
        assert index.manifest.parts[-1].removes == {library}
        assert index.manifest.generation == 2
        assert index.article(library) is None
        hits = index.nearest(embedder.embed_query("library opening hours"), 10, None)
        assert hits and not [h for h in hits if h.startswith(f"{library}:")]
        assert library not in lexical(index).article_ids
    assert_consistent(index_dir)


def test_a_new_title_is_an_update_too(tmp_path: Path, embedder: Any) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    build(src, index_dir, embedder)
    text = ARTICLES["orchard.md"].replace("Frost threatens", "Late frost threatens")
    (src / "orchard.md").write_text(text, encoding="utf-8")
    assert counts(build(src, index_dir, embedder)) == (0, 1, 2, 0, 0)
    orchard = article_id(src / "orchard.md")
    assert titles(index_dir)[orchard] == "Late frost threatens apple orchards"
    with opened(index_dir) as index:
        metas = [m for _, _, m in live_chunks(index) if m["article_id"] == orchard]
        assert [m["title"] for m in metas] == ["Late frost threatens apple orchards"]
        assert index.catalogue()[orchard].title == "Late frost threatens apple orchards"


def test_a_renamed_file_keeps_its_article(tmp_path: Path, embedder: Any) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    build(src, index_dir, embedder)
    (src / "library.txt").rename(src / "library-2024.txt")
    report = build(src, index_dir, embedder)
    assert counts(report) == (1, 0, 2, 1, 0), report.summary()
    assert sorted(titles(index_dir).values()) == [
        "City library extends its hours",
        "Frost threatens apple orchards",
        "Harbour bridge reopens",
    ]
    assert_consistent(index_dir)


def test_only_articles_under_the_sources_read_can_be_removed(tmp_path: Path, embedder: Any) -> None:
    a = write_articles(tmp_path / "a", {"one.txt": "First folder. One."})
    b = write_articles(tmp_path / "b", {"two.txt": "Second folder. Two."})
    index_dir = tmp_path / "index"
    build(a, index_dir, embedder)
    assert counts(build(b, index_dir, embedder)) == (1, 0, 0, 0, 0)
    assert len(titles(index_dir)) == 2  # a's article stays: a was not read this time
    (a / "one.txt").unlink()
    assert counts(build([a, b], index_dir, embedder)) == (0, 0, 1, 1, 0)
    assert list(titles(index_dir).values()) == ["Two"]
    assert_consistent(index_dir)


def test_full_rebuilds_from_scratch(tmp_path: Path, embedder: Any) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    build(src, index_dir, embedder)
    before = manifest(index_dir)
    report = build(src, index_dir, embedder, full=True)
    assert counts(report) == (3, 0, 0, 0, 0)
    assert report.changed
    after = manifest(index_dir)
    (segment,) = after["segments"]  # one new segment, nothing of the old one listed
    assert segment["removes"] == [] and segment["id"] not in segment_ids_of(before)
    assert after["previous"] == segment_ids_of(before)  # kept for readers of the old one
    assert after["generation"] == before["generation"] + 1
    assert_consistent(index_dir)


def test_updates_keep_every_segment_they_need_and_nothing_else(
    tmp_path: Path, embedder: Any
) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    for n in range(3):
        (src / "extra.txt").write_text(f"Version {n} of an extra article. It changes.")
        build(src, index_dir, embedder)
    listed = segment_ids(index_dir)
    assert len(listed) == 3  # the full build and two updates, each still needed
    assert segment_folders(index_dir) == sorted(listed)
    assert manifest(index_dir)["generation"] == 3
    assert_consistent(index_dir)


def test_segments_a_full_build_replaced_are_pruned(tmp_path: Path, embedder: Any) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    build(src, index_dir, embedder)
    (src / "extra.txt").write_text("An extra article. It is new.")
    build(src, index_dir, embedder)
    old = segment_ids(index_dir)
    assert len(old) == 2
    build(src, index_dir, embedder, full=True)
    (rebuilt,) = segment_ids(index_dir)
    # The old segments stay while the previous manifest may still be read ...
    assert segment_folders(index_dir) == sorted([*old, rebuilt])
    (src / "extra.txt").write_text("An extra article. It changed.")
    build(src, index_dir, embedder)
    # ... and go once it is not the previous one any more.
    listed = segment_ids(index_dir)
    assert listed[0] == rebuilt and len(listed) == 2
    assert segment_folders(index_dir) == sorted(listed)
    assert not any((index_dir / "segments" / s).exists() for s in old)
    assert_consistent(index_dir)


def test_a_new_reader_maps_the_saved_bm25_and_reads_no_chunk_text(
    tmp_path: Path, embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    build(src, index_dir, embedder)
    (src / "extra.txt").write_text("An extra article about the harbour ferry. It is new.")
    build(src, index_dir, embedder)  # an update: BM25 saved for the new manifest too
    with opened(index_dir) as index:
        expected = lexical(index)  # checked against one made afresh from the chunks
    saved = index_dir / "bm25"
    assert sorted(p.name for p in (saved / "rows").iterdir()) == sorted(
        f"{i}-{LAYOUT}.npz" for i in segment_ids(index_dir)
    )

    def no_reading(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a reader read chunk texts from Chroma")

    with monkeypatch.context() as patch:  # a new process: nothing in memory, all on disk
        patch.setattr(segments_module.Segment, "all", no_reading)
        with opened(index_dir) as index:
            loaded = open_lexical(index)
    assert loaded.ids == expected.ids and loaded.article_ids == expected.article_ids
    assert loaded.search("harbour ferry", 5) == expected.search("harbour ferry", 5)

    # A damaged save (a torn file, a half-written folder) is made again from the segments.
    with opened(index_dir) as index:
        (key,) = [p for p in saved.iterdir() if p.name.startswith(index.manifest.key())]
    (key / "rows.json").write_text('["half')
    for file in (saved / "rows").iterdir():  # cut in half: a torn zip
        file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])
    with opened(index_dir) as index:
        remade = open_lexical(index)
        assert remade.ids == expected.ids
        assert open_lexical(index).search("harbour ferry", 5) == expected.search("harbour ferry", 5)


def test_a_segment_a_reader_holds_is_pruned_only_once_it_lets_go(
    tmp_path: Path, embedder: Any
) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    build(src, index_dir, embedder)
    harbour = article_id(src / "harbour.txt")
    with opened(index_dir) as held:
        (old,) = (s.id for s in held.segments)
        folder = index_dir / "segments" / old
        assert (folder / places.READERS).exists()
        build(src, index_dir, embedder, full=True)
        (src / "extra.txt").write_text("An extra article. It is new.")
        build(src, index_dir, embedder)  # `old` is neither current nor previous now ...
        assert old not in {s["id"] for s in manifest(index_dir)["segments"]}
        assert old not in manifest(index_dir)["previous"]
        assert folder.is_dir()  # ... but a reader holds it: it stays, whole
        assert fetched(held, harbour)[0].title == "Harbour bridge reopens"
        vector = embedder.embed_query("harbour bridge repairs")
        assert held.chunks_by_id(held.nearest(vector, 2, None))
        assert len(lexical(held).ids) == held.manifest.chunks
        build(src, index_dir, embedder)  # an unchanged build at the same time: it stays too
        assert folder.is_dir()
    assert folder.is_dir()  # released: the next build removes it
    report = build(src, index_dir, embedder)
    assert not report.changed
    assert not folder.exists()
    assert segment_folders(index_dir) == sorted(segment_ids(index_dir))
    assert_consistent(index_dir)


def test_an_index_inside_a_source_folder_is_not_read_as_articles(
    tmp_path: Path, embedder: Any
) -> None:
    data = write_articles(tmp_path / "data")  # like `assistant index data` with data/index
    index_dir = data / "index"
    assert counts(build(data, index_dir, embedder)) == (3, 0, 0, 0, 0)
    report = build(data, index_dir, embedder)
    assert counts(report) == (0, 0, 3, 0, 0), report.summary()


def test_an_index_of_another_format_is_built_anew(tmp_path: Path, embedder: Any) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    assert counts(build(src, index_dir, embedder)) == (3, 0, 0, 0, 0)
    names = [".lock", "bm25", "manifest.json", "segments"]
    assert sorted(p.name for p in index_dir.iterdir()) == names

    # A manifest of another format is refused to readers and replaced by the next build.
    (index_dir / "manifest.json").write_text(json.dumps({"format": 1, "segments": []}))
    with pytest.raises(IndexMismatch, match="older layout.*--full"):
        open_index(place(index_dir))
    report = build(src, index_dir, embedder)
    assert counts(report) == (3, 0, 0, 0, 0) and manifest(index_dir)["generation"] == 1
    assert_consistent(index_dir)


# --- the same article twice -------------------------------------------------------------------
def test_the_same_article_twice_is_indexed_once(tmp_path: Path, embedder: Any) -> None:
    src = tmp_path / "src"
    src.mkdir()
    records = [
        {"id": "a1", "url": "https://example.org/a", "title": "A", "text": "Alpha text. One."},
        {"id": "a1", "title": "A again", "text": "Different text. Same id."},
        {"id": "b1", "url": "https://example.org/a", "title": "B", "text": "Beta text. Two."},
        {"id": "c1", "title": "C", "text": "Gamma   text.\nThree."},
    ]
    (src / "feed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (src / "gamma.txt").write_text("gamma text. three.")  # same words as c1, other case/spaces
    report = build(src, tmp_path / "index", embedder)
    assert counts(report) == (2, 0, 0, 0, 3)
    feed = (src / "feed.jsonl").resolve()
    assert [str(s) for s in report.skipped] == [
        f"{feed}:2: duplicate of article a1 (same id)",
        f"{feed}:3: duplicate of article a1 (same URL)",
        f"{(src / 'gamma.txt').resolve()}: duplicate of article c1 (same text)",
    ]
    assert sorted(titles(tmp_path / "index")) == ["a1", "c1"]


@pytest.mark.parametrize("copy", ["aa-copy.txt", "zz-copy.txt"])  # read before or after it
def test_a_copy_of_an_indexed_article_is_skipped(tmp_path: Path, embedder: Any, copy: str) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    build(src, index_dir, embedder)
    (src / copy).write_text(ARTICLES["library.txt"])  # same text, other file and id
    report = build(src, index_dir, embedder)
    assert counts(report) == (0, 0, 3, 0, 1)
    library = article_id(src / "library.txt")
    assert [s.reason for s in report.skipped] == [f"duplicate of article {library} (same text)"]


# --- settings ---------------------------------------------------------------------------------
def test_other_settings_are_refused_until_a_full_rebuild(tmp_path: Path, embedder: Any) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    build(src, index_dir, embedder)
    (src / "extra.txt").write_text("An extra article. It would be an update.")
    folders, stamp = segment_folders(index_dir), manifest_stamp(index_dir)
    with pytest.raises(IndexMismatch, match="max_chars.*assistant index --full"):
        build(src, index_dir, embedder, chunking=ChunkSettings(max_chars=300))
    with pytest.raises(
        IndexMismatch, match="other-model.*rebuild it with `assistant index --full`"
    ):
        build(src, index_dir, Renamed(embedder, "other-model"))
    assert manifest_stamp(index_dir) == stamp  # nothing published ...
    assert segment_folders(index_dir) == folders  # ... and no segment written

    report = build(src, index_dir, embedder, chunking=ChunkSettings(max_chars=300), full=True)
    assert report.added == 4
    with opened(index_dir) as index:
        assert index.manifest.chunking == ChunkSettings(max_chars=300, overlap=1)
        assert len(index.segments) == 1
        assert all(len(doc) <= 300 for _, doc, _ in live_chunks(index))
    assert_consistent(index_dir)


# --- bad input and unwritable indexes ---------------------------------------------------------
def test_bad_inputs_are_skipped_with_reasons_and_the_rest_indexed(
    tmp_path: Path, embedder: Any
) -> None:
    src = write_articles(tmp_path / "src", {"good.txt": "Good article. It counts."})
    (src / "empty.txt").write_bytes(b"")
    (src / "binary.txt").write_bytes(b"\x00\xff\x00")
    (src / "latin1.txt").write_bytes("Caf\xe9".encode("latin-1"))
    (src / "feed.jsonl").write_text('{"id": "j", "text": "From the feed. Fine."}\n{"id":\n')
    (src / "notext.jsonl").write_text('{"id": "n", "title": "Empty", "text": ""}\n')
    (src / "huge.txt").write_text("Big. " * 4_000_000)
    (src / "sheet.xlsx").write_bytes(b"PK")
    (src / "gone.txt").symlink_to(tmp_path / "missing.txt")
    os.mkfifo(src / "pipe.txt")

    report = build(src, tmp_path / "index", embedder)
    assert counts(report)[:4] == (2, 0, 0, 0)
    root = src.resolve()
    assert [str(s).removeprefix(f"{root}/") for s in report.skipped] == [
        "binary.txt: binary file (contains NUL bytes), not text",
        "empty.txt: empty file",
        "feed.jsonl:2: invalid JSON (Expecting value at column 7)",
        f"gone.txt: broken symbolic link (its target {tmp_path / 'missing.txt'} does not exist)",
        "huge.txt: too large for one article (20.0 MB; the limit is 5 MB)",
        "latin1.txt: not valid UTF-8 (byte 0xe9 at offset 3)",
        "notext.jsonl:1: article has no text",
        "notext.jsonl: no article in it could be read",
        "pipe.txt: not a regular file (a named pipe)",
        "sheet.xlsx: unsupported file type '.xlsx' "
        "(.txt, .md, .markdown, .html, .htm, .jsonl, .jsonl.gz)",
    ]
    lines = report.summary().splitlines()
    assert lines[0].startswith("2 added, 0 updated, 0 unchanged, 0 removed, 10 skipped in ")
    assert lines[0].endswith("holds 2 articles, 4 sentences, 2 chunks")
    assert lines[1:] == [f"skipped {s}" for s in report.skipped]
    assert_consistent(tmp_path / "index")


def test_an_index_that_cannot_be_written_is_a_clear_error(tmp_path: Path, embedder: Any) -> None:
    src = write_articles(tmp_path / "src")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(IndexProblem, match="cannot write the index at .*a-file/index"):
        build(src, blocker / "index", embedder)


def test_a_build_waits_for_the_one_running_and_says_so(tmp_path: Path, embedder: Any) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    index_dir.mkdir()
    told = threading.Event()

    def progress(stage: str, done: int, total: int) -> None:
        if stage.startswith("waiting for another build of"):
            told.set()

    with open(index_dir / ".lock", "w") as held, ThreadPoolExecutor(1) as pool:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        waiting = pool.submit(build, src, index_dir, embedder, on_progress=progress)
        assert told.wait(60), "the build did not say it waits"
        assert not waiting.done() and not (index_dir / "manifest.json").exists()
        fcntl.flock(held, fcntl.LOCK_UN)
        assert waiting.result(timeout=120).added == 3
    assert_consistent(index_dir)


def test_a_lone_surrogate_costs_one_article_not_the_build(tmp_path: Path, embedder: Any) -> None:
    src = write_articles(tmp_path / "src", {"good.txt": "Good article. It counts."})
    records = [
        {"id": "t", "title": "Bad text", "text": "Half a pair \ud800 here. End."},
        {"id": "h", "title": "Bad title \udc00", "text": "The title is broken. The text is not."},
        {"id": "f", "title": "Fine", "text": "This line of the feed is fine. It is indexed."},
    ]
    (src / "feed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (src / "only-bad.jsonl").write_text(json.dumps(records[0]) + "\n")
    report = build(src, tmp_path / "index", embedder)
    assert counts(report)[:4] == (2, 0, 0, 0)
    root = src.resolve()
    assert [str(s).removeprefix(f"{root}/") for s in report.skipped] == [
        "feed.jsonl:1: the text is not valid Unicode (a lone surrogate '\\ud800' at character 12)",
        "feed.jsonl:2: the title is not valid Unicode (a lone surrogate '\\udc00' at character 10)",
        "only-bad.jsonl:1: the text is not valid Unicode "
        "(a lone surrogate '\\ud800' at character 12)",
        "only-bad.jsonl: no article in it could be read",
    ]
    report.summary().encode("utf-8")  # the report itself can be printed
    assert_consistent(tmp_path / "index")


def test_a_hundred_thousand_bad_lines_are_summarised(tmp_path: Path, embedder: Any) -> None:
    # Listed one by one, 100,000 bad lines made a 9.2 MB message.
    src = write_articles(tmp_path / "src", {"good.txt": "Good article. It counts."})
    good = json.dumps({"id": "g", "text": "The one good line. It is read."})
    lines = ["{oops"] * 99_990 + ['{"id": "e", "text": ""}'] * 10 + [good]
    (src / "feed.jsonl").write_text("\n".join(lines) + "\n")
    (src / "bad.jsonl").write_text("[]\n" * 7)
    report = build(src, tmp_path / "index", embedder)
    assert counts(report) == (2, 0, 0, 0, 13)
    root = src.resolve()
    invalid = "invalid JSON (Expecting property name enclosed in double quotes at column 2)"
    assert [str(s).removeprefix(f"{root}/") for s in report.skipped] == [
        "bad.jsonl:1: expected a JSON object with a 'text' field",
        "bad.jsonl:2: expected a JSON object with a 'text' field",
        "bad.jsonl:3: expected a JSON object with a 'text' field",
        "bad.jsonl:4: expected a JSON object with a 'text' field",
        "bad.jsonl:5: expected a JSON object with a 'text' field",
        "bad.jsonl:6: ... and 2 more skipped lines up to line 7 "
        "(expected a JSON object with a 'text' field: 2)",
        "bad.jsonl: no article in it could be read",
        *[f"feed.jsonl:{n}: {invalid}" for n in range(1, 6)],
        "feed.jsonl:6: ... and 99,995 more skipped lines up to line 100,000 "
        "(invalid JSON: 99,985; article has no text: 10)",
    ]
    assert len(report.summary()) < 3000


def test_duplicate_lines_are_summarised_too(tmp_path: Path, embedder: Any) -> None:
    src = tmp_path / "src"
    src.mkdir()
    line = json.dumps({"id": "d", "text": "The same article. Again and again."})
    (src / "feed.jsonl").write_text((line + "\n") * 1000)
    report = build(src, tmp_path / "index", embedder)
    assert counts(report) == (1, 0, 0, 0, 6)
    assert str(report.skipped[-1]).endswith(
        "feed.jsonl:7: ... and 994 more skipped lines up to line 1,000 "
        "(duplicate of article d: 994)"
    )


def test_malformed_dates_are_dropped_with_a_note(tmp_path: Path, embedder: Any) -> None:
    src = tmp_path / "src"
    src.mkdir()
    records = [
        {"id": f"a{n}", "published": f"2024-02-{30 + n}", "text": f"Article {n}. Its text."}
        for n in range(8)
    ]
    (src / "feed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (src / "ok.md").write_text("---\npublished: 2024-13-45\n---\nA month that is not. Text.")
    report = build(src, tmp_path / "index", embedder)
    assert counts(report) == (9, 0, 0, 0, 0)
    feed, md = (src / "feed.jsonl").resolve(), (src / "ok.md").resolve()
    assert report.summary().splitlines()[1:] == [
        *(
            f"note {feed}:{n + 1}: indexed without a date: published: '2024-02-{30 + n}' is not "
            "a date like 2024-02-01 (day is out of range for month)"
            for n in range(5)
        ),
        f"note {feed}:6: ... and 3 more noted lines up to line 8 (indexed without a date: 3)",
        f"note {md}: indexed without a date: published: '2024-13-45' is not a date like "
        "2024-02-01 (month must be in 1..12)",
    ]
    assert set(titles(tmp_path / "index")) == {f"a{n}" for n in range(8)} | {article_id(md)}
    with opened(tmp_path / "index") as index:
        assert {fetched(index, i)[0].published for i in index.catalogue()} == {""}


# --- files that fail after they were indexed: never a good article replaced by a failed one -------
FEED = [
    {"id": "f1", "title": "Ferry strike ends", "text": "The ferry strike ended. Boats sail again."},
    {
        "id": "f2",
        "title": "Museum reopens",
        "text": "The museum reopened on Monday. Queues formed.",
    },
    {
        "id": "f3",
        "title": "Snow closes pass",
        "text": "Snow closed the mountain pass. Cars waited.",
    },
]


def write_feed(path: Path, records: list[dict[str, str]] = FEED) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def notes(report: BuildReport, root: Path) -> list[str]:
    return [str(n).removeprefix(f"{root.resolve()}/") for n in report.notices]


def test_a_file_that_now_fails_keeps_its_earlier_articles(tmp_path: Path, embedder: Any) -> None:
    # Re-uploading a bad file under a good one's name removed the good article (207 -> 206).
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    write_feed(src / "feed.jsonl")
    build(src, index_dir, embedder)
    before = titles(index_dir)
    (src / "harbour.txt").write_bytes(b"\x00\x01 not text any more")
    (src / "feed.jsonl").write_text("{broken\n")
    report = build(src, index_dir, embedder)
    assert counts(report) == (0, 0, 2, 0, 3)
    assert titles(index_dir) == before
    because = ": it could not be read in full, and they may be in what failed"
    assert notes(report, src) == [
        f'feed.jsonl: kept its 3 earlier articles ("Ferry strike ends", "Museum reopens", '
        f'"Snow closes pass"){because}',
        f'harbour.txt: kept its 1 earlier article ("Harbour bridge reopens"){because}',
    ]
    assert report.summary().splitlines()[1:3] == [
        f"note {src.resolve()}/{n}" for n in notes(report, src)
    ]
    (src / "harbour.txt").unlink()  # gone for good: now it is removed
    assert counts(build(src, index_dir, embedder))[3] == 1


def test_a_broken_line_keeps_the_article_it_may_have_held(tmp_path: Path, embedder: Any) -> None:
    src, index_dir = tmp_path / "src", tmp_path / "index"
    src.mkdir()
    write_feed(src / "feed.jsonl")
    build(src, index_dir, embedder)
    lines = (src / "feed.jsonl").read_text().splitlines()
    (src / "feed.jsonl").write_text(f"{lines[0]}\n{lines[1][:-5]}\n{lines[2]}\n")
    report = build(src, index_dir, embedder)
    assert counts(report) == (0, 0, 2, 0, 1)
    assert sorted(titles(index_dir)) == ["f1", "f2", "f3"]
    assert notes(report, src) == [
        'feed.jsonl: kept its 1 earlier article ("Museum reopens"): it could not be read in '
        "full, and they may be in what failed"
    ]


def test_the_report_names_what_was_replaced(tmp_path: Path, embedder: Any) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    write_feed(src / "feed.jsonl")
    build(src, index_dir, embedder)
    (src / "harbour.txt").write_text("---\ntitle: Tunnel opens\n---\nA tunnel opened. Cars use it.")
    new = {"id": "f4", "title": "Bridge tolls fall", "text": "Tolls fell. Drivers cheered."}
    write_feed(src / "feed.jsonl", [FEED[0], new])
    (src / "library.txt").unlink()  # gone, not replaced: counted as removed
    report = build(src, index_dir, embedder)
    assert counts(report) == (1, 1, 2, 3, 0)
    assert notes(report, src) == [
        'feed.jsonl: replaced its 2 earlier articles ("Museum reopens", "Snow closes pass")',
        'harbour.txt: replaced its 1 earlier article ("Harbour bridge reopens")',
    ]
    assert report.articles_by_file == {
        str((src / name).resolve()): n
        for name, n in (("feed.jsonl", 2), ("harbour.txt", 1), ("orchard.md", 1))
    }


# --- segments: what a kill leaves behind, and folders that cannot be written ------------------
def test_a_segment_finished_but_never_published_is_removed(tmp_path: Path, embedder: Any) -> None:
    # A kill between renaming X.partial to X and replacing manifest.json leaves X behind, listed
    # by no manifest; the next build removes it and keeps the segments the manifests list.
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    build(src, index_dir, embedder)
    (src / "extra.txt").write_text("A first extra article. It is new.")
    build(src, index_dir, embedder)
    before = segment_ids(index_dir)
    orphan = index_dir / "segments" / "99991231T235959-orphan"
    shutil.copytree(index_dir / "segments" / before[-1], orphan)
    (src / "extra.txt").write_text("A second extra article. It changed.")
    assert counts(build(src, index_dir, embedder)) == (0, 1, 3, 0, 0)
    after = segment_ids(index_dir)
    assert after[:2] == before and len(after) == 3
    assert manifest(index_dir)["previous"] == before
    assert segment_folders(index_dir) == sorted(after)
    assert not orphan.exists()
    assert_consistent(index_dir)


def test_what_a_killed_build_left_is_removed_by_the_next_run(tmp_path: Path, embedder: Any) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    build(src, index_dir, embedder)
    before, stamp = segment_folders(index_dir), manifest_stamp(index_dir)
    left = index_dir / "segments" / "20240101T000000-dead00.partial"
    (left / "chroma").mkdir(parents=True)
    (left / "chroma" / "chroma.sqlite3").write_bytes(b"half written")
    (index_dir / ".manifest-dead00").write_text('{"half": ')
    saved_bm25 = sorted(p.name for p in (index_dir / "bm25").iterdir())
    (index_dir / "bm25" / ".dead00-0123abcd").mkdir()  # a BM25 save killed half-way
    (index_dir / "bm25" / "rows" / ".dead00-20240101T000000-dead00.npz").write_bytes(b"half")
    report = build(src, index_dir, embedder)  # nothing changed: nothing is published
    assert not report.changed
    assert segment_folders(index_dir) == before
    assert manifest_stamp(index_dir) == stamp
    assert sorted(p.name for p in index_dir.iterdir()) == [
        ".lock",
        "bm25",
        "manifest.json",
        "segments",
    ]
    assert sorted(p.name for p in (index_dir / "bm25").iterdir()) == saved_bm25
    assert [p.name for p in (index_dir / "bm25" / "rows").iterdir()] == [
        f"{before[0]}-{LAYOUT}.npz"
    ]
    assert_consistent(index_dir)


def test_a_segments_folder_that_cannot_be_written_is_one_clear_error(
    tmp_path: Path, embedder: Any
) -> None:
    # Works as root too (as in CI): no permission bits involved, the path itself is wrong.
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    index_dir.mkdir()
    (index_dir / "segments").write_text("a file where the segments folder should be")
    with pytest.raises(IndexProblem) as raised:
        build(src, index_dir, embedder)
    prefix = f"cannot write the index at {index_dir}: Not a directory ({index_dir}/segments/"
    assert str(raised.value).startswith(prefix), raised.value
    assert str(raised.value).endswith(".partial)")
    assert sorted(p.name for p in index_dir.iterdir()) == [".lock", "segments"]
    assert (index_dir / "segments").is_file()


def test_a_build_that_cannot_be_published_leaves_nothing_behind(
    tmp_path: Path, embedder: Any
) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"

    def block_the_manifest(stage: str, done: int, total: int) -> None:
        # While the build embeds, something takes the name of the manifest it will publish.
        (index_dir / "manifest.json").mkdir(exist_ok=True)
        (index_dir / "manifest.json" / "keep.txt").write_text("not ours")

    with pytest.raises(IndexProblem, match=f"cannot write the index at {index_dir}: "):
        build(src, index_dir, embedder, on_progress=block_the_manifest)
    assert segment_folders(index_dir) == []  # its segment was removed, finished or not
    assert (index_dir / "manifest.json" / "keep.txt").exists()
    names = [".lock", "bm25", "manifest.json", "segments"]
    assert sorted(p.name for p in index_dir.iterdir()) == names
    assert [p for p in (index_dir / "bm25").rglob("*") if p.is_file()] == []  # its BM25 too
