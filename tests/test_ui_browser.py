"""The chat in a real Chromium (Playwright): answers, the reader, follow-ups, uploads, feeds,
stories, XSS."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from assistant import follows
from assistant.chain import Assistant
from assistant.config import Settings
from assistant.ui import build_app, launch
from index.build import rebuild
from index.places import Folder
from tests.shared import free_port, in_ci
from tests.test_build import write_articles
from tests.test_stories import FLOOD_1, FLOOD_2, FLOOD_3, LIBRARY, ROWING
from tests.test_ui import UNSUPPORTED, Citing
from tests.test_update import BRIDGE, Site, port_times

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:gradio.queueing"),  # pandas, inside
]

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "articles"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AVDIIVKA = "What happened in Avdiivka?"
ANSWERS = "#na-transcript .na-bot:not(.na-draft)"
# Every way an article could try to run script or fetch something, each setting window.__xss.
UNTRUSTED = "\n".join(
    [
        "---",
        'title: "<script>window.__xss=1</script><img src=x onerror=window.__xss=2> Zorvath canal"',
        'source: "<b onmouseover=window.__xss=3>Canal Wire</b>"',
        'url: "javascript:window.__xss=4"',
        "published: 2024-03-01",
        "---",
        "The Zorvath canal reopened to cargo ships on Monday after a three-week closure."
        "<script>window.__xss=5</script>",
        "Engineers said the Zorvath lock gates <img src=x onerror=window.__xss=6> were repaired.",
        "Zorvath officials urged readers to [read more](javascript:window.__xss=7) and "
        "![pixel](http://evil.example/p.png) for schedules.",
        'A <a href="javascript:window.__xss=8">canal link</a>, <iframe src="http://evil.example/f">'
        "</iframe> and <svg onload=window.__xss=9></svg> sat beside the Zorvath canal report.",
        'The Zorvath harbour master <img src="http://evil.example/beacon.png"> said traffic would '
        "double by {{7*7}} ${7*7} May.",
    ]
)
TRAM = """---
title: Quillbrook council approves a new tram line
source: Quillbrook Gazette
published: 2024-03-04
---
The Quillbrook city council approved a new tram line on Monday after a six-hour debate.
The line will connect the harbour district to the university by 2027.
"""


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright; skipped when missing, but never on CI."""
    reason = ""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "the playwright package is not installed"
    if not reason and not CHROMIUM.is_file():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if reason:
        if in_ci():
            pytest.fail(f"{reason}; CI is set, so the browser tests must run")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        yield browser
        browser.close()


def serve(
    tmp: Path, sources: list[Path], embedder: Any, llm: Any = None, spec: str = ""
) -> Iterator[str]:
    """The app over an index of `sources` in `tmp` (uploads go to tmp/uploads)."""
    index_dir = tmp / "index"
    rebuild(sources, index_dir, embedder=embedder, progress=False)
    settings = Settings.from_env(index_dir=index_dir, llm=spec)
    demo = build_app(settings, Assistant(index_dir, embedder, llm))
    yield launch(demo, port=free_port(), block=False)
    demo.close()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, embedder: object) -> Iterator[str]:
    """The app over the sample article and an article full of script and tracking tricks."""
    tmp = tmp_path_factory.mktemp("browser")
    untrusted = tmp / "untrusted"
    untrusted.mkdir()
    (untrusted / "zorvath.md").write_text(UNTRUSTED)
    yield from serve(tmp, [SAMPLE, untrusted], embedder)


@dataclass
class Tab:
    """A page with everything it requested and every dialog it opened."""

    page: Any
    origin: str
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def foreign(self) -> list[str]:
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).netloc != self.origin
        ]


def open_tab(chromium: Any, url: str) -> Iterator[Tab]:
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    tab = Tab(page, urlsplit(url).netloc)
    page.on("request", lambda request: tab.requests.append(request.url))
    page.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    page.wait_for_selector("#na-question textarea")
    page.wait_for_selector("#na-examples .na-chip")  # the page has loaded its index data
    yield tab
    context.close()
    assert not tab.foreign(), f"the page reached beyond the app: {tab.foreign()}"


@pytest.fixture()
def tab(chromium: Any, app_url: str) -> Iterator[Tab]:
    yield from open_tab(chromium, app_url)


