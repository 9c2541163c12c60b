"""`assistant ask` prints article text that a terminal shows, never acts on.

An article is untrusted input: an escape sequence in it must not clear the screen, retitle the
window or recolour the prompt of whoever reads the answer in a terminal.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.shared import REPO

OSC_TITLE = "\x1b]0;owned by the article\x07"  # sets the terminal window's title
ARTICLE = {
    "title": f"Quillbrook tram line {OSC_TITLE}opens to riders",
    "source": "Quillbrook \x9b31mGazette",  # C1 CSI: red from here on
    "published": "2024-03-01",
    "url": "https://example.org/tram\x1b[5m",
    "text": (
        "The Quillbrook tram line opened on Monday with twelve new stops.\x1b[2J "
        "The council said the Quillbrook tram line cost 40 million euros to build.\x07 "
        "Riders on the Quillbrook tram line praised the quiet carriages\x1b[1A\x1b[K and the "
        "\x08\x08frequent service.\r "
        "The mayor of Quillbrook rode the first tram at dawn \x1b[31mwearing red\x1b[0m. "
        "A ticket on the Quillbrook tram line costs two euros \x1bP+q544e\x1b\\for adults."
    ),
}
QUESTION = "What did the Quillbrook tram line cost?"


def controls(text: str) -> list[str]:
    """C0 controls but newline and tab, DEL and C1 controls (ESC, BEL, CSI ... among them)."""
    return [c for c in text if (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F]


@pytest.fixture(scope="module")
def hostile_index(tmp_path_factory: pytest.TempPathFactory, embedder: object) -> Path:
    from index.build import rebuild

    folder = tmp_path_factory.mktemp("hostile")
    (folder / "articles").mkdir()
    (folder / "articles" / "tram.jsonl").write_text(json.dumps(ARTICLE) + "\n")
    report = rebuild([folder / "articles"], folder / "index", embedder=embedder, progress=False)  # type: ignore[arg-type]
    assert report.added == 1, report.summary()
    return folder / "index"


def ask(index: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ask", QUESTION, "--index-dir", str(index), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )


def test_ask_prints_no_control_sequence_of_an_article(hostile_index: Path) -> None:
    done = ask(hostile_index)
    assert done.returncode == 0, done.stderr
    assert controls(done.stdout) == []
    out = done.stdout
    assert "40 million euros" in out and "twelve new stops" in out  # the answer and citations
    assert "[1] Quillbrook tram line opens to riders (Quillbrook Gazette, 2024-03-01)" in out
    assert "owned by the article" not in out  # the title command, not a word of the title
    assert "https://example.org/tram\n" in out
    assert "quiet carriages and the frequent service." in out
    assert "wearing red." in out and "two euros for adults." in out


def test_ask_json_escapes_the_controls_and_keeps_the_text(hostile_index: Path) -> None:
    done = ask(hostile_index, "--json")
    assert done.returncode == 0, done.stderr
    assert controls(done.stdout.replace("\n", "")) == []
    data = json.loads(done.stdout)  # the text as stored: offsets still point into it
    first = data["citations"][0]
    assert first["title"] == ARTICLE["title"] and first["source"] == ARTICLE["source"]
    for c in data["citations"]:
        assert c["text"] in ARTICLE["text"]


def test_shown_removes_what_a_terminal_acts_on_and_keeps_the_words() -> None:
    from assistant.cli import shown

    assert shown(ARTICLE["title"]) == "Quillbrook tram line opens to riders"
    assert shown("a\x1b]8;;https://x.test\x1b\\link\x1b]8;;\x1b\\ b") == "alink b"  # OSC 8, ST
    assert shown("no end \x1b]0;title") == "no end 0;title"  # unterminated: only ESC ] goes
    readable = "tab\tand\nnewline stay; é – “quotes” too"
    assert shown(readable) == readable
    assert controls(shown("".join(map(chr, range(0xA0))))) == []
