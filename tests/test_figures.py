"""Where outlets disagree (assistant/figures.py): figures and their units, and a brief that
shows both outlets' figures instead of picking one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant import answer
from assistant.api import get_assistant
from assistant.citations import marker_numbers
from assistant.config import Settings
from assistant.figures import figures
from tests.test_build import build, write_articles
from tests.test_copies import story as article


def test_a_figure_is_a_number_with_its_unit_and_years_and_times_are_not() -> None:
    found = figures("Russia launched 26 missiles and 30 more drones at 3 a.m. in 2024.")
    assert [(f.value, f.unit, f.text) for f in found] == [
        (26.0, "missile", "26 missiles"),
        (30.0, "drone", "30 more drones"),
    ]
    money = figures("It lost $1.5 billion, and 40% of its staff; five people quit.")
    assert [(f.value, f.unit, f.text) for f in money] == [
        (1.5e9, "dollar", "$1.5 billion"),
        (40.0, "percent", "40%"),
        (5.0, "people", "five people"),
    ]
    (bound,) = figures("At least 30 missiles struck the city.")
    assert bound.bound and bound.value == 30.0
    assert figures("The bridge opened in 1961 after 8 months.") == []


STRIKE_A = article(
    "Russia fires 26 missiles at Lvivka overnight",
    "Kessel Radio",
    "https://kesselradio.example/lvivka",
    "Russia fired 26 missiles at the city of Lvivka overnight, damaging the power station, the "
    "regional governor said on Monday.\n\nRepair crews restored electricity to most homes by "
    "noon.\n",
    "2024-06-10",
)
STRIKE_B = article(
    "Lvivka power station hit in overnight missile attack",
    "Valley Post",
    "https://valleypost.example/lvivka",
    "Russia fired 30 missiles at Lvivka overnight and hit the city's power station, officials "
    "said on Monday.\n\nSchools in the city stayed closed.\n",
    "2024-06-10",
)
OTHER = article(
    "Lvivka orchestra tours the coast",
    "Valley Post",
    "https://valleypost.example/orchestra",
    "The Lvivka city orchestra began a tour of 12 coastal towns on Monday.\n",
    "2024-06-10",
)


def test_a_brief_shows_both_figures_with_their_outlets(tmp_path: Path, embedder: Any) -> None:
    src, index_dir = tmp_path / "src", tmp_path / "index"
    write_articles(src, {"a.md": STRIKE_A, "b.md": STRIKE_B, "c.md": OTHER})
    build(src, index_dir, embedder)
    result = answer("What happened in Lvivka?", index_dir=index_dir, as_of="2024-06-10")
    (line,) = [x for x in result.text.splitlines() if x.startswith("Outlets differ")]
    cited = {c.n: c for c in result.citations}
    a, b = sorted((cited[n] for n in marker_numbers(line)), key=lambda c: c.source)
    assert (a.source, b.source) == ("Kessel Radio", "Valley Post"), result.text
    assert "26 missiles" in a.text and "30 missiles" in b.text
    assert sorted(line.removeprefix("Outlets differ: ").rstrip(".").split("; ")) == sorted(
        [f"26 missiles (Kessel Radio) [{a.n}]", f"30 missiles (Valley Post) [{b.n}]"]
    ), result.text
    # The same figure from both, or one outlet alone: nothing to show.
    write_articles(src, {"b.md": STRIKE_B.replace("30 missiles", "26 missiles")})
    build(src, index_dir, embedder)
    get_assistant(Settings.from_env(index_dir=index_dir)).refresh()  # the new build, now
    agreed = answer("What happened in Lvivka?", index_dir=index_dir, as_of="2024-06-10")
    assert "Outlets differ" not in agreed.text, agreed.text


def test_an_outlet_s_own_report_and_a_wire_story_it_published_can_disagree(
    tmp_path: Path, embedder: Any
) -> None:
    # Kessel Radio's own report and an AP story it published: two reporters, not one outlet.
    wire = STRIKE_B.replace("source: Valley Post", "source: Kessel Radio").replace(
        "Russia fired 30", "LVIVKA (AP) \u2014 Russia fired 30"
    )
    src, index_dir = tmp_path / "src", tmp_path / "index"
    write_articles(src, {"a.md": STRIKE_A, "b.md": wire, "c.md": OTHER})
    build(src, index_dir, embedder)
    result = answer("What happened in Lvivka?", index_dir=index_dir, as_of="2024-06-10")
    (line,) = [x for x in result.text.splitlines() if x.startswith("Outlets differ")]
    assert "26 missiles (Kessel Radio)" in line and "30 missiles (The Associated Press)" in line
