"""Feeds in the chat: the Feeds panel (follow, update now, remove), the status line, and
`assistant serve --update-every`, over feeds and pages served on loopback, with the real model,
a real index and the real worker process."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from gradio_client import Client

from assistant.chain import Assistant
from assistant.cli import duration, main
from assistant.config import Settings
from assistant.ui import render
from assistant.ui.handlers import ChatApp
from index import feedlist
from index.build import rebuild
from index.places import Folder
from tests.shared import SAMPLE, free_port
from tests.test_update import Site, port_times

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:gradio.queueing")  # pandas
REPO = Path(__file__).resolve().parent.parent
BRIDGE = "How much did the bridge repairs cost?"
BRIDGE_TITLE = "Harbour bridge reopens"
AVDIIVKA = "What happened in Avdiivka?"
EVIL = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
NEWS_UPDATED = re.compile(r"news updated (\d\d:\d\d)")


@pytest.fixture()
def site() -> Iterator[Site]:
    served = Site()
    yield served
    served.close()


@pytest.fixture()
def fresh(tmp_path: Path, embedder: object) -> ChatApp:
    """An app over its own index of the sample article; feeds fetched in tmp_path/feeds."""
    index_dir = tmp_path / "index"
    rebuild([SAMPLE], index_dir, embedder=embedder, progress=False)  # type: ignore[arg-type]
    settings = Settings.from_env(index_dir=index_dir)
    return ChatApp(settings, Assistant(index_dir, embedder))  # type: ignore[arg-type]


def text(shown: str) -> list[str]:
    """The lines a browser shows of some HTML."""
    lines = html.unescape(re.sub(r"<[^>]+>", "\n", shown)).splitlines()
    return [line.strip() for line in lines if line.strip()]


def no_progress(*args: object, **kwargs: object) -> None:
    pass


def cited(app: ChatApp, question: str) -> list[dict[str, Any]]:
    return list(app.ask(question)["citations"])


def feeds_json(app: ChatApp) -> str | None:
    return Folder(app.settings.index_dir).document("feeds")


# --- the Feeds panel ---------------------------------------------------------------------------
@pytest.mark.slow
def test_follow_update_now_ask_and_remove_from_the_panel(fresh: ChatApp, site: Site) -> None:
    assert text(fresh.feeds_panel())[0].startswith("No feeds yet")
    assert "news" not in fresh.status()  # an index that follows no feed says nothing of them
    assert BRIDGE_TITLE not in [c["title"] for c in cited(fresh, BRIDGE)]

    shown, listing, box, status = fresh.follow(f"  {port_times(site)} ", progress=no_progress)
    assert text(shown) == ["Following port-times: its articles come with the next update."]
    assert box == ""  # the address box is emptied for the next one
    assert "port-times" in text(listing) and f'href="{site.url}/feed.xml"' in listing
    assert "not fetched yet" in text(listing)
    assert "news not updated yet" in status and "next update" not in status

    steps: list[tuple[float | None, str]] = []
    before = time.time()
    shown, listing, status, sources, examples = fresh.update_now(
        progress=lambda done, desc: steps.append((done, desc))
    )
    lines = text(shown)
    assert lines[0] == "1 new article from 1 feed; the index holds 2 articles.", lines
    assert lines[1:] == ["port-times: 1 new"]
    assert (1.0, "fetching feeds") in steps  # the worker's progress reaches the bar
    assert any(desc == "embedding chunks" for _, desc in steps)
    row = dict(zip(text(listing)[3::2], text(listing)[4::2], strict=True))
    assert row["result"] == "1 new" and row["articles"] == "1" and row["errors in a row"] == "0"
    assert "<b>2</b> articles" in status
    updated = NEWS_UPDATED.search(status)
    assert updated and updated.group(1) in {
        time.strftime("%H:%M", time.localtime(t)) for t in (before, time.time())
    }
    assert len(sources.choices) == 2  # the filter offers the feed's outlet too
    assert examples  # drawn from the index as it is now

    # Answered from the feed's article at once: this app's assistant moved to the new index.
    citations = cited(fresh, BRIDGE)
    assert citations[0]["title"] == BRIDGE_TITLE
    assert citations[0]["url"] == f"{site.url}/bridge.html"
    assert any("3.5 million dollars" in c["text"] for c in citations)
    transcript = [t for t, _, _ in fresh.chat(BRIDGE, [])][-1]
    assert BRIDGE_TITLE in transcript and "3.5 million dollars" in transcript

    # Nothing new since: "unchanged" (one conditional GET), the article counted once.
    shown, listing, *_ = fresh.update_now(progress=no_progress)
    assert text(shown) == ["0 new articles from 1 feed.", "port-times: unchanged"]
    assert "unchanged" in text(listing)

    shown, listing, status, sources, _ = fresh.unfollow(
        gr.EventData(None, {"feed": "port-times"}), progress=no_progress
    )
    assert text(shown) == ["No longer following port-times; 1 article left the index."]
    assert text(listing)[0].startswith("No feeds yet")
    assert "<b>1</b> article ·" in status and "news" not in status
    assert BRIDGE_TITLE not in [c["title"] for c in cited(fresh, BRIDGE)]
    assert fresh.ask(AVDIIVKA)["covered"]  # what was indexed before the feed stays

    shown, *_ = fresh.unfollow(gr.EventData(None, {"feed": "port-times"}), progress=no_progress)
    assert text(shown) == ["Not removed: no feed named 'port-times' (feeds: none yet)"]


@pytest.mark.slow
def test_an_address_that_cannot_be_followed_is_one_line_and_nothing_else_changes(
    fresh: ChatApp, site: Site
) -> None:
    home = port_times(site)
    fresh.follow(home, progress=no_progress)
    site.add("/plain.html", b"<html><body><p>No feed named here.</p></body></html>")
    site.add("/broken.xml", b'<?xml version="1.0"?><rss><chan', "application/rss+xml")
    listing, status, kept = fresh.feeds_panel(), fresh.status(), feeds_json(fresh)
    refused = ChatApp(fresh.settings, fresh.assistant, allow_private=False)
    bad = {
        "": (fresh, "paste the address of a feed or of a news site first"),
        "x" * 2001: (fresh, "longer than 2,000 characters"),
        "feed.example.org/rss": (fresh, "not a feed URL"),
        "javascript:alert(1)": (fresh, "only http and https are fetched"),
        f"{site.url}/gone.xml": (fresh, "404"),
        f"{site.url}/plain.html": (fresh, ""),
        f"{site.url}/broken.xml": (fresh, ""),
        f"http://127.0.0.1:{free_port()}/feed.xml": (fresh, "cannot fetch"),
        home: (fresh, "is followed already, as 'port-times'"),
        f"{site.url}/feed.xml": (refused, "private"),  # the rule of a shared install
    }
    for address, (app, why) in bad.items():
        shown, now_listing, box, now_status = app.follow(address, progress=no_progress)
        lines = text(shown)
        assert len(lines) == 1 and lines[0].startswith("Not followed: "), (address, lines)
        assert why in lines[0], (address, lines)
        assert box == address  # kept, to be corrected
        assert now_listing == listing and now_status == status
        assert feeds_json(fresh) == kept
    assert [f.name for f in feedlist.read(Folder(fresh.settings.index_dir))] == ["port-times"]


def test_the_feed_list_shows_each_feeds_state_as_inert_text() -> None:
    feed = feedlist.FeedState(
        EVIL, "javascript:alert(1)", last_fetch=1.0, result=f"failed: {EVIL}", failures=3
    )
    shown = render.feeds_list([feedlist.as_row(feed, 2.0)])
    assert "<script" not in shown and "<img" not in shown and "href=" not in shown
    assert "&lt;script&gt;" in shown and 'data-feed="&lt;script&gt;' in shown
    assert "na-feed-bad" in shown  # a failing feed's result stands out
    good = feedlist.FeedState("port-times", "https://example.org/feed.xml?a=1&b=2", articles=4)
    shown = render.feeds_list([feedlist.as_row(good, 2.0)])
    assert 'href="https://example.org/feed.xml?a=1&amp;b=2"' in shown
    assert text(shown) == [
        "port-times",
        "Remove",
        "example.org/feed.xml?a=1&b=2",
        "last fetch",
        "never",
        "result",
        "not fetched yet",
        "articles",
        "4",
        "next due",
        "now",  # a feed never fetched is due
        "errors in a row",
        "0",
    ]


def test_the_status_line_says_when_the_news_was_and_will_be_updated() -> None:
    now = time.time()
    at = time.strftime("%H:%M", time.localtime(now))
    assert "news" not in render.status(None, "extractive")
    assert "news not updated yet" in render.status(None, "extractive", 0.0)
    line = render.status(None, "extractive", now, now + 60)
    assert f"news updated {at}" in line
    assert f"next update {time.strftime('%H:%M', time.localtime(now + 60))}" in line
    assert "updating the news" in render.status(None, "extractive", now, 0.0)
    yesterday = now - 86400
    assert time.strftime("%-d %b, %H:%M", time.localtime(yesterday)) in render.status(
        None, "x", yesterday
    )


# --- the schedule ------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_scheduled_update_fetches_whats_due_and_a_failed_one_is_a_line_on_stderr(
    fresh: ChatApp, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    where = Folder(fresh.settings.index_dir)
    feeds = where.path / "feeds.json"
    feeds.write_text("{damaged")
    fresh.start_updates(1.0)
    try:
        deadline = time.monotonic() + 60
        while capsys.readouterr().err.count("feed update failed") < 1:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        failures = 1
        while failures < 2:  # the schedule goes on after a failure
            failures += capsys.readouterr().err.count("feed update failed")
            assert time.monotonic() < deadline
            time.sleep(0.2)
        feeds.unlink()
        assert fresh.follow(port_times(site), progress=no_progress)[0].count("Following") == 1
        while BRIDGE_TITLE not in [c["title"] for c in cited(fresh, BRIDGE)]:
            assert time.monotonic() < deadline, "the scheduled update did not index the feed"
            time.sleep(0.5)
        status = fresh.status()
        assert NEWS_UPDATED.search(status), status
        assert "next update" in status or "updating the news" in status, status  # every 1 s
    finally:
        fresh.stop_updates()
    out, err = capsys.readouterr()
    assert "feed update: 1 feed fetched, 1 new article, 0 failed" in out
    assert "next update" not in fresh.status()
    failed = [line for line in err.splitlines() if "feed update failed" in line]
    assert all(line.startswith("feed update failed: the feed list") for line in failed), failed


@pytest.mark.parametrize(
    ("given", "seconds"), [("90s", 90), ("30m", 1800), ("1h", 3600), ("2h30m", 9000), ("2s", 2)]
)
def test_update_every_takes_durations(given: str, seconds: float) -> None:
    assert duration(given) == seconds


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("soon", "'soon' is not a duration like 90s, 30m, 1h or 2h30m"),
        ("30", "'30' is not a duration"),
        ("1m1h", "'1m1h' is not a duration"),
        ("1.5h", "'1.5h' is not a duration"),
        ("0s", "'0s' is too short: at least 1s"),
    ],
)
def test_a_bad_interval_is_one_argparse_error(
    given: str, why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["serve", "--update-every", given])
    assert stopped.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1 and why in errors[0]
    assert errors[0].startswith("assistant serve: error: argument --update-every: ")


class SlowPages(dict[str, Any]):
    """A Site's pages; the ones in `slow` take `seconds` to answer, and note when they did."""

    def __init__(self, pages: dict[str, Any], slow: set[str], seconds: float) -> None:
        super().__init__(pages)
        self.slow, self.seconds = slow, seconds
        self.answered: dict[str, float] = {}

    def get(self, key: str, default: Any = None) -> Any:
        if key in self.slow:
            time.sleep(self.seconds)
            self.answered[key] = time.monotonic()
        return super().get(key, default)


