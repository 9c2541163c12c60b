"""The LLM path, with LangChain's fake chat models scripted at the seam."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

import prompts
from assistant.brief import brief
from assistant.chain import Assistant
from assistant.config import Settings
from assistant.llm import LLMUnavailable, load_chat_model
from assistant.question import Question
from assistant.result import Answer, Revision
from assistant.retrieve import Retrieval
from assistant.write import messages

QUESTION = Question.ask("What happened in Avdiivka?")


@pytest.fixture()
def found(sample_index: Path, embedder: object) -> Retrieval:
    return Assistant(sample_index, embedder).retrieve(QUESTION)  # type: ignore[arg-type]


def number_of(found: Retrieval, words: str) -> int:
    return next(c.n for c in found.context if words in c.text)


def write_with(sample_index: Path, embedder: object, found: Retrieval, reply: str) -> Answer:
    llm = FakeListChatModel(responses=[reply])
    *_, final = Assistant(sample_index, embedder, llm).write(found)  # type: ignore[arg-type]
    return final


def test_good_markers_are_kept_and_renumbered(
    sample_index: Path, embedder: object, found: Retrieval
) -> None:
    brigade, troops = number_of(found, "3rd Assault"), number_of(found, "50,000")
    reply = (
        f"The 3rd Assault Brigade was urgently redeployed to the Avdiivka area [{brigade}]. "
        f"Russia has about 50,000 troops on the Avdiivka front [{troops}]."
    )
    result = write_with(sample_index, embedder, found, reply)
    assert result.covered
    assert "3rd Assault Brigade" in result.citations[0].text
    assert "50,000" in result.citations[1].text
    assert result.text.endswith("[2]") and "[1]" in result.text


def test_markers_pointing_nowhere_are_dropped(
    sample_index: Path, embedder: object, found: Retrieval
) -> None:
    troops = number_of(found, "50,000")
    reply = f"Russia has placed about 50,000 troops on the Avdiivka front [99][{troops}]."
    result = write_with(sample_index, embedder, found, reply)
    assert "[99]" not in result.text
    assert [c.n for c in result.citations] == [1]
    assert "50,000" in result.citations[0].text


def test_wrong_marker_is_re_cited_to_the_supporting_sentence(
    sample_index: Path, embedder: object, found: Retrieval
) -> None:
    wrong = number_of(found, "3rd Assault")
    reply = f"Russia has placed about 50,000 troops on the Avdiivka front [{wrong}]."
    result = write_with(sample_index, embedder, found, reply)
    assert len(result.citations) == 1 and "50,000" in result.citations[0].text


def test_unsupported_sentence_is_removed(
    sample_index: Path, embedder: object, found: Retrieval
) -> None:
    troops = number_of(found, "50,000")
    reply = (
        f"Russia has placed about 50,000 troops on the Avdiivka front [{troops}]. "
        f"The Eiffel Tower was painted green by a famous chef last summer [{troops}]."
    )
    result = write_with(sample_index, embedder, found, reply)
    assert "Eiffel" not in result.text
    assert "50,000 troops" in result.text


def test_missing_markers_are_added(sample_index: Path, embedder: object, found: Retrieval) -> None:
    reply = "The 3rd Assault Brigade was urgently redeployed to strengthen troops in Avdiivka."
    result = write_with(sample_index, embedder, found, reply)
    assert result.text.endswith("[1]")
    assert "3rd Assault Brigade" in result.citations[0].text


def test_a_reply_with_nothing_supported_gives_the_extractive_answer(
    sample_index: Path, embedder: object, found: Retrieval
) -> None:
    # Whether the articles cover the question is decided by retrieval, not by the model.
    result = write_with(sample_index, embedder, found, "I cannot answer that.")
    extractive = Assistant(sample_index, embedder).chain.invoke(QUESTION)  # type: ignore[arg-type]
    assert result.covered
    assert (result.text, result.citations) == (extractive.text, extractive.citations)
    assert result.revisions == (
        Revision("dropped", "I cannot answer that.", "not supported by the sources"),
    )
    assert "quoted instead" in result.note


def test_streaming_yields_drafts_then_the_checked_answer(
    sample_index: Path, embedder: object
) -> None:
    llm = FakeListChatModel(responses=["placeholder"])
    assistant = Assistant(sample_index, embedder, llm)  # type: ignore[arg-type]
    troops = number_of(assistant.retrieve(QUESTION), "50,000")  # as the model sees the sources
    reply = f"Russia has about 50,000 troops on the Avdiivka front [{troops}]."
    llm.responses = [reply]
    versions = list(assistant.chain.stream(QUESTION))
    preview, drafts, final = versions[0], versions[1:-1], versions[-1]
    # the quoted answer comes at once, while the model writes
    quoted = Assistant(sample_index, embedder).chain.invoke(QUESTION)  # type: ignore[arg-type]
    assert preview.draft and preview.text == quoted.text
    assert len(drafts) > 2 and all(d.draft for d in drafts) and drafts[-1].text == reply
    # A draft's markers number the context: the cited sentence comes with it as it is written.
    assert [c.n for c in drafts[-1].citations] == [troops]
    assert "[" not in drafts[0].text and drafts[0].citations == ()
    assert not final.draft and final.text.endswith("[1]") and "50,000" in final.citations[0].text


def test_condense_rewrites_a_follow_up(sample_index: Path, embedder: object) -> None:
    llm = FakeListChatModel(responses=["How many Russian troops are on the Avdiivka front?"])
    assistant = Assistant(sample_index, embedder, llm)  # type: ignore[arg-type]
    found = assistant.retrieve(
        Question.ask("How many troops are there?", [{"role": "user", "content": "Avdiivka?"}])
    )
    assert found.query == "How many Russian troops are on the Avdiivka front?"
    assert "50,000" in found.sentences[0].text


def test_every_prompt_renders_with_its_variables() -> None:
    assert set(prompts.names()) >= {
        "answer",
        "answer_instructions",
        "brief_instructions",
        "condense_question",
    }
    source = {"n": 1, "title": "T", "published": "2024-01-01", "text": "S."}
    filled = {
        "answer": {"sources": [source], "question": "Q?"},
        "answer_instructions": {},
        "brief_instructions": {},
        "condense_question": {"history": [{"role": "user", "content": "H"}], "question": "Q?"},
    }
    for name in prompts.names():
        text = prompts.render(name, **filled[name])
        assert ("Q?" in text or not filled[name]) and "{{" not in text and "{%" not in text
    with pytest.raises(KeyError, match="needs"):
        prompts.render("answer", question="Q?")


def test_an_open_question_asks_the_model_for_a_dated_brief_of_the_briefs_sentences(
    sample_index: Path, embedder: object
) -> None:
    assistant = Assistant(sample_index, embedder, FakeListChatModel(responses=["-"]))  # type: ignore[arg-type]
    found = assistant.retrieve(Question.ask("What happened in Avdiivka?"))
    assert found.subject is not None and found.query == "Avdiivka"
    system, human = messages(found, found.context)
    assert "news brief" in str(system.content) and "newest first" in str(system.content)
    # The model reads the brief's sentences, with their dates, the lead first.
    assert found.context[0].text == brief(found.sentences, 10_000)[0].text
    # As many as fit the model's budget, not the six of a quoted brief.
    assert len(found.context) > 6 and sum(len(c.text) for c in found.context) <= 2000
    assert "(Zelenskyy in Paris" in str(human.content) and "2024-02-16)" in str(human.content)
    specific = assistant.retrieve(Question.ask("How many troops does Russia have there?"))
    assert "news brief" not in str(messages(specific, specific.context)[0].content)


def test_llm_spec_errors_are_clear() -> None:
    assert load_chat_model(Settings(llm="")) is None
    assert load_chat_model(Settings(llm="extractive")) is None
    with pytest.raises(LLMUnavailable, match="provider:model"):
        load_chat_model(Settings(llm="gpt4"))
    with pytest.raises(LLMUnavailable, match="nosuchprovider"):
        load_chat_model(Settings(llm="nosuchprovider:model"))


def test_eval_reports_what_the_check_did_to_written_answers(
    sample_index: Path, embedder: object, tmp_path: Path
) -> None:
    from assistant.evaluate import report, run

    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"question": "How many troops does Russia have near Avdiivka?", "answer": "50,000"}\n'
    )
    reply = (
        "Russia has placed about 50,000 troops on the Avdiivka front. "
        "The Eiffel Tower was painted green by a famous chef."
    )
    llm = FakeListChatModel(responses=[reply])
    assistant = Assistant(sample_index, embedder, llm)  # type: ignore[arg-type]
    outcomes = run(assistant, questions)
    assert outcomes[0].in_text and outcomes[0].in_citations
    printed = report(outcomes, assistant.context_chars)
    assert "answer in context (2,000 chars): 1.000" in printed
    assert (
        "written answers: 1, quoted instead 0; sentences kept 1, re-cited 1, dropped 1" in printed
    )
    assert "kept with a number or name absent from their citations: 0" in printed