# Counts the clickable markers of the draft each time the transcript changes.
RECORD_DRAFTS = """() => {
  window.__drafts = [];
  const transcript = document.querySelector('#na-transcript');
  new MutationObserver(() => {
    const draft = transcript.querySelector('.na-draft');
    if (draft) window.__drafts.push(draft.querySelectorAll('button.na-cite').length);
  }).observe(transcript, {childList: true, subtree: true, characterData: true});
}"""


def ask(page: Any, question: str) -> Any:
    """Ask in the chat box and wait for the whole answer; its message element."""
    before = page.locator(ANSWERS).count()
    page.fill("#na-question textarea", question)
    page.press("#na-question textarea", "Enter")
    page.wait_for_function(f"n => document.querySelectorAll('{ANSWERS}').length > n", arg=before)
    return page.locator(ANSWERS).nth(before)


def open_marker(page: Any, marker: Any) -> str:
    """Click a marker; the highlighted sentence's text once it is in view in the reader."""
    # Each opening renders a new nonce: wait for it, not for the previous sentence (slow CI).
    opened = "() => document.querySelector('#na-reader [data-open]')?.dataset.open || ''"
    before = page.evaluate(opened)
    marker.click()
    page.wait_for_function(
        """before => {
          const panel = document.querySelector('#na-reader');
          const doc = panel && panel.querySelector('[data-open]');
          if (!doc || doc.dataset.open === before) return false;
          const focus = panel.querySelector('#na-focus');
          if (!focus) return false;
          const head = panel.querySelector('.na-reader-head').getBoundingClientRect();
          const box = focus.getBoundingClientRect(), view = panel.getBoundingClientRect();
          return box.top >= head.bottom - 1 && box.bottom <= view.bottom + 1;
        }""",
        arg=before,
    )
    return str(page.eval_on_selector("#na-focus", "e => e.firstChild.textContent"))


def test_question_gets_a_cited_answer_and_the_reader_shows_the_sentence(tab: Tab) -> None:
    page = tab.page
    status = page.inner_text("#na-status")
    assert "2 articles" in status and "sentences" in status and "LLM: extractive" in status
    assert page.evaluate("() => document.documentElement.scrollHeight <= innerHeight")  # fits
    before = page.locator(ANSWERS).count()
    page.evaluate(RECORD_DRAFTS)
    page.click(f"#na-examples .na-chip:text('{AVDIIVKA}')")  # an example drawn from the index
    page.wait_for_function(f"n => document.querySelectorAll('{ANSWERS}').length > n", arg=before)
    answer = page.locator(ANSWERS).last
    drafts = page.evaluate("() => window.__drafts")  # clickable markers of each draft shown
    assert any(n >= 1 for n in drafts), drafts  # the answer streamed, markers live in drafts
    markers = answer.locator(".na-answer button.na-cite")
    assert markers.count() >= 2
    sources = answer.locator(".na-source").inner_text()
    assert "Zelenskyy in Paris" in sources and "VOA News" in sources and "16 Feb 2024" in sources
    sentence = open_marker(page, markers.first)
    assert sentence and sentence in answer.locator(".na-answer").inner_text()
    reader = page.locator("#na-reader")
    assert "Zelenskyy in Paris" in reader.locator(".na-reader-title").inner_text()
    assert reader.evaluate("e => e.scrollTop") > 100  # the panel scrolled to the sentence
    assert page.evaluate("() => window.scrollY") == 0  # ... and the page did not move
    cited = reader.locator("mark.na-cited")
    assert cited.count() == markers.count()  # every sentence the answer cites is marked
    colours = cited.evaluate_all("ms => ms.map(m => getComputedStyle(m).backgroundColor)")
    strong = page.eval_on_selector("#na-focus", "e => getComputedStyle(e).backgroundColor")
    assert colours.count(strong) == 1  # the clicked one stands out
    page.wait_for_timeout(700)  # let the smooth scroll settle for the picture
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat.png"))


def test_follow_up_cites_the_troops_sentence_and_new_chat_clears(tab: Tab) -> None:
    page = tab.page
    ask(page, AVDIIVKA)
    follow_up = ask(page, "How many troops does Russia have there?")
    bubbles = page.locator("#na-transcript .na-bubble").all_inner_texts()
    assert bubbles == [AVDIIVKA, "How many troops does Russia have there?"]
    markers = follow_up.locator(".na-answer button.na-cite")
    opened = [open_marker(page, markers.nth(i)) for i in range(markers.count())]
    assert any("about 50,000 troops on the Avdiivka front" in s for s in opened), opened
    page.click("#na-new")
    page.wait_for_selector("#na-transcript .na-empty")
    assert page.locator("#na-reader .na-reader-empty").count() == 1


