"""Loaders: txt/md with front matter, html, jsonl(.gz); one clear line for every bad input."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from index import jsonl as jsonl_module
from index.feeds import read_page
from index.load import Article, Skipped, load, load_file
from tests.shared import REPO, SAMPLE_ARTICLE

PAGE = """<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Harbour bridge reopens after repairs | Example News</title>
<meta property="og:title" content="Harbour bridge reopens after repairs">
<meta property="og:site_name" content="Example News">
<meta property="og:url" content="https://news.example.org/2024/03/harbour-bridge">
<meta property="article:published_time" content="2024-03-14T09:30:00Z">
</head><body>
<nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article>
<h1>Harbour bridge reopens after repairs</h1>
<p>The harbour bridge reopened to traffic on Thursday after eight months of repairs.</p>
<p>City engineers said the work cost about 3.5 million dollars, less than budgeted.</p>
<p>“We are glad to have it back,” said Mayor Ana Ruiz, who drove across at 7 a.m.</p>
<p>Ferry operators said they would return to their usual timetable next week.</p>
</article>
<footer>Copyright Example News. All rights reserved.</footer>
</body></html>
"""


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def jsonl(*records: object) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def read(*sources: Path) -> tuple[list[Article], list[Skipped]]:
    items = list(load(sources))
    return (
        [i for i in items if isinstance(i, Article)],
        [i for i in items if isinstance(i, Skipped)],
    )


def only_skip(path: Path) -> str:
    """The one line a single bad input is reported with."""
    articles, skipped = read(path)
    assert articles == []
    assert len(skipped) == 1, skipped
    line = str(skipped[0])
    assert "\n" not in line
    return line


# --- good inputs ---------------------------------------------------------------------------
def test_txt_front_matter_gives_metadata_and_the_body_is_the_text() -> None:
    (article,) = load_file(SAMPLE_ARTICLE.resolve())
    assert isinstance(article, Article)
    assert article.title.startswith("Zelenskyy in Paris for security pact")
    assert article.source == "VOA News"
    assert article.published == "2024-02-16"
    assert article.path == str(SAMPLE_ARTICLE.resolve())
    body = SAMPLE_ARTICLE.read_text(encoding="utf-8").split("---\n", 2)[2]
    assert article.text == body.strip()
    assert "license:" not in article.text and "title:" not in article.text


def test_ids_are_deterministic() -> None:
    first = list(load([SAMPLE_ARTICLE]))
    second = list(load([SAMPLE_ARTICLE]))
    assert first == second
    assert len(first[0].id) == 12  # type: ignore[union-attr]


def test_txt_without_front_matter_is_titled_after_its_file(tmp_path: Path) -> None:
    path = write(tmp_path / "city-council_vote.txt", "The council voted on Monday. It passed.\n")
    (article,) = load_file(path)
    assert isinstance(article, Article)
    assert article.title == "City council vote"
    assert article.text == "The council voted on Monday. It passed."
    assert article.published == ""


def test_markdown_is_titled_after_its_first_heading(tmp_path: Path) -> None:
    path = write(
        tmp_path / "note.md", "# Floods close the coast road\n\nThe road closed. It rained."
    )
    (article,) = load_file(path)
    assert isinstance(article, Article)
    assert article.title == "Floods close the coast road"


def test_front_matter_id_url_and_date_are_used(tmp_path: Path) -> None:
    text = "---\nid: story-1\nurl: https://example.org/a\ndate: 2024/01/05\n---\nBody. More."
    (article,) = load_file(write(tmp_path / "a.md", text))
    assert isinstance(article, Article)
    assert (article.id, article.url, article.published) == (
        "story-1",
        "https://example.org/a",
        "2024-01-05",
    )


def test_html_is_read_through_its_article_text_and_metadata(tmp_path: Path) -> None:
    (article,) = load_file(write(tmp_path / "bridge.html", PAGE))
    assert isinstance(article, Article)
    assert article.title == "Harbour bridge reopens after repairs"
    assert article.url == "https://news.example.org/2024/03/harbour-bridge"
    assert article.published == "2024-03-14"
    assert article.source == "Example News"
    assert "about 3.5 million dollars" in article.text
    assert "Home" not in article.text and "All rights reserved" not in article.text


def test_jsonl_text_is_kept_exactly_as_given(tmp_path: Path) -> None:
    text = "\n  Lead paragraph. Second sentence.\n\nNext paragraph…  \n"
    record = {
        "id": "abc123",
        "title": "  A   spaced\ntitle ",
        "url": "https://example.org/x",
        "published": "2024-01-12T10:00:00",
        "source": "Wire",
        "text": text,
    }
    path = write(tmp_path / "corpus.jsonl", jsonl(record))
    (article,) = load_file(path)
    assert isinstance(article, Article)
    assert article.text == text  # offsets index this string, so not even white space changes
    assert article.title == "A spaced title"
    assert article.published == "2024-01-12"
    assert (article.id, article.url, article.source, article.line) == (
        "abc123",
        "https://example.org/x",
        "Wire",
        1,
    )


def test_jsonl_without_id_gets_a_stable_one_from_its_url_or_text(tmp_path: Path) -> None:
    records = [
        {"url": "https://example.org/one", "text": "One. Two."},
        {"text": "Three. Four."},
    ]
    path = write(tmp_path / "x.jsonl", jsonl(*records))
    first, second = load_file(path)
    again = list(load_file(path))
    assert isinstance(first, Article) and isinstance(second, Article)
    assert [first.id, second.id] == [a.id for a in again if isinstance(a, Article)]
    assert first.id != second.id
    moved = write(tmp_path / "other" / "y.jsonl", jsonl(records[1], records[0]))
    assert {a.id for a in load_file(moved) if isinstance(a, Article)} == {first.id, second.id}


def test_gzipped_jsonl_is_read(tmp_path: Path) -> None:
    raw = jsonl({"id": "g1", "title": "Zipped", "text": "Inside a gzip file. Yes."})
    path = write(tmp_path / "c.jsonl.gz", gzip.compress(raw.encode()))
    (article,) = load_file(path)
    assert isinstance(article, Article)
    assert (article.id, article.title, article.text) == ("g1", "Zipped", "Inside a gzip file. Yes.")


def test_folders_are_read_recursively_in_order_and_hidden_files_are_ignored(
    tmp_path: Path,
) -> None:
    write(tmp_path / "b.txt", "Bee. Buzz.")
    write(tmp_path / "sub" / "a.txt", "Ant. March.")
    write(tmp_path / ".hidden.txt", "Secret. Words.")
    write(tmp_path / ".git" / "c.txt", "Repo. Data.")
    articles, skipped = read(tmp_path)
    assert [a.text for a in articles] == ["Bee. Buzz.", "Ant. March."]
    assert skipped == []


BAD_DATES = [
    ("2024-13-45", "month must be in 1..12"),
    ("2024-02-30", "day is out of range for month"),
    ("20240301", ""),
    ("2024", ""),
]


@pytest.mark.parametrize(("value", "why"), BAD_DATES)
def test_a_malformed_date_in_jsonl_leaves_the_article_undated(
    tmp_path: Path, value: str, why: str
) -> None:
    # These were rewritten to another day (2024-01-01, 2024-02-01): never invent a date.
    record = {"id": "a", "title": "T", "published": value, "text": "One. Two."}
    (article,) = load_file(write(tmp_path / "feed.jsonl", jsonl(record)))
    assert isinstance(article, Article)
    assert article.published == ""
    because = f" ({why})" if why else ""
    assert article.notes == (
        f"indexed without a date: published: {value!r} is not a date like 2024-02-01{because}",
    )


@pytest.mark.parametrize(("value", "why"), BAD_DATES)
def test_a_malformed_date_in_front_matter_leaves_the_article_undated(
    tmp_path: Path, value: str, why: str
) -> None:
    # YAML itself refused 2024-13-45 and skipped the whole article as invalid front matter.
    path = write(tmp_path / "a.md", f"---\ntitle: T\ndate: {value}\n---\nOne. Two.")
    (article,) = load_file(path)
    assert isinstance(article, Article)
    assert (article.title, article.text, article.published) == ("T", "One. Two.", "")
    assert len(article.notes) == 1
    assert article.notes[0].startswith("indexed without a date: date: ")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2024-01-12", "2024-01-12"), ("2024/01/12", "2024-01-12"),
     ("2024-01-12T10:00:00+01:00", "2024-01-12"), ("'2024-01-12'", "2024-01-12"), ("", "")],
)  # fmt: skip
def test_front_matter_dates_are_read(tmp_path: Path, value: str, expected: str) -> None:
    (article,) = load_file(write(tmp_path / "a.md", f"---\npublished: {value}\n---\nOne. Two."))
    assert isinstance(article, Article)
    assert (article.published, article.notes) == (expected, ())


# --- bad inputs: one clear line each, naming the file (and line) and the reason ---------------
def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.txt", "")
    assert only_skip(path) == f"{path}: empty file"
    assert (
        only_skip(write(tmp_path / "blank.md", "  \n\n\t"))
        == f"{tmp_path / 'blank.md'}: empty file"
    )


def test_binary_file(tmp_path: Path) -> None:
    path = write(tmp_path / "photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert only_skip(path) == f"{path}: binary file (contains NUL bytes), not text"


def test_invalid_utf8(tmp_path: Path) -> None:
    path = write(tmp_path / "latin1.txt", "Café au lait. Très bon.".encode("latin-1"))
    assert only_skip(path) == f"{path}: not valid UTF-8 (byte 0xe9 at offset 3)"


def test_file_with_front_matter_but_no_text(tmp_path: Path) -> None:
    path = write(tmp_path / "stub.md", "---\ntitle: Coming soon\n---\n\n")
    assert only_skip(path) == f"{path}: article has no text"


def test_invalid_front_matter_is_reported_on_one_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.md", "---\ntitle: [unclosed\n---\nBody. Text.")
    line = only_skip(path)
    assert line.startswith(f"{path}: invalid front matter (")


def test_html_without_article_text(tmp_path: Path) -> None:
    page = "<html><head><title>x</title></head><body><script>var a = 1;</script></body></html>"
    path = write(tmp_path / "blank.html", page)
    assert only_skip(path) == f"{path}: no article text found in the HTML"


def test_unknown_extension(tmp_path: Path) -> None:
    path = write(tmp_path / "report.pdf", b"%PDF-1.7 not really")
    line = only_skip(path)
    assert line.startswith(f"{path}: unsupported file type '.pdf' (.txt, .md,")
    assert only_skip(write(tmp_path / "README", "Text. More.")).endswith(
        "unsupported file type '(none)' (.txt, .md, .markdown, .html, .htm, .jsonl, .jsonl.gz)"
    )


def test_twenty_megabyte_article(tmp_path: Path) -> None:
    sentence = "This sentence is repeated until the file is twenty megabytes long. "
    path = write(tmp_path / "huge.txt", sentence * (20_000_000 // len(sentence)))
    assert only_skip(path) == f"{path}: too large for one article (20.0 MB; the limit is 5 MB)"


def test_twenty_megabyte_jsonl_line_skips_only_that_line(tmp_path: Path) -> None:
    huge = {"id": "huge", "title": "Huge", "text": "Word. " * 3_400_000}
    path = write(tmp_path / "c.jsonl", jsonl({"id": "ok", "text": "Fine. Short."}, huge))
    articles, skipped = read(path)
    assert [a.id for a in articles] == ["ok"]
    assert [str(s) for s in skipped] == [
        f"{path}:2: too large for one article (20.4 MB; the limit is 5 MB)"
    ]


def test_broken_jsonl_lines_name_their_line_and_the_rest_is_read(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "a", "title": "First", "text": "One. Two."}),
        '{"id": "b", "text": "unterminated',
        "",
        json.dumps(["not", "an", "object"]),
        json.dumps({"id": "c", "title": "No text", "text": "   "}),
        json.dumps({"id": "d", "title": "Text is not a string", "text": 42}),
        '{"id": "e", "text": "bad byte \xff here"}',
        json.dumps({"id": "f", "title": "Last", "text": "Five. Six."}),
    ]
    raw = "\n".join(lines).encode("utf-8").replace("\xff".encode(), b"\xff")
    path = write(tmp_path / "mixed.jsonl", raw)
    articles, skipped = read(path)
    assert [(a.id, a.line) for a in articles] == [("a", 1), ("f", 8)]
    assert [str(s) for s in skipped] == [
        f"{path}:2: invalid JSON (Unterminated string starting at column 21)",
        f"{path}:4: expected a JSON object with a 'text' field",
        f"{path}:5: article has no text",
        f"{path}:6: article has no text",
        f"{path}:7: not valid UTF-8 (byte 0xff at offset 30)",
    ]


def test_empty_jsonl_and_broken_gzip(tmp_path: Path) -> None:
    empty = write(tmp_path / "empty.jsonl", "\n\n")
    assert only_skip(empty) == f"{empty}: empty file"
    broken = write(tmp_path / "broken.jsonl.gz", b"this is not gzip data")
    assert only_skip(broken).startswith(f"{broken}: not a valid gzip file (")


def test_missing_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere"
    assert only_skip(path) == f"{path}: no such file or folder"


def test_broken_symlink_in_a_folder_is_reported_not_dropped(tmp_path: Path) -> None:
    write(tmp_path / "src" / "good.txt", "Good. Text.")
    link = tmp_path / "src" / "gone.txt"
    link.symlink_to(tmp_path / "deleted.txt")
    articles, skipped = read(tmp_path / "src")
    assert [a.text for a in articles] == ["Good. Text."]
    assert [str(s) for s in skipped] == [
        f"{link}: broken symbolic link (its target {tmp_path / 'deleted.txt'} does not exist)"
    ]
    # Named directly, it is reported the same way.
    assert only_skip(link).startswith(f"{link}: broken symbolic link")


def test_named_pipe_is_reported_and_never_read(tmp_path: Path) -> None:
    # Reading a FIFO would block for ever: the loader must not even open it.
    write(tmp_path / "src" / "good.txt", "Good. Text.")
    fifo = tmp_path / "src" / "feed.txt"
    os.mkfifo(fifo)
    articles, skipped = read(tmp_path / "src")
    assert [a.text for a in articles] == ["Good. Text."]
    assert [str(s) for s in skipped] == [f"{fifo}: not a regular file (a named pipe)"]
    assert only_skip(fifo) == f"{fifo}: not a regular file (a named pipe)"


@pytest.mark.skipif(
    os.geteuid() == 0,
    reason="runs as root (as in CI), and chmod 000 does not stop root from reading; "
    "unreadable entries are covered by the broken-symlink and FIFO tests",
)
def test_file_without_read_permission(tmp_path: Path) -> None:
    path = write(tmp_path / "src" / "locked.txt", "Secret. Text.")
    write(tmp_path / "src" / "open.txt", "Open. Text.")
    path.chmod(0)
    folder = write(tmp_path / "src" / "closed" / "inner.txt", "Inner. Text.").parent
    folder.chmod(0)
    try:
        articles, skipped = read(tmp_path / "src")
    finally:
        path.chmod(0o644)
        folder.chmod(0o755)
    assert [a.text for a in articles] == ["Open. Text."]
    assert sorted(str(s) for s in skipped) == [
        f"{folder}: cannot read: permission denied",
        f"{path}: cannot read: Permission denied",
    ]


def test_bad_files_do_not_stop_the_good_ones(tmp_path: Path) -> None:
    write(tmp_path / "a-empty.txt", "")
    write(tmp_path / "b-binary.txt", b"\x00\x01\x02")
    write(tmp_path / "c-good.txt", "Good one. Fine.")
    write(tmp_path / "d-latin1.md", "Caf\xe9".encode("latin-1"))
    write(tmp_path / "e.jsonl", '{"id": "j1", "text": "From JSONL. Yes."}\n{oops\n')
    write(tmp_path / "f.docx", b"PK\x03\x04")
    articles, skipped = read(tmp_path)
    assert [a.text for a in articles] == ["Good one. Fine.", "From JSONL. Yes."]
    reasons = [(Path(s.path).name, s.line, s.reason.split(" (")[0]) for s in skipped]
    assert reasons == [
        ("a-empty.txt", None, "empty file"),
        ("b-binary.txt", None, "binary file"),
        ("d-latin1.md", None, "not valid UTF-8"),
        ("e.jsonl", 2, "invalid JSON"),
        ("f.docx", None, "unsupported file type '.docx'"),
    ]


# --- text that is not valid Unicode ------------------------------------------------------------
@pytest.mark.parametrize("name", ["text", "title", "url", "source", "id"])
def test_a_lone_surrogate_skips_only_its_article(tmp_path: Path, name: str) -> None:
    # JSON may escape half of a surrogate pair ("\ud800"); such a string cannot be stored.
    bad = {"id": "bad", "title": "Bad", "url": "https://x.org/b", "source": "Wire", "text": "A. B."}
    bad[name] += "\ud800"
    path = write(tmp_path / "feed.jsonl", jsonl({"id": "ok", "text": "Fine. Short."}, bad))
    articles, skipped = read(path)
    assert [a.id for a in articles] == ["ok"]
    at = len(bad[name]) - 1
    assert [str(s) for s in skipped] == [
        f"{path}:2: the {name} is not valid Unicode (a lone surrogate '\\ud800' at character {at})"
    ]


def test_a_jsonl_file_that_gives_no_article_is_skipped_as_a_whole(tmp_path: Path) -> None:
    # A file-level line (no line number) says nothing of the file was indexed.
    path = write(tmp_path / "feed.jsonl", jsonl({"id": "bad", "text": "Broken \udfff text."}))
    articles, skipped = read(path)
    assert articles == []
    assert [str(s) for s in skipped] == [
        f"{path}:1: the text is not valid Unicode (a lone surrogate '\\udfff' at character 7)",
        f"{path}: no article in it could be read",
    ]


def test_a_file_name_that_is_not_utf8_is_reported_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    write(folder / "good.txt", "Good. Text.")
    bad = os.path.join(os.fsencode(folder), b"caf\xe9.txt")
    with open(bad, "wb") as file:
        file.write(b"Named in Latin-1. Text.")
    articles, skipped = read(folder)
    assert [a.text for a in articles] == ["Good. Text."]
    assert [str(s) for s in skipped] == [
        f"{folder}/caf\\xe9.txt: the file name is not valid UTF-8; rename it"
    ]
    str(skipped[0]).encode("utf-8")  # printable


# --- size bounds of JSONL files -----------------------------------------------------------------
def test_a_gzip_that_expands_past_the_limit_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonl_module, "MAX_FILE_BYTES", 1_000_000)
    line = jsonl({"title": "Bomb", "text": "Boom. " * 100})
    path = write(tmp_path / "bomb.jsonl.gz", gzip.compress((line * 2000).encode()))  # 1.3 MB
    assert only_skip(path) == (
        f"{path}: expands to more than 1 MB, the limit for a JSONL file: "
        "split it into smaller files"
    )
    small = write(tmp_path / "small.jsonl.gz", gzip.compress((line * 1000).encode()))
    articles, skipped = read(small)
    assert (len(articles), len(skipped)) == (1000, 0)


def test_a_jsonl_file_past_the_limit_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonl_module, "MAX_FILE_BYTES", 1_000_000)
    line = jsonl({"title": "Big", "text": "Long. " * 100})
    path = write(tmp_path / "big.jsonl", line * 2000)
    assert only_skip(path) == (
        f"{path}: too large (1.3 MB; the limit for a JSONL file is 1 MB): "
        "split it into smaller files"
    )


def test_a_long_line_in_a_gzip_file_skips_only_that_line(tmp_path: Path) -> None:
    huge = {"id": "huge", "title": "Huge", "text": "Word. " * 1_000_000}
    raw = jsonl(huge, {"id": "ok", "text": "Fine. Short."}).encode()
    path = write(tmp_path / "c.jsonl.gz", gzip.compress(raw))
    articles, skipped = read(path)
    assert [a.id for a in articles] == ["ok"]
    assert [str(s) for s in skipped] == [
        f"{path}:1: too large for one article (6.0 MB; the limit is 5 MB)"
    ]


@pytest.mark.slow
def test_a_gzip_bomb_is_refused_in_little_memory(tmp_path: Path) -> None:
    # 1 MB of gzip that expands to 1 GB took the server from 1.1 to 3.2 GB.
    path = tmp_path / "bomb.jsonl.gz"
    line = jsonl({"title": "Bomb", "text": "Boom. " * 1000}).encode()
    with gzip.open(path, "wb", compresslevel=9) as bomb:
        for _ in range(1_000_000_000 // (len(line) * 1000)):
            bomb.write(line * 1000)
    assert path.stat().st_size < 10_000_000
    script = (  # VmHWM: this process's peak memory (getrusage would count its parent's too)
        "import re, sys; from index.load import load; "
        "print(*load([sys.argv[1]]), sep='\\n'); "
        "status = open('/proc/self/status').read(); "
        "print(int(re.search(r'VmHWM:\\s+(\\d+) kB', status)[1]) // 1024)"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, cwd=REPO
    )
    assert run.returncode == 0, run.stderr
    skip, peak_mb = run.stdout.splitlines()
    assert skip == f"{path}: expands to more than 100 MB, the limit for a JSONL file: " + (
        "split it into smaller files"
    )
    assert int(peak_mb) < 300, f"peak memory {peak_mb} MB"


def test_a_symlink_loop_is_reported_as_a_loop_not_a_missing_target(tmp_path: Path) -> None:
    write(tmp_path / "src" / "good.txt", "Good. Text.")
    (tmp_path / "src" / "self.txt").symlink_to("self.txt")
    (tmp_path / "src" / "ping.txt").symlink_to("pong.txt")
    (tmp_path / "src" / "pong.txt").symlink_to("ping.txt")
    (tmp_path / "src" / "sub").mkdir()
    (tmp_path / "src" / "sub" / "up").symlink_to("..")  # a folder link is not followed
    articles, skipped = read(tmp_path / "src")
    assert [a.text for a in articles] == ["Good. Text."]
    src = tmp_path / "src"
    assert [str(s) for s in skipped] == [
        f"{src}/ping.txt: symbolic link loop (it points to pong.txt, which leads back)",
        f"{src}/pong.txt: symbolic link loop (it points to ping.txt, which leads back)",
        f"{src}/self.txt: symbolic link loop (it points to self.txt, which leads back)",
    ]
    assert only_skip(src / "self.txt") == (
        f"{src}/self.txt: symbolic link loop (it points to self.txt, which leads back)"
    )


def test_hidden_characters_are_dropped_so_a_file_and_its_page_give_one_text(
    tmp_path: Path,
) -> None:
    """Soft hyphens, zero-width spaces, word joiners and byte-order marks do not show; left in,
    they split words ("decades\\xadlong" searched as two words) and make an article's text from
    a JSONL file differ from the same article's web page (read by trafilatura, which drops
    them), so it would be indexed twice. The title is cleaned as the text is."""
    paragraphs = [
        "A state judge rejected a decades\u00adlong bid to tap the aquifer on Monday.",
        "\u200bLarge hail is possible, the weather service said.\u2060",
        "Officials said the ruling can be appealed\ufeff within 30 days.",
        "The water district had sought permits to pump from the valley since the early 1990s.",
        "Ranchers and two tribes opposed the plan, saying wells and springs would dry up.",
    ]
    record = {
        "id": "aquifer",
        "title": "Judge\u200b rejects aquifer bid",
        "url": "https://news.example.org/aquifer",
        "published": "2024-03-14",
        "text": "\n\n".join(paragraphs),
    }
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    head = PAGE.split("<article>")[0].replace("Harbour bridge reopens after repairs", "{title}")
    page = head.format(title="Judge rejects aquifer bid") + (
        f"<article><h1>{record['title']}</h1>{body}</article>"
    )
    (article,) = read(write(tmp_path / "a.jsonl", jsonl(record)))[0]
    assert article.text == (
        "A state judge rejected a decadeslong bid to tap the aquifer on Monday.\n\n"
        "Large hail is possible, the weather service said.\n\n"
        "Officials said the ruling can be appealed within 30 days.\n\n"
        + "\n\n".join(paragraphs[3:])
    )
    assert article.title == "Judge rejects aquifer bid"
    from_page = read_page(page.encode(), record["url"], today=date(2024, 3, 15))
    assert from_page is not None
    assert from_page.text == article.text