def wait_for_port(server: subprocess.Popen[bytes], port: int, log: Path, seconds: float) -> None:
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and server.poll() is None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise AssertionError(f"the server did not start:\n{log.read_text()}")


@pytest.mark.slow
def test_serve_updates_on_a_schedule_while_questions_are_answered(
    tmp_path: Path, site: Site, embedder: object, capsys: pytest.CaptureFixture[str]
) -> None:
    index_dir = tmp_path / "index"
    rebuild([SAMPLE], index_dir, embedder=embedder, progress=False)  # type: ignore[arg-type]
    assert main(["feeds", "add", port_times(site), "--index-dir", str(index_dir)]) == 0
    capsys.readouterr()
    site.pages = SlowPages(site.pages, {"/bridge.html"}, 15.0)  # the update takes a while
    port = free_port()
    env = {**os.environ, "ASSISTANT_AUTH": "reporter:s3cret", "GRADIO_ANALYTICS_ENABLED": "False"}
    command = [sys.executable, "-m", "assistant.cli", "serve", "--index-dir", str(index_dir)]
    command += ["--port", str(port), "--update-every", "2s", "--allow-private"]
    out, err = tmp_path / "serve.out", tmp_path / "serve.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        server = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr, cwd=REPO)
    started = time.monotonic()
    try:
        wait_for_port(server, port, err, 90)
        url = f"http://127.0.0.1:{port}/"
        with pytest.raises(Exception):  # noqa: B017 - the feeds are behind the login too
            Client(url, verbose=False)
        client = Client(url, auth=("reporter", "s3cret"), verbose=False)
        # The scheduled update runs (the article's page is being fetched): questions are
        # answered meanwhile, each in a few seconds.
        while "/bridge.html" not in site.asked:
            assert time.monotonic() - started < 120, err.read_text()
            time.sleep(0.1)
        answered = []
        for _ in range(3):
            asked = time.monotonic()
            answer = client.predict(AVDIIVKA, api_name="/ask")
            assert answer["covered"] and answer["citations"]
            answered.append(time.monotonic())
            assert answered[-1] - asked < 10
        pages = site.pages
        assert isinstance(pages, SlowPages)
        assert "/bridge.html" not in pages.answered or answered[-1] < pages.answered["/bridge.html"]
        # Within a bounded time a question about the feed's article cites it.
        while True:
            answer = client.predict(BRIDGE, api_name="/ask")  # not covered before the update
            if answer["citations"] and answer["citations"][0]["title"] == BRIDGE_TITLE:
                break
            assert time.monotonic() - started < 120, err.read_text()
            time.sleep(1)
        assert answered[-1] < pages.answered["/bridge.html"]  # answered during the update
        assert answer["citations"][0]["url"] == f"{site.url}/bridge.html"
        status, listing = client.predict(api_name="/status")
        assert NEWS_UPDATED.search(status), status
        assert "next update" in status or "updating the news" in status, status  # every 2 s
        assert "<b>2</b> articles" in status
        assert "1 new" in text(listing)
        asked_for_feed = site.asked.count("/feed.xml")
        time.sleep(5)  # two more scheduled updates: the feed is not due for 30 minutes
        assert site.asked.count("/feed.xml") == asked_for_feed
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "feed update: 1 feed fetched, 1 new article, 0 failed" in out.read_text()
    assert "feed update failed" not in err.read_text()


def test_serve_with_a_chroma_url_refuses_private_feeds_unless_allowed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import assistant.ui as ui

    made: list[dict[str, Any]] = []

    def build_app(settings: Settings, **kwargs: Any) -> str:
        made.append(kwargs)
        return "demo"

    monkeypatch.setattr(ui, "build_app", build_app, raising=False)
    monkeypatch.setattr(ui, "launch", lambda *args: "", raising=False)
    monkeypatch.setattr(ui, "parse_auth", lambda auth: None, raising=False)
    for args in (
        [],
        ["--allow-private"],
        ["--chroma-url", "http://127.0.0.1:9"],
        ["--chroma-url", "http://127.0.0.1:9", "--allow-private", "--update-every", "1h"],
        ["--host", "0.0.0.0"],  # served beyond this machine: a shared install too
        ["--host", "0.0.0.0", "--allow-private"],
    ):
        assert main(["serve", *args]) == 0
    assert made == [
        {"update_every": 0.0, "allow_private": True},
        {"update_every": 0.0, "allow_private": True},
        {"update_every": 0.0, "allow_private": False},
        {"update_every": 3600.0, "allow_private": True},
        {"update_every": 0.0, "allow_private": False},
        {"update_every": 0.0, "allow_private": True},
    ]
