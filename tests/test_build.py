"""rebuild(): what the index holds, incremental updates, duplicates, settings, skipped inputs."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from index import store as store_module
from index.build import BuildReport, rebuild
from index.chunk import ChunkSettings
from index.lexical import open_lexical
from index.load import Article, load_file
from index.sentences import split_sentences
from index.store import IndexMismatch, IndexProblem, Store, open_index
from tests.shared import SAMPLE_ARTICLE

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


def current_target(index_dir: Path) -> str:
    return os.readlink(index_dir / "current")


def titles(index_dir: Path) -> dict[str, str]:
    store = open_index(index_dir)
    try:
        return {i: store.article(i).title for i in store.catalogue()}  # type: ignore[union-attr]
    finally:
        store.close()


def chunk_documents(store: Store, article: str) -> list[str]:
    return store.chunks.get(where={"article_id": article}, include=["documents"])["documents"]


def assert_consistent(index_dir: Path) -> None:
    """The counts of SQLite and Chroma match the manifest and every chunk has its article."""
    store = open_index(index_dir)
    try:
        manifest = store.manifest
        assert store.count("articles") == manifest["articles"]
        assert store.count("sentences") == manifest["sentences"]
        assert store.chunks.count() == manifest["chunks"]
        chunk_articles = {meta["article_id"] for _, _, meta in store.all_chunks()}
        assert chunk_articles == set(store.catalogue())
    finally:
        store.close()


# --- what an index holds --------------------------------------------------------------------
def test_sample_index_records_its_settings_and_counts(sample_index: Path) -> None:
    store = open_index(sample_index)
    try:
        manifest = store.manifest
        assert manifest["embedding_model"] == "all-MiniLM-L6-v2"
        assert manifest["chunking"] == {"max_chars": 700, "overlap": 1}
        assert (manifest["articles"], manifest["sentences"]) == (1, 36)
        assert manifest["chunks"] == store.chunks.count() > 1
    finally:
        store.close()
    assert_consistent(sample_index)


def test_any_article_and_any_sentence_can_be_fetched(sample_index: Path) -> None:
    (loaded,) = load_file(SAMPLE_ARTICLE.resolve())
    assert isinstance(loaded, Article)
    store = open_index(sample_index)
    try:
        article = store.article(loaded.id)
        assert article is not None
        assert (article.title, article.text, article.published, article.source) == (
            loaded.title,
            loaded.text,
            "2024-02-16",
            "VOA News",
        )
        sentences = [loaded.text[s.start : s.end] for s in store.sentences(loaded.id)]
        assert [s.n for s in store.sentences(loaded.id)] == list(range(36))
        assert sentences == [loaded.text[s.start : s.end] for s in split_sentences(loaded.text)]
        assert sentences[7] == (
            "Stoltenberg said he also expects the U.S. Congress to agree on a new support "
            "package for Ukraine after funding ran out in December."
        )
        assert store.sentences("no-such-article") == []
        assert store.article("no-such-article") is None
    finally:
        store.close()


def test_a_query_finds_the_chunk_that_answers_it(sample_index: Path, embedder: Any) -> None:
    store = open_index(sample_index)
    try:
        vector = embedder.embed_query("Which Russian navy ship did Ukraine destroy?")
        hits = store.chunks.query(query_embeddings=[vector], n_results=2)
        assert any("Caesar Kunikov" in d for d in hits["documents"][0])
        assert all(store.article(m["article_id"]) for m in hits["metadatas"][0])
    finally:
        store.close()


def test_the_same_articles_give_the_same_index(tmp_path: Path, embedder: Any) -> None:
    src = write_articles(tmp_path / "src")
    build(src, tmp_path / "one", embedder)
    build(src, tmp_path / "two", embedder)
    got = []
    for name in ("one", "two"):
        store = open_index(tmp_path / name)
        try:
            chunks = store.chunks.get(include=["documents"])
            sentences = {i: store.sentences(i) for i in store.catalogue()}
            got.append((sorted(zip(chunks["ids"], chunks["documents"], strict=True)), sentences))
        finally:
            store.close()
    assert got[0] == got[1]
    assert len(got[0][1]) == 3


def test_chunks_are_read_back_a_page_at_a_time(
    tmp_path: Path, embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chroma refuses one get() of ~32,000+ chunks; BM25 is built from pages of them.
    monkeypatch.setattr(store_module, "CHUNK_PAGE", 1)
    build(write_articles(tmp_path / "src"), tmp_path / "index", embedder)
    store = open_index(tmp_path / "index")
    try:
        every = store.chunks.get(include=[])["ids"]
        assert len(every) > 2 * store_module.CHUNK_PAGE
        assert sorted(c for c, _, _ in store.all_chunks()) == sorted(every)
        assert sorted(open_lexical(store.path).ids) == sorted(every)
    finally:
        store.close()


# --- incremental rebuilds -------------------------------------------------------------------
def test_unchanged_articles_cost_nothing(tmp_path: Path, embedder: Any) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    first = build(src, index_dir, embedder)
    assert counts(first) == (3, 0, 0, 0, 0)
    assert first.changed
    builds = sorted(p.name for p in (index_dir / "builds").iterdir())
    target = current_target(index_dir)

    second = build(src, index_dir, embedder)
    assert counts(second) == (0, 0, 3, 0, 0)
    assert not second.changed
    assert (second.articles, second.chunks) == (first.articles, first.chunks)
    assert sorted(p.name for p in (index_dir / "builds").iterdir()) == builds  # no new folder
    assert current_target(index_dir) == target


def test_changed_articles_are_replaced_and_gone_ones_removed(tmp_path: Path, embedder: Any) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    build(src, index_dir, embedder)
    harbour, library = article_id(src / "harbour.txt"), article_id(src / "library.txt")
    edited = ARTICLES["harbour.txt"].replace("eight months", "nine months")
    (src / "harbour.txt").write_text(edited, encoding="utf-8")
    (src / "library.txt").unlink()
    (src / "new.txt").write_text("A new park opened. Children played.", encoding="utf-8")

    report = build(src, index_dir, embedder)
    assert counts(report) == (1, 1, 1, 1, 0)
    store = open_index(index_dir)
    try:
        assert "nine months" in store.article(harbour).text  # type: ignore[union-attr]
        documents = chunk_documents(store, harbour)
        assert documents and all("eight months" not in d for d in documents)
        assert any("nine months" in d for d in documents)
        first = store.sentences(harbour)[0]
        assert store.article(harbour).text[first.start : first.end] == (  # type: ignore[union-attr]
            "The harbour bridge reopened on Thursday after nine months of repairs."
        )
        assert store.article(library) is None
        assert store.sentences(library) == [] and chunk_documents(store, library) == []
        assert report.articles == store.count("articles") == 3
    finally:
        store.close()
    assert_consistent(index_dir)


def test_a_new_title_is_an_update_too(tmp_path: Path, embedder: Any) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    build(src, index_dir, embedder)
    text = ARTICLES["orchard.md"].replace("Frost threatens", "Late frost threatens")
    (src / "orchard.md").write_text(text, encoding="utf-8")
    assert counts(build(src, index_dir, embedder)) == (0, 1, 2, 0, 0)
    orchard = article_id(src / "orchard.md")
    assert titles(index_dir)[orchard] == "Late frost threatens apple orchards"
    store = open_index(index_dir)
    try:
        metas = store.chunks.get(where={"article_id": orchard}, include=["metadatas"])
        assert [m["title"] for m in metas["metadatas"]] == ["Late frost threatens apple orchards"]
    finally:
        store.close()


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


def test_full_rebuilds_from_scratch(tmp_path: Path, embedder: Any) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    build(src, index_dir, embedder)
    target = current_target(index_dir)
    report = build(src, index_dir, embedder, full=True)
    assert counts(report) == (3, 0, 0, 0, 0)
    assert report.changed and current_target(index_dir) != target
    assert_consistent(index_dir)


def test_old_builds_are_pruned(tmp_path: Path, embedder: Any) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    for n in range(3):
        (src / "extra.txt").write_text(f"Version {n} of an extra article. It changes.")
        build(src, index_dir, embedder)
    builds = sorted((index_dir / "builds").iterdir())
    assert len(builds) == 2  # the current one and the one a reader may still hold
    assert not [b for b in builds if b.suffix == ".partial"]
    assert (index_dir / "current").resolve() in builds


def test_an_index_inside_a_source_folder_is_not_read_as_articles(
    tmp_path: Path, embedder: Any
) -> None:
    data = write_articles(tmp_path / "data")  # like `assistant index data` with data/index
    index_dir = data / "index"
    assert counts(build(data, index_dir, embedder)) == (3, 0, 0, 0, 0)
    report = build(data, index_dir, embedder)
    assert counts(report) == (0, 0, 3, 0, 0), report.summary()


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
    target = current_target(index_dir)
    with pytest.raises(IndexMismatch, match="max_chars.*assistant index --full"):
        build(src, index_dir, embedder, chunking=ChunkSettings(max_chars=300))
    with pytest.raises(
        IndexMismatch, match="other-model.*rebuild it with `assistant index --full`"
    ):
        build(src, index_dir, embedder, model="other-model")
    assert current_target(index_dir) == target

    report = build(src, index_dir, embedder, chunking=ChunkSettings(max_chars=300), full=True)
    assert report.added == 3
    store = open_index(index_dir)
    try:
        assert store.manifest["chunking"] == {"max_chars": 300, "overlap": 1}
        assert all(len(d) <= 300 for d in store.chunks.get(include=["documents"])["documents"])
    finally:
        store.close()


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


def test_one_build_at_a_time(tmp_path: Path, embedder: Any) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    index_dir.mkdir()
    with open(index_dir / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(IndexProblem, match="another build of .* is running"):
            build(src, index_dir, embedder)
    assert build(src, index_dir, embedder).added == 3


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
    store = open_index(tmp_path / "index")
    try:
        assert {store.article(i).published for i in store.catalogue()} == {""}  # type: ignore[union-attr]
    finally:
        store.close()


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


# --- build folders: what a kill leaves behind, and folders that cannot be written -------------
def build_folders(index_dir: Path) -> list[str]:
    return sorted(p.name for p in (index_dir / "builds").iterdir())


def test_a_build_published_but_never_made_current_does_not_replace_the_current_one(
    tmp_path: Path, embedder: Any
) -> None:
    # A kill between renaming X.partial to X and switching `current` leaves X behind, newer
    # than the current build; the next run deleted the current build and kept X.
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    build(src, index_dir, embedder)
    (src / "extra.txt").write_text("A first extra article. It is new.")
    build(src, index_dir, embedder)
    current = current_target(index_dir)
    orphan = index_dir / "builds" / "99991231T235959-orphan"
    shutil.copytree(index_dir / current, orphan)
    (src / "extra.txt").write_text("A second extra article. It changed.")
    assert counts(build(src, index_dir, embedder)) == (0, 1, 3, 0, 0)
    newest = current_target(index_dir)
    assert build_folders(index_dir) == sorted([Path(current).name, Path(newest).name])
    assert_consistent(index_dir)


def test_what_a_killed_build_left_is_removed_by_the_next_run(tmp_path: Path, embedder: Any) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    build(src, index_dir, embedder)
    before = build_folders(index_dir)
    left = index_dir / "builds" / "20240101T000000-dead00.partial"
    (left / "chroma").mkdir(parents=True)
    (left / "articles.sqlite3").write_bytes(b"half written")
    (index_dir / ".current-dead00").symlink_to(Path("builds") / left.name)
    report = build(src, index_dir, embedder)  # nothing changed: nothing is published
    assert not report.changed
    assert build_folders(index_dir) == before
    assert sorted(p.name for p in index_dir.iterdir()) == [".lock", "builds", "current"]


def test_a_builds_folder_that_cannot_be_written_is_one_clear_error(
    tmp_path: Path, embedder: Any
) -> None:
    # Works as root too (as in CI): no permission bits involved, the path itself is wrong.
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    index_dir.mkdir()
    (index_dir / "builds").write_text("a file where the builds folder should be")
    with pytest.raises(IndexProblem) as raised:
        build(src, index_dir, embedder)
    assert str(raised.value) == (
        f"cannot write the index at {index_dir}: File exists ({index_dir / 'builds'})"
    )


def test_a_build_that_cannot_be_published_leaves_nothing_behind(
    tmp_path: Path, embedder: Any
) -> None:
    src, index_dir = write_articles(tmp_path / "src"), tmp_path / "index"
    (index_dir / "current").mkdir(parents=True)  # a folder, not the link a build switches
    (index_dir / "current" / "keep.txt").write_text("not ours")
    with pytest.raises(IndexProblem, match=f"cannot write the index at {index_dir}: "):
        build(src, index_dir, embedder)
    assert build_folders(index_dir) == []
    assert sorted(p.name for p in index_dir.iterdir()) == [".lock", "builds", "current"]
    assert (index_dir / "current" / "keep.txt").exists()
