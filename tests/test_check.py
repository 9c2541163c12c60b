"""The check of written answers: facts must be in the cited sentences, meaning close to them."""

from __future__ import annotations

import pytest

from assistant.check import agree, check, facts, fragment, missing
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


COLORADO = (
    "The Supreme Court ruled that Colorado could not use the Constitution's insurrection clause"
    " to keep former President Donald Trump off its ballot."
)
STATE_COURT = (
    "The Colorado Supreme Court ruled in December that Colorado could use the Constitution's"
    " insurrection clause to keep former President Donald Trump off its ballot."
)
POLAR = [
    COLORADO,
    "Nikki Haley is no longer in the race for the Republican presidential nomination.",
    "The senator refused to answer questions about the border bill on Tuesday.",
    "Crossings at the U.S.-Mexico border fell sharply in January, officials said.",
]
OPPOSITE = "the cited sentence says the opposite"
FRAGMENT = "a fragment, not a sentence"


def cited(texts: list[str]) -> list[Citation]:
    return [
        Citation(n, f"p{n}", "T", "", "2024-03-04", "S", text, 0, len(text))
        for n, text in enumerate(texts, start=1)
    ]


def test_a_sentence_saying_the_opposite_of_its_source_is_dropped(embedder: object) -> None:
    draft = (
        "The Supreme Court ruled that Colorado could use an insurrection provision of the"
        " Constitution to block former President Donald Trump from the ballot [1]."
    )
    checked = check(draft, cited(POLAR), embedder)  # type: ignore[arg-type]
    assert checked.text == "" and checked.dropped == ((draft[:-5] + ".", OPPOSITE),)


def test_a_sentence_saying_the_opposite_is_re_cited_to_a_source_that_agrees(
    embedder: object,
) -> None:
    draft = (
        "The Supreme Court ruled that Colorado could use an insurrection provision of the"
        " Constitution to block former President Donald Trump from the ballot [1]."
    )
    checked = check(draft, cited(POLAR + [STATE_COURT]), embedder)  # type: ignore[arg-type]
    assert [c.text for c in checked.citations] == [STATE_COURT]
    assert checked.recited == ((draft[:-5] + ".", OPPOSITE),)


@pytest.mark.parametrize(
    "draft",
    [
        "Nikki Haley is still in the race for the Republican presidential nomination [2].",
        "The senator answered questions about the border bill [3].",
    ],
)
def test_no_longer_and_refused_are_not_read_as_their_opposite(embedder: object, draft: str) -> None:
    checked = check(draft, cited(POLAR), embedder)  # type: ignore[arg-type]
    assert checked.text == "" and checked.dropped == ((draft[:-5] + ".", OPPOSITE),)


@pytest.mark.parametrize(
    "draft, source",
    [
        ("The senator would not answer questions about the border bill [3].", 3),
        ("Nikki Haley is no longer running for the Republican presidential nomination [2].", 2),
        (
            "The Supreme Court said Colorado could not use the insurrection clause to keep"
            " Donald Trump off its ballot [1].",
            1,
        ),
    ],
)
def test_a_denial_that_agrees_with_its_source_is_kept(
    embedder: object, draft: str, source: int
) -> None:
    checked = check(draft, cited(POLAR), embedder)  # type: ignore[arg-type]
    assert checked.dropped == () and checked.recited == ()
    assert [c.text for c in checked.citations] == [POLAR[source - 1]]


@pytest.mark.parametrize(
    "claim, source, same",
    [
        ("Police said the man was 45.", "Police did not name the man, but said he was 45.", True),
        ("Trump said it was a big win.", "Trump, who was not there, said it was a big win.", True),
        ("The mayor did not resign.", "The mayor resigned on Friday.", False),
        ("Two people were hurt in the fire.", "Nobody was hurt in the fire.", False),
        (
            "The senator answered questions.",
            "The senator did not refuse to answer questions.",
            True,
        ),
        ("Biden will decide whether or not to run.", "Biden will decide whether to run.", True),
        ("The airport reopened.", "The airport reopened but the port did not reopen.", True),
    ],
)
def test_what_counts_as_saying_the_opposite(claim: str, source: str, same: bool) -> None:
    assert agree(claim, source) is same


@pytest.mark.parametrize(
    "claim, is_fragment",
    [
        ("-Mexico border.", True),
        ("Mexico border.", True),
        ("Crossings at the border fell.", False),
        ("“We will fight on,” he said.", False),
        ("5 people died there.", False),
    ],
)
def test_a_fragment_is_not_a_sentence(claim: str, is_fragment: bool) -> None:
    assert fragment(claim) is is_fragment


def test_a_fragment_is_never_kept(embedder: object) -> None:
    whole = "Crossings at the U.S.-Mexico border fell sharply in January [4]."
    checked = check("-Mexico border fell sharply in January [4]. " + whole, cited(POLAR), embedder)  # type: ignore[arg-type]
    assert checked.dropped == (("-Mexico border fell sharply in January.", FRAGMENT),)
    assert checked.text == whole[:-5] + ". [1]"


def test_a_line_break_inside_a_hyphenated_name_does_not_split_the_sentence(
    embedder: object,
) -> None:
    draft = "Crossings at the U.S.\n-Mexico border fell sharply in January [4]."
    checked = check(draft, cited(POLAR), embedder)  # type: ignore[arg-type]
    assert checked.dropped == ()
    assert checked.text == "Crossings at the U.S.-Mexico border fell sharply in January. [1]"


@pytest.mark.parametrize(
    "text, sentences",
    [
        (
            "Crossings fell at the U.S.\n-Mexico border [1].",
            ["Crossings fell at the U.S.-Mexico border."],
        ),
        (
            "Crossings fell at the U.S.-\nMexico border [1].",
            ["Crossings fell at the U.S.-Mexico border."],
        ),
        (
            "They met at the U. S.-Mexico border [1]. Biden spoke [2].",
            ["They met at the U. S.-Mexico border.", "Biden spoke."],
        ),
        (
            "- Crossings fell [1].\n- Abbott sent troops [2].",
            ["Crossings fell.", "Abbott sent troops."],
        ),
        (
            "1. Crossings fell [1].\n2. Abbott sent troops [2].",
            ["Crossings fell.", "Abbott sent troops."],
        ),
    ],
)
def test_an_answer_is_not_split_inside_a_hyphenated_word(text: str, sentences: list[str]) -> None:
    from assistant.citations import marked_sentences

    assert [claim for claim, _ in marked_sentences(text)] == sentences