def test_untrusted_article_renders_as_inert_text(tab: Tab) -> None:
    page = tab.page
    answer = ask(page, "What happened to the Zorvath canal?")
    assert answer.locator("button.na-cite").count() >= 1
    assert "<script>window.__xss=1</script>" in answer.locator(".na-source-title").inner_text()
    assert answer.locator(".na-source a").count() == 0  # a javascript: URL is not a link
    open_marker(page, answer.locator(".na-answer button.na-cite").first)
    reader = page.locator("#na-reader")
    assert "<img src=x onerror=window.__xss=2>" in reader.locator(".na-reader-title").inner_text()
    body = reader.locator(".na-reader-body").evaluate(
        "e => { const c = e.cloneNode(true); c.querySelectorAll('sup').forEach(s => s.remove());"
        " return c.textContent; }"
    )  # the article's text without the citation numbers shown beside marked sentences
    for shown in ("<script>window.__xss=5</script>", "[read more](javascript:", "![pixel]("):
        assert shown in body
    assert "{{7*7}} ${7*7}" in body  # no template evaluated either
    for panel in ("#na-transcript", "#na-reader", "#na-status"):
        dangerous = page.locator(f"{panel} :is(script, img, iframe, svg, object, embed)")
        assert dangerous.count() == 0, panel
        assert page.locator(f"{panel} a[href^='javascript']").count() == 0
    page.hover("#na-reader .na-reader-meta")
    page.wait_for_timeout(300)  # give any stray handler a chance to run
    assert page.evaluate("() => window.__xss") is None
    assert tab.dialogs == []
    assert not tab.foreign()


@pytest.fixture()
def fresh_url(tmp_path: Path, embedder: object) -> Iterator[str]:
    """An app of its own, as the upload changes the index."""
    yield from serve(tmp_path, [SAMPLE], embedder)


def test_upload_indexes_the_good_file_and_explains_the_bad_one(
    chromium: Any, fresh_url: str, tmp_path: Path
) -> None:
    good, bad = tmp_path / "tram.txt", tmp_path / "scan.txt"
    good.write_text(TRAM)
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200))
    for tab in open_tab(chromium, fresh_url):
        page = tab.page
        page.set_input_files("#na-files input[type=file]", [str(good), str(bad)])
        page.wait_for_selector("#na-files td.filename[aria-label='scan.txt']")
        page.click("#na-add")
        page.wait_for_selector("#na-upload-result .na-upload-result")
        result = page.inner_text("#na-upload-result")
        assert "1 added" in result and "the index holds 2 articles" in result
        assert "skipped scan.txt: binary file (contains NUL bytes), not text" in result
        page.wait_for_function(
            "() => document.querySelector('#na-status').innerText.includes('2 articles')"
        )
        answer = ask(page, "What did the Quillbrook council approve?")
        assert "Quillbrook council approves a new tram line" in answer.inner_text()
        assert answer.locator(".na-answer button.na-cite").count() >= 1


WRITTEN = "Russia has massed some 50,000 troops on the Avdiivka front."


@pytest.fixture()
def written_url(tmp_path: Path, embedder: object) -> Iterator[str]:
    """An app whose answers a scripted chat model writes, slowly enough to click a draft."""
    claims = [(WRITTEN, "Russia has placed about 50,000"), (UNSUPPORTED, "")]
    llm = Citing(claims=claims, sleep=0.05)
    yield from serve(tmp_path, [SAMPLE], embedder, llm, "fake:scripted")


def test_a_written_answer_streams_with_live_markers_then_the_checked_one_replaces_it(
    chromium: Any, written_url: str
) -> None:
    for tab in open_tab(chromium, written_url):
        page = tab.page
        assert "LLM: fake:scripted" in page.inner_text("#na-status")
        page.fill("#na-question textarea", AVDIIVKA)
        page.press("#na-question textarea", "Enter")
        # The model's own words, with their marker, while the rest is still being written.
        draft = page.locator("#na-transcript .na-draft").filter(has_text="massed some")
        marker = draft.locator(".na-answer button.na-cite").first
        marker.wait_for()
        assert "bread" not in draft.inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "draft.png"))
        sentence = open_marker(page, marker)
        assert sentence.startswith("Russia has placed about 50,000 troops on the Avdiivka front")
        page.wait_for_selector(f"{ANSWERS} .na-revisions")  # checked: replaces the draft
        answer = page.locator(ANSWERS).last
        assert page.locator("#na-transcript .na-draft").count() == 0
        assert WRITTEN[:-1] in answer.locator(".na-answer").inner_text()
        assert "bread" not in answer.locator(".na-answer").inner_text()
        note = answer.locator(".na-revisions summary").inner_text()
        assert note == "1 sentence removed: not supported by the sources"
        assert open_marker(page, answer.locator(".na-answer button.na-cite").first) == sentence
        page.wait_for_timeout(700)
        page.screenshot(path=str(ARTIFACTS / "written.png"))


