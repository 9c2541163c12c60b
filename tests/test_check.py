"""The check of written answers: facts must be in the cited sentences, meaning close to them."""

from __future__ import annotations

import pytest

from assistant.check import check, facts, missing
from assistant.citations import Citation

SOURCES = [
    "Senegal's outgoing president Macky Sall postponed the presidential election on Saturday.",
    "Russia launched 26 missiles and 30 drones at Ukraine overnight, the air force said.",
    "The painter Jamie Wyeth studied the works of Rembrandt van Rijn as a young man.",
    "About 1,200 people were evacuated from the flooded town of Oakridge on Friday.",
]


def sources() -> list[Citation]:
    return [
        Citation(n, f"a{n}", "T", "", "2024-02-10", "S", text, 0, len(text))
        for n, text in enumerate(SOURCES, start=1)
    ]


@pytest.mark.parametrize(
    "sentence, stated",
    [
        ("Russia launched twenty-six missiles.", {"26", "russia"}),
        ("About 1200 people left Oakridge in February.", {"1200", "oakridge", "february"}),
        ("Officials said the vote was postponed.", set()),  # a capitalised first word only
        ("The U.S. sent a dozen ships.", {"u.s", "12"}),
    ],
)
def test_facts_a_sentence_states(sentence: str, stated: set[str]) -> None:
    assert facts(sentence, " ".join(SOURCES)) == stated


def test_facts_are_found_whatever_the_spelling_of_numbers() -> None:
    assert missing({"26", "1200"}, "twenty-six missiles; 1,200 people") == set()
    assert missing({"36"}, "twenty-six missiles") == {"36"}
    assert missing({"12"}, "a budget of 12.5 billion") == {"12"}  # not a prefix of 12.5


def test_a_supported_sentence_is_kept_and_renumbered(embedder: object) -> None:
    draft = "Russia launched 26 missiles and 30 drones at Ukraine overnight [2]."
    checked = check(draft, sources(), embedder)  # type: ignore[arg-type]
    assert checked.text.endswith("[1]") and checked.citations[0].text == SOURCES[1]
    assert checked.recited == () and checked.dropped == ()


def test_a_name_the_cited_sentence_lacks_is_dropped(embedder: object) -> None:
    draft = "The outgoing president of Nigeria postponed the presidential election [1]."
    checked = check(draft, sources(), embedder)  # type: ignore[arg-type]
    assert checked.citations == () and checked.text == ""
    assert checked.dropped == ((draft[:-5] + ".", "“nigeria” is not in the sources"),)


def test_a_wrong_number_is_dropped(embedder: object) -> None:
    draft = "Russia launched 36 missiles and 30 drones at Ukraine overnight [2]."
    checked = check(draft, sources(), embedder)  # type: ignore[arg-type]
    assert checked.citations == () and "“36”" in checked.dropped[0][1]


def test_a_sentence_citing_the_wrong_source_is_re_cited(embedder: object) -> None:
    draft = "About 1,200 people were evacuated from Oakridge on Friday [1]."
    checked = check(draft, sources(), embedder)  # type: ignore[arg-type]
    assert [c.text for c in checked.citations] == [SOURCES[3]]
    assert checked.recited[0][1] == "“1200”, “friday”, “oakridge” are not in the cited sentence"


def test_a_sentence_without_a_marker_gets_one_or_goes(embedder: object) -> None:
    draft = "Macky Sall postponed the presidential election. The moon is made of cheese."
    checked = check(draft, sources(), embedder)  # type: ignore[arg-type]
    assert checked.text == "Macky Sall postponed the presidential election. [1]"
    assert checked.recited == (
        ("Macky Sall postponed the presidential election.", "no citation given"),
    )
    assert checked.dropped == (("The moon is made of cheese.", "not supported by the sources"),)


def test_markers_out_of_range_are_ignored(embedder: object) -> None:
    draft = "Russia launched 26 missiles and 30 drones at Ukraine [1000][2]."
    checked = check(draft, sources(), embedder)  # type: ignore[arg-type]
    assert "[1000]" not in checked.text and checked.text.endswith("[1]")
    assert [c.text for c in checked.citations] == [SOURCES[1]]


def test_markers_after_the_full_stop_belong_to_their_sentence() -> None:
    from assistant.citations import marked_sentences

    text = "Russia launched 26 missiles. [2] Sall postponed the vote [1][3]. No marker here."
    assert marked_sentences(text) == [
        ("Russia launched 26 missiles.", [2]),
        ("Sall postponed the vote.", [1, 3]),
        ("No marker here.", []),
    ]


def test_the_questions_own_words_are_premises_not_claims(embedder: object) -> None:
    question = "What did the painter study at the Brandywine River Museum?"
    draft = (
        "At the Brandywine River Museum, Jamie Wyeth studied the works of Rembrandt van Rijn [3]."
    )
    checked = check(draft, sources(), embedder, question)  # type: ignore[arg-type]
    assert checked.citations and checked.dropped == ()
    without = check(draft, sources(), embedder)  # type: ignore[arg-type]
    assert without.citations == () and "brandywine" in without.dropped[0][1]


def test_a_possessive_names_its_owner() -> None:
    assert facts("Senegal's president postponed the vote.", " Senegal") == {"senegal"}
    assert missing({"senegal"}, SOURCES[0]) == set()
