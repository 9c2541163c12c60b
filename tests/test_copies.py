"""Each story once, every outlet counted: copies of one wire story are indexed once
(index/copies.py) and the outlets that carried it are named with its citations."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from assistant import answer
from assistant.citations import Citation
from assistant.cli import main
from index import copies
from index.copies import find_copies, outlet, signature
from index.load import Article
from tests.test_build import (
    article_id,
    assert_consistent,
    build,
    counts,
    live_chunks,
    opened,
    write_articles,
)

# A fictional wire story, and the small edits outlets make to it.
WIRE = (
    "PORT ELLIS (AP) \u2014 The harbour bridge in Port Ellis reopened to traffic on Thursday after "
    "eight months of repairs, city officials said.\n\n"
    "Engineers replaced forty steel cables and resurfaced the whole deck, work that cost about "
    "3.5 million dollars, according to the city transport office.\n\n"
    "Mayor Clara Voss said the bridge carries about 22,000 vehicles a day and that its closure "
    "had doubled travel times for commuters who live on the northern shore.\n\n"
    "Ferry operators, who added extra crossings during the closure, will return to their usual "
    "timetable next week. The port authority said cargo trucks may use the bridge again from "
    "Monday.\n\n"
    "Inspectors found the corrosion during a routine check last spring. The city plans to "
    "inspect its two other bridges before the end of the year, Voss said.\n\n"
    "The bridge opened in 1961 and was last repaired in 1994, when its lamps and railings were "
    "replaced. A plaque unveiled on Thursday names the welders and painters who worked on it "
    "through the winter.\n"
)
DATELINE = WIRE.replace("PORT ELLIS (AP) \u2014", "PORT ELLIS \u2014")  # the dateline changed
LINE_ADDED = WIRE.replace(
    "Monday.\n\n", "Monday.\n\nValley drivers can expect shorter trips to the coast.\n\n"
)
QUESTION = "How much did the repairs of the Port Ellis harbour bridge cost?"
AS_OF = "2024-03-15"

# Two different stories of one outlet that share a long footer (most of their words).
FOOTER = "\n\n".join(
    [
        "More from the Harbor Gazette",
        "Council approves a new budget for the coastal parks.",
        "School board names a principal for the Elm Street academy.",
        "Fishing season opens early after a mild winter on the bay.",
        "Museum shows maps drawn by the first lighthouse keepers.",
        "Volunteers plant two hundred oaks along the river path.",
        "Night market returns to the old fish hall in June.",
        "Rowing club wins the regional cup for the third year.",
        "Library starts lending telescopes to young readers.",
        "Power cut leaves the western hills dark for six hours.",
        "Bakery on Quay Road celebrates fifty years of rye bread.",
        "Police ask drivers to slow down near the ferry terminal.",
        "Choir from the island sings at the cathedral on Sunday.",
        "Harbour master warns of fog on the northern channel this week.",
        "New cycle lanes open between the station and the beach.",
        "Primary school pupils raise money for the lifeboat crew.",
        "Farmers market moves to the square while the hall is repaired.",
        "Two seals rescued from fishing nets return to the sea.",
        "Council to vote on parking fees for the old town next month.",
        "Youth orchestra plays its first concert in the new theatre.",
        "Storm damages the roof of the sailing club on the east pier.",
        "Baker's dozen: the twelve best walks around the harbour.",
        "Recycling collection days change for the hill streets.",
        "Lighthouse opens its stairs to visitors for one weekend only.",
        "Postal workers on the islands vote to accept a new contract.",
        "Ferry company orders a quieter boat for the evening crossings.",
        "Old cinema on Harbour Street to show silent films again.",
        "The Harbor Gazette is an independent newspaper owned by its readers and staff. We have "
        "reported on the harbour, the islands and the valley towns since 1887, and every story "
        "we publish is checked by two editors before it goes online.",
        "Subscribe to the morning briefing to get the day's local news, tide tables, ferry times "
        "and weather in your inbox before seven o'clock, every day of the week.",
        "Comments are open to subscribers for three days after a story is published. Please keep "
        "them civil, stay on topic and use your real name; we remove personal attacks, "
        "advertising and anything that breaks the law.",
        "Found a mistake? Our corrections desk answers every message within one working day, and "
        "every correction is listed with its date at the foot of the story it changes.",
        "Tips and letters go to the newsroom at 12 Quay Road, or call the news desk from eight in "
        "the morning until ten at night. Photographs from readers are welcome too.",
    ]
)
LOTTERY = (
    "A ticket sold at a petrol station on Mill Lane won the weekend lottery jackpot of two "
    "million, the lottery company said on Monday. The winner has not come forward yet and has "
    "six months to claim the prize at the company's office in the city.\n\n" + FOOTER
)
CHOIR = (
    "The town choir will tour three cities in Norway this summer after raising the money for "
    "its travel at a concert in the cathedral last month. Its forty singers will perform old "
    "sea songs and two new works written for them by a local composer.\n\n" + FOOTER
)


def story(title: str, source: str, url: str, text: str, published: str = "2024-03-14") -> str:
    """A Markdown article with front matter."""
    return f"---\ntitle: {title}\npublished: {published}\nsource: {source}\nurl: {url}\n---\n{text}"


AP = story("Harbour bridge reopens", "AP", "https://apnews.example/harbour-bridge", WIRE)
PORT_TIMES = story(
    "Port Ellis bridge back open after eight months",  # another headline
    "Port Times",
    "https://porttimes.example/news/bridge",
    DATELINE,
)
VALLEY_POST = story(
    "Harbour bridge reopens", "Valley Post", "https://valleypost.example/bridge", LINE_ADDED
)
OTHER = {
    "library.txt": (
        "---\ntitle: City library extends its hours\npublished: 2024-03-15\n---\n"
        "The central library will stay open until 9 p.m. on weekdays from April. "
        "The council approved the change on Jan. 5 after a public survey.\n"
    )
}


def ids(src: Path, *names: str) -> list[str]:
    return [article_id(src / name) for name in names]


def outlets_of(index_dir: Path, article: str) -> tuple[str, ...]:
    with opened(index_dir) as index:
        return index.outlets(article)


def chunked(index_dir: Path) -> set[str]:
    """The articles that have chunks (embedded)."""
    with opened(index_dir) as index:
        return {meta["article_id"] for _, _, meta in live_chunks(index)}


def copy_of(index_dir: Path) -> dict[str, str]:
    with opened(index_dir) as index:
        return {i: e.copy_of for i, e in index.catalogue().items() if e.copy_of}


# --- the signature and the check -----------------------------------------------------------
def test_copies_are_told_from_stories_that_share_a_long_footer() -> None:
    for edited in (DATELINE, LINE_ADDED):
        assert copies.copies(WIRE, edited) and copies.copies(edited, WIRE)
    assert copies.copies(DATELINE, LINE_ADDED)
    # The footer makes most of the two stories' words: their similarity alone would merge them;
    # their openings (what each story says first) keep them apart.
    shared = copies.shingles(LOTTERY), copies.shingles(CHOIR)
    a, b = (set(s.tolist()) for s in shared)
    assert len(a & b) / len(a | b) >= copies.THRESHOLD
    assert not copies.copies(LOTTERY, CHOIR)
    assert not copies.copies(WIRE, LOTTERY)


def test_a_signature_is_stable_and_short_texts_have_none() -> None:
    first = signature(WIRE)
    assert first == signature(WIRE) and len(first) == 344  # 64 values of 32 bits, base64
    assert signature("Too short to tell. Only a few words.") == ""
    assert signature(WIRE) != signature(LOTTERY)


def test_the_finder_keeps_the_first_and_resolves_exact_copies_to_their_original() -> None:
    wire, dated, added, choir = (
        Article(i, "t", text, source=f"outlet {i}")
        for i, text in (("w", WIRE), ("d", DATELINE), ("l", LINE_ADDED), ("c", CHOIR))
    )
    found = find_copies([wire, dated, added, choir], {}, {}, {}, lambda _: None, {})
    assert found.originals == {"d": "w", "l": "w"}
    assert set(found.signatures) == {"w", "d", "l", "c"}
    # An exact copy of a copy is a copy of its original; an indexed one found by its signature.
    exact = Article("e", "t", DATELINE, source="outlet e")
    indexed, outlets = {"w": signature(WIRE)}, {"w": "outlet w"}
    found = find_copies([exact], indexed, {"e": "d"}, {"d": "w"}, {"w": WIRE}.get, outlets)
    assert found.originals == {"e": "w"}
    found = find_copies([dated], indexed, {}, {}, {"w": WIRE}.get, outlets)
    assert found.originals == {"d": "w"}
    older = {"w": ""}  # an older index's: no signature
    assert find_copies([dated], older, {}, {}, {"w": WIRE}.get, outlets).originals == {}
    # The same outlet's new version of a story is its own article (what it adds is found);
    # so is one whose outlet is not known.
    update = Article("u", "t", DATELINE, source="Outlet W")
    assert find_copies([update], indexed, {}, {}, {"w": WIRE}.get, outlets).originals == {}
    unknown = Article("x", "t", DATELINE)
    assert find_copies([unknown], indexed, {}, {}, {"w": WIRE}.get, outlets).originals == {}


def test_the_outlet_is_the_source_else_the_registered_domain() -> None:
    assert outlet("AP", "https://apnews.example/x") == "AP"
    assert outlet("", "https://www.bbc.co.uk/news/1") == "bbc.co.uk"
    assert outlet("", "") == ""


def test_a_citation_names_the_other_outlets_shortly() -> None:
    cite = Citation(1, "a", "T", "", "2024-03-14", "AP", "Text.", 0, 5)
    assert cite.carried() == "" and cite.to_dict()["also"] == []
    one = replace(cite, also=("Port Times",))
    assert one.carried() == "also carried by 1 outlet: Port Times"
    four = replace(cite, also=("A", "B", "C", "D"))
    assert four.carried() == "also carried by 4 outlets: A, B, C and 1 more"
    assert four.to_dict()["also"] == ["A", "B", "C", "D"]


# --- the build -----------------------------------------------------------------------------
def test_one_story_from_three_outlets_is_embedded_once_and_cited_with_them(
    tmp_path: Path, embedder: Any
) -> None:
    files = {"ap.md": AP, "port-times.md": PORT_TIMES, "valley-post.md": VALLEY_POST, **OTHER}
    src, index_dir = write_articles(tmp_path / "src", files), tmp_path / "index"
    report = build(src, index_dir, embedder)
    assert counts(report) == (4, 0, 0, 0, 0) and report.copies == 2, report.summary()
    assert "2 copies of indexed stories recorded, not embedded" in report.summary()
    ap, port, valley, library = ids(src, "ap.md", "port-times.md", "valley-post.md", "library.txt")
    assert chunked(index_dir) == {ap, library}
    assert copy_of(index_dir) == {port: ap, valley: ap}
    assert outlets_of(index_dir, ap) == ("Port Times", "Valley Post")
    assert outlets_of(index_dir, library) == ()
    assert_consistent(index_dir)

    result = answer(QUESTION, index_dir=index_dir, as_of=AS_OF)
    assert "3.5 million dollars" in " ".join(c.text for c in result.citations), result.text
    assert {c.article_id for c in result.citations} == {ap}  # never the same sentence twice
    assert all(c.also == ("Port Times", "Valley Post") for c in result.citations)
    assert '"also": ["Port Times", "Valley Post"]' in result.to_json()
    # An outlet that carried the story finds it: its copy has no chunks, the original answers.
    carried = answer(QUESTION, index_dir=index_dir, as_of=AS_OF, sources=["Valley Post"])
    assert carried.citations and {c.article_id for c in carried.citations} == {ap}
    assert not answer(QUESTION, index_dir=index_dir, as_of=AS_OF, sources=["Nobody"]).citations
    with opened(index_dir) as index:
        assert index.carried_by(["Valley Post", "Nobody"]) == {ap}
        assert index.carrying() == ("Port Times", "Valley Post")

    again = build(src, index_dir, embedder)  # unchanged copies cost nothing
    assert counts(again) == (0, 0, 4, 0, 0) and not again.changed and again.copies == 0


def test_ask_names_the_other_outlets(
    tmp_path: Path, embedder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {"ap.md": AP, "port-times.md": PORT_TIMES, "valley-post.md": VALLEY_POST}
    src, index_dir = write_articles(tmp_path / "src", files), tmp_path / "index"
    build(src, index_dir, embedder)
    assert main(["ask", QUESTION, "--as-of", AS_OF, "--index-dir", str(index_dir)]) == 0
    out = capsys.readouterr().out
    assert (
        "] Harbour bridge reopens (AP, 2024-03-14; also carried by 2 outlets: Port Times, "
        "Valley Post)" in out
    ), out


def test_the_same_text_from_another_outlet_is_a_copy_and_from_the_same_one_a_duplicate(
    tmp_path: Path, embedder: Any
) -> None:
    short = "The ferry to the island is cancelled on Friday because of the storm."
    files = {  # read in this order
        "1-ap.md": AP,
        "2-ap-again.md": story("Bridge reopens", "AP", "https://apnews.example/2", WIRE),
        "3-bay-herald.md": story("Bridge open", "Bay Herald", "https://bayherald.example/b", WIRE),
        "4-ferry-ap.md": story("Ferry cancelled", "AP", "https://apnews.example/f", short),
        "5-ferry-bay.md": story("No ferry", "Bay Herald", "https://bayherald.example/f", short),
    }
    src, index_dir = write_articles(tmp_path / "src", files), tmp_path / "index"
    report = build(src, index_dir, embedder)
    ap, again, bay, ferry, ferry_bay = ids(src, *files)
    assert [s.reason for s in report.skipped] == [f"duplicate of article {ap} (same text)"]
    assert (report.added, report.copies) == (4, 2)
    # Too short for a signature, the same text still is the same story.
    assert copy_of(index_dir) == {bay: ap, ferry_bay: ferry}
    assert chunked(index_dir) == {ap, ferry}
    assert outlets_of(index_dir, ap) == ("Bay Herald",)
    assert outlets_of(index_dir, ferry) == ("Bay Herald",)
    assert again not in copy_of(index_dir)
    assert_consistent(index_dir)


def test_different_stories_that_share_a_footer_are_both_indexed(
    tmp_path: Path, embedder: Any
) -> None:
    files = {
        "lottery.md": story("Jackpot won", "Harbor Gazette", "https://gazette.example/1", LOTTERY),
        "choir.md": story("Choir to tour", "Harbor Gazette", "https://gazette.example/2", CHOIR),
    }
    src, index_dir = write_articles(tmp_path / "src", files), tmp_path / "index"
    report = build(src, index_dir, embedder)
    assert counts(report) == (2, 0, 0, 0, 0) and report.copies == 0
    assert chunked(index_dir) == set(ids(src, *files)) and copy_of(index_dir) == {}


def test_a_copy_arriving_later_is_recorded_with_the_indexed_story(
    tmp_path: Path, embedder: Any
) -> None:
    src, index_dir = write_articles(tmp_path / "src", {"ap.md": AP, **OTHER}), tmp_path / "index"
    build(src, index_dir, embedder)
    chunks = {cid for cid, _, _ in _chunks(index_dir)}
    write_articles(src, {"port-times.md": PORT_TIMES})
    report = build(src, index_dir, embedder)
    assert counts(report) == (1, 0, 2, 0, 0) and report.copies == 1, report.summary()
    assert {cid for cid, _, _ in _chunks(index_dir)} == chunks  # nothing embedded
    ap, port = ids(src, "ap.md", "port-times.md")
    assert copy_of(index_dir) == {port: ap}
    assert outlets_of(index_dir, ap) == ("Port Times",)
    assert_consistent(index_dir)


def test_when_the_original_is_removed_its_copies_are_looked_at_again(
    tmp_path: Path, embedder: Any
) -> None:
    files = {"ap.md": AP, "port-times.md": PORT_TIMES, "valley-post.md": VALLEY_POST, **OTHER}
    src, index_dir = write_articles(tmp_path / "src", files), tmp_path / "index"
    build(src, index_dir, embedder)
    ap, port, valley = ids(src, "ap.md", "port-times.md", "valley-post.md")
    (src / "ap.md").unlink()
    report = build(src, index_dir, embedder)
    # The first copy read becomes the story's article; the other copies it.
    assert counts(report) == (0, 2, 1, 1, 0) and report.copies == 1, report.summary()
    assert port in chunked(index_dir) and ap not in chunked(index_dir)
    assert copy_of(index_dir) == {valley: port}
    assert outlets_of(index_dir, port) == ("Valley Post",)
    assert_consistent(index_dir)
    result = answer(QUESTION, index_dir=index_dir, as_of=AS_OF)
    assert {(c.source, c.also) for c in result.citations} == {("Port Times", ("Valley Post",))}

    (src / "port-times.md").unlink()  # and then the last one stands alone
    report = build(src, index_dir, embedder)
    assert counts(report) == (0, 1, 1, 1, 0) and report.copies == 0, report.summary()
    assert valley in chunked(index_dir) and copy_of(index_dir) == {}
    assert outlets_of(index_dir, valley) == ()
    assert_consistent(index_dir)


def test_a_copy_not_read_again_waits_for_a_build_that_reads_it(
    tmp_path: Path, embedder: Any
) -> None:
    wire, papers = write_articles(tmp_path / "wire", {"ap.md": AP}), tmp_path / "papers"
    write_articles(papers, {"port-times.md": PORT_TIMES})
    index_dir = tmp_path / "index"
    build([wire, papers], index_dir, embedder)
    (ap,), (port,) = ids(wire, "ap.md"), ids(papers, "port-times.md")
    (wire / "ap.md").unlink()
    build([wire], index_dir, embedder)  # the copy lives elsewhere: not read, so it stays as it is
    assert copy_of(index_dir) == {port: ap} and chunked(index_dir) == set()
    report = build([wire, papers], index_dir, embedder)
    assert counts(report) == (0, 1, 0, 0, 0) and report.copies == 0, report.summary()
    assert chunked(index_dir) == {port} and copy_of(index_dir) == {}
    assert_consistent(index_dir)


def test_an_index_built_before_signatures_answers_and_takes_new_copies(
    tmp_path: Path, embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, index_dir = write_articles(tmp_path / "src", {"ap.md": AP, **OTHER}), tmp_path / "index"
    with monkeypatch.context() as patch:  # what an index built before them stored: no signature
        patch.setattr(copies, "signature", lambda text: "")
        build(src, index_dir, embedder)
    with opened(index_dir) as index:
        metadatas = index.segments[0].articles.get(include=["metadatas"])["metadatas"]
        assert all(copies.KEY not in m for m in metadatas)
    (ap,) = ids(src, "ap.md")
    result = answer(QUESTION, index_dir=index_dir, as_of=AS_OF)
    assert result.citations and all(c.also == () for c in result.citations)

    bay = story("Bridge open", "Bay Herald", "https://bayherald.example/b", WIRE)
    write_articles(src, {"bay-herald.md": bay, "port-times.md": PORT_TIMES, "vp.md": VALLEY_POST})
    report = build(src, index_dir, embedder)
    port, valley, herald = ids(src, "port-times.md", "vp.md", "bay-herald.md")
    # The same text is found without a signature; a near-copy of the old article is not (it
    # has none), but the new ones are told apart among themselves.
    assert copy_of(index_dir) == {herald: ap, valley: port}, report.summary()
    assert chunked(index_dir) == {ap, port, article_id(src / "library.txt")}
    assert outlets_of(index_dir, ap) == ("Bay Herald",)
    assert_consistent(index_dir)


def _chunks(index_dir: Path) -> list[tuple[str, str, dict[str, Any]]]:
    with opened(index_dir) as index:
        return live_chunks(index)