@pytest.fixture()
def site() -> Iterator[Site]:
    """News sites on loopback: their feeds and pages."""
    served = Site()
    yield served
    served.close()


def test_a_feed_followed_and_updated_in_the_page_is_answered_from(
    chromium: Any, fresh_url: str, site: Site
) -> None:
    home = port_times(site)  # a news site's home page, which names its RSS feed
    for tab in open_tab(chromium, fresh_url):
        page = tab.page
        page.wait_for_selector("#na-feeds .na-feeds-empty")
        assert "news" not in page.inner_text("#na-status")
        page.fill("#na-feed-url :is(input, textarea)", home)
        page.click("#na-follow")
        feed = page.locator("#na-feeds .na-feed[data-name='port-times']")
        feed.wait_for()
        assert page.inner_text("#na-feeds-result") == (
            "Following port-times: its articles come with the next update."
        )
        assert feed.locator("a.na-link").get_attribute("href") == f"{site.url}/feed.xml"
        assert "not fetched yet" in feed.inner_text()
        assert page.input_value("#na-feed-url :is(input, textarea)") == ""
        page.click("#na-update")
        page.wait_for_function(
            "() => document.querySelector('#na-feeds-result').innerText.includes('new article')"
        )
        result = page.inner_text("#na-feeds-result")
        assert "1 new article from 1 feed; the index holds 2 articles." in result
        assert "port-times: 1 new" in result
        state = feed.locator("dl").inner_text()
        assert "result 1 new" in state and "articles 1" in state and "errors in a row 0" in state
        status = page.inner_text("#na-status")
        assert "2 articles" in status and "news updated" in status
        answer = ask(page, "How much did the bridge repairs cost?")
        assert "Harbour bridge reopens" in answer.locator(".na-source").first.inner_text()
        assert "3.5 million dollars" in answer.locator(".na-answer").inner_text()
        sentence = open_marker(page, answer.locator(".na-answer button.na-cite").first)
        assert sentence in BRIDGE  # the sentence of the feed's article, in the reader
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "feeds.png"))
        # Remove asks once more, then the feed and its article leave the index.
        remove = feed.locator("button.na-feed-remove")
        remove.click()
        assert remove.inner_text() == "Remove its articles?"
        remove.click()
        page.wait_for_selector("#na-feeds .na-feeds-empty")
        assert page.inner_text("#na-feeds-result") == (
            "No longer following port-times; 1 article left the index."
        )
        page.wait_for_function(
            "() => document.querySelector('#na-status').innerText.includes('1 article ')"
        )
        answer = ask(page, "How much did the bridge repairs cost?")
        assert "Harbour bridge reopens" not in answer.inner_text()
        assert tab.dialogs == []


FLOOD = "Riverton flood as Ash River recedes and cleanup begins downtown"
ROWED = "Rowing club wins the regional cup for the third year"
DANGEROUS = ":is(script, img, iframe, svg, object, embed)"


@pytest.fixture(scope="module")
def stories_app(tmp_path_factory: pytest.TempPathFactory, embedder: object) -> Iterator[Any]:
    """The app over a flood reported by two outlets over two days, a library's new hours and a
    rowing cup: (its URL, its index folder)."""
    tmp = tmp_path_factory.mktemp("stories")
    src = write_articles(
        tmp / "src",
        {
            "flood-1.md": FLOOD_1,
            "flood-2.md": FLOOD_2,
            "flood-3.md": FLOOD_3,
            "library.md": LIBRARY,
            "rowing.md": ROWING,
        },
    )
    for url in serve(tmp, [src], embedder):
        yield url, tmp / "index"


