"""`assistant ask` and `assistant eval` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main


def test_ask_prints_the_answer_and_numbered_sources(
    sample_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "What happened in Avdiivka?", "--index-dir", str(sample_index)]) == 0
    out = capsys.readouterr().out
    answer, _, sources = out.partition("\n\n")
    assert "[1]" in answer and "Avdiivka" in answer
    assert sources.startswith("[1] Zelenskyy in Paris")
    assert "(VOA News, 2024-02-16)" in sources
    assert "\u201c" in sources  # each cited sentence is quoted under its source


def test_ask_json_is_the_answer(sample_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["ask", "What happened in Avdiivka?", "--json", "--index-dir", str(sample_index)])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["covered"] is True
    article = (Path(__file__).parent.parent / "data/articles/avdiivka-2024-02-16.txt").read_text()
    body = article.split("---\n", 2)[2]
    for c in data["citations"]:
        assert body[c["start"] : c["end"]] == c["text"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["   "], "question is empty"),
        (["\u200b\u200b"], "question is empty"),
        (["Avdiivka\udcff?"], "not valid text"),  # invalid UTF-8 on the command line
        (["Avdiivka?", "--as-of", "soon"], "as_of: 'soon' is not a date"),
        (["Avdiivka?", "--since", "2024-13-45"], "since: '2024-13-45' is not a date"),
        (["Avdiivka?", "--since", "2024-03-01", "--until", "2024-02-01"], "after until"),
    ],
)
def test_ask_bad_input_exits_2(
    sample_index: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["ask", *args, "--index-dir", str(sample_index)]) == 2
    assert message in capsys.readouterr().err


def test_ask_without_index_says_how_to_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "Anything?", "--index-dir", str(tmp_path / "none")]) == 2
    assert "assistant index" in capsys.readouterr().err


def test_eval_on_a_tiny_question_file(
    sample_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    questions = tmp_path / "q.jsonl"
    rows = [
        {
            "question": "How many troops has Russia placed on the Avdiivka front?",
            "answer": "50,000",
        },
        {"question": "Which Russian landing ship was destroyed?", "answer": "Caesar Kunikov"},
        {"question": "Who won the 2022 World Cup?", "answer": "Argentina"},
    ]
    questions.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert main(["eval", str(questions), "--index-dir", str(sample_index)]) == 0
    out = capsys.readouterr().out
    assert "n=   3" in out
    assert "answer in context (4,000 chars): 0.667" in out
    assert "not covered: 0.333" in out
    assert "citations failing the offset check: 0" in out and "p95" in out


def test_eval_names_a_broken_line(
    sample_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "Q?", "answer": "A"}\n{broken\n')
    assert main(["eval", str(questions), "--index-dir", str(sample_index)]) == 2
    assert "q.jsonl:2: invalid JSON" in capsys.readouterr().err