def open_stories(page: Any) -> Any:
    """The Stories tab, once its lists are read."""
    page.click("#na-stories-tab-button")
    page.wait_for_selector("#na-stories .na-story-item")
    return page.locator("#na-stories")


def test_stories_open_as_a_timeline_whose_sentences_open_in_the_reader_and_can_be_followed(
    chromium: Any, stories_app: Any
) -> None:
    url, index_dir = stories_app
    for tab in open_tab(chromium, url):
        page = tab.page
        lists = open_stories(page)
        heads = lists.locator(".na-stories-head").all_text_contents()
        assert heads == ["This day · 4 May 2024", "This week · 28 Apr 2024 – 4 May 2024"]
        day = lists.locator(".na-stories-day .na-story-headline").all_inner_texts()
        assert day == [ROWED]  # the newest day's one story
        top = lists.locator(".na-stories-week .na-story-item").first
        assert top.locator(".na-story-headline").inner_text() == FLOOD
        assert top.locator(".na-story-meta").inner_text() == (
            "2 May 2024 – 3 May 2024 · 2 independent outlets · 3 articles"
        )
        assert lists.locator(".na-stories-week .na-story-item").count() == 3
        top.click()
        story = page.locator("#na-story .na-story")
        story.wait_for()
        assert story.locator(".na-story-title").inner_text() == FLOOD
        assert "2 independent outlets · 3 articles" in story.locator(".na-story-meta").inner_text()
        outlets = story.locator(".na-story-outlets").inner_text()
        assert outlets == "Reported by Riverton Times, Valley Post"
        when = story.locator(".na-point-meta").all_text_contents()
        assert sorted(when[:2]) == ["2 May 2024 · Riverton Times", "2 May 2024 · Valley Post"]
        assert when[2] == "3 May 2024 · Riverton Times"
        points = story.locator("button.na-point-text")
        assert points.count() == 3
        last = points.nth(2)
        sentence = open_marker(page, last)  # the reader opens the article at that sentence
        assert sentence == last.inner_text()
        assert sentence.startswith("The Ash River fell back below its banks in Riverton on Friday")
        assert page.locator("#na-reader .na-reader-title").inner_text() == FLOOD
        assert page.locator("#na-reader mark.na-cited").count() == 1
        first = open_marker(page, points.first)
        assert first == points.first.inner_text() and first != sentence
        assert page.evaluate("() => document.documentElement.scrollHeight <= innerHeight")
        follow = story.locator("button.na-story-follow")
        assert follow.inner_text() == "Follow"
        follow.click()
        page.wait_for_selector("#na-story .na-story-follow:text-is('Unfollow')")
        note = page.locator("#na-story .na-story-note").inner_text()
        assert note == f"Following “{FLOOD}”: `assistant followed` lists what is new on it."
        assert [t.topic for t in follows.read(Folder(index_dir))] == [FLOOD]
        page.click("#na-chat-tab-button")  # the chat is as it was
        page.wait_for_selector("#na-transcript .na-empty")
        page.click("#na-stories-tab-button")
        page.wait_for_selector("#na-story .na-story-follow:text-is('Unfollow')")  # still open
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "stories.png"))
        story.locator("button.na-story-follow").click()  # Unfollow
        page.wait_for_selector("#na-story .na-story-follow:text-is('Follow')")
        assert f"No longer following “{FLOOD}”." in story.inner_text()
        assert follows.read(Folder(index_dir)) == []
        assert tab.dialogs == []


def test_untrusted_stories_render_as_inert_text(tab: Tab) -> None:
    page = tab.page
    lists = open_stories(page)
    item = lists.locator(".na-stories-day .na-story-item").first
    assert "<script>window.__xss=1</script>" in item.locator(".na-story-headline").inner_text()
    item.click()
    page.wait_for_selector("#na-story .na-timeline")
    point = page.locator("#na-story button.na-point-text").first
    assert point.inner_text().startswith("The Zorvath canal reopened to cargo ships")
    open_marker(page, point)
    assert "window.__xss=2" in page.locator("#na-reader .na-reader-title").inner_text()
    for panel in ("#na-stories", "#na-story", "#na-reader"):
        assert page.locator(f"{panel} {DANGEROUS}").count() == 0, panel
        assert page.locator(f"{panel} a[href^='javascript']").count() == 0
    page.hover("#na-story .na-point-meta")
    page.wait_for_timeout(300)  # give any stray handler a chance to run
    assert page.evaluate("() => window.__xss") is None
    assert tab.dialogs == []
