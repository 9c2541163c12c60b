"""`assistant feeds ...` and `assistant update` end to end: feeds and pages of several publishers
served from a real HTTP server on loopback, indexed with the real model into a real Chroma."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assistant.api import get_assistant
from assistant.cli import main
from assistant.config import Settings
from index import feedlist
from index.places import Folder

PUBLISHED = datetime(2024, 3, 14, 9, 30, tzinfo=UTC)


def rss(title: str, items: list[tuple[str, str, str]]) -> bytes:
    """An RSS 2.0 feed of (title, link, summary) items, all of PUBLISHED."""
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><description>{d}</description>"
        f"<pubDate>{format_datetime(PUBLISHED)}</pubDate></item>"
        for t, link, d in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>http://example.org/</link>{body}</channel></rss>"
    ).encode()


def page(title: str, paragraphs: list[str]) -> bytes:
    """An article page: boilerplate around the main text."""
    text = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>{title}</title>"
        f'<meta property="og:title" content="{title}">'
        f'<meta property="article:published_time" content="2024-03-14"></head>'
        f"<body><nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        f"<article><h1>{title}</h1>{text}</article>"
        f"<footer>Copyright Example Media. All rights reserved.</footer></body></html>"
    ).encode()


BRIDGE = [
    "The harbour bridge in Portside reopened on Thursday after eight months of repairs.",
    "Engineers said the work cost about 3.5 million dollars and replaced every cable.",
    "The mayor of Portside, Ilse Varga, said traffic would return to normal within a week.",
    "Ferries that carried commuters during the repairs will keep a reduced timetable.",
]
LIBRARY = [
    "The Northfield library will stay open until 9 p.m. on weekdays from April.",
    "The council approved the longer hours on Tuesday after a petition of 2,000 residents.",
    "Librarians said evening visits had doubled since the reading room was renovated.",
]


class Site:
    """A loopback web server of fixed paths; it logs what was asked and honours ETags."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[int, str, bytes]] = {}
        self.asked: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                site.asked.append(self.path)
                status, kind, body = site.pages.get(self.path, (404, "text/plain", b"not found"))
                etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
                if status == 200 and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, path: str, body: bytes, kind: str = "text/html", status: int = 200) -> str:
        self.pages[path] = (status, kind, body)
        return self.url + path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def site() -> Iterator[Site]:
    served = Site()
    yield served
    served.close()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def port_times(site: Site) -> str:
    """A news site whose home page names its RSS feed; the feed carries summaries only."""
    site.add("/bridge.html", page("Harbour bridge reopens", BRIDGE))
    site.add(
        "/feed.xml",
        rss(
            "Port Times",
            [
                (
                    "Harbour bridge reopens",
                    f"{site.url}/bridge.html?utm_source=rss",
                    "The bridge is open.",
                )
            ],
        ),
        kind="application/rss+xml",
    )
    return site.add(
        "/",
        b'<html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml">'
        b"</head><body>Port Times</body></html>",
    )


def test_a_feed_is_followed_fetched_indexed_and_not_fetched_again(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    home = port_times(site)
    code, out, err = run(capsys, "feeds", "add", home)
    assert code == 0, err
    assert out.startswith("following port-times (") and "/feed.xml" in out  # followed to it
    code, out, err = run(capsys, "update", "-q")
    assert code == 0, err
    assert out.splitlines()[0] == "port-times: 1 new"
    code, out, _ = run(capsys, "ask", "How much did the bridge repairs cost?")
    assert "3.5 million dollars" in out and f"{site.url}/bridge.html" in out
    assert "utm_source" not in out  # the canonical link is stored

    site.asked.clear()
    code, out, _ = run(capsys, "update", "-q", "--all")
    assert code == 0 and out.splitlines() == ["port-times: unchanged"]
    assert site.asked == ["/feed.xml"]  # one conditional GET, answered 304

    # A new entry: only its page is fetched; the first one is indexed already.
    site.add("/library.html", page("Library opens late", LIBRARY))
    items = [
        ("Library opens late", f"{site.url}/library.html", "Longer hours."),
        ("Harbour bridge reopens", f"{site.url}/bridge.html", "The bridge is open."),
    ]
    site.add("/feed.xml", rss("Port Times", items), kind="application/rss+xml")
    site.asked.clear()
    code, out, _ = run(capsys, "update", "-q", "--all")
    assert out.splitlines()[0] == "port-times: 1 new"
    assert sorted(site.asked) == ["/feed.xml", "/library.html", "/robots.txt"]
    code, out, _ = run(capsys, "feeds", "list")
    assert "port-times" in out and "articles: 2" in out and "errors in a row: 0" in out


def test_bad_feeds_are_one_line_each_and_back_off(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    good = port_times(site)
    broken = site.add("/broken.xml", b'<?xml version="1.0"?><rss><chan', "application/rss+xml")
    missing = site.url + "/gone.xml"
    assert run(capsys, "feeds", "add", good)[0] == 0
    feeds = feedlist.read(Folder(Path(os.environ["ASSISTANT_INDEX_DIR"])))
    where = Folder(Path(os.environ["ASSISTANT_INDEX_DIR"]))
    feedlist.write(
        where, [*feeds, feedlist.FeedState("broken", broken), feedlist.FeedState("gone", missing)]
    )
    code, out, err = run(capsys, "update", "-q")
    assert code == 0, err  # one feed could be fetched
    lines = out.splitlines()
    assert lines[0] == "port-times: 1 new"
    assert lines[1].startswith("broken: failed: ") and lines[2].startswith("gone: failed: ")
    assert "404" in lines[2]
    states = {f.name: f for f in feedlist.read(where)}
    assert (
        states["gone"].failures == 1 and states["gone"].next_due > states["port-times"].last_fetch
    )
    code, out, _ = run(capsys, "update", "-q")  # nothing due: the failed ones are backed off
    assert code == 0 and out.startswith("no feed is due")
    code, out, _ = run(capsys, "update", "-q", "--all")
    assert {f.name: f.failures for f in feedlist.read(where)} == {
        "port-times": 0,
        "broken": 2,
        "gone": 2,
    }
    code, out, _ = run(capsys, "ask", "When did the harbour bridge reopen?")
    assert "reopened on Thursday" in out


def test_nothing_fetched_is_exit_1(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    where = Folder(Path(os.environ["ASSISTANT_INDEX_DIR"]))
    feedlist.write(where, [feedlist.FeedState("gone", site.url + "/gone.xml")])
    code, out, _ = run(capsys, "update", "-q")
    assert code == 1 and out.startswith("gone: failed: ")


def test_a_removed_feed_takes_its_articles_unless_kept(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "feeds", "add", port_times(site))[0] == 0
    assert run(capsys, "update", "-q")[0] == 0
    code, out, _ = run(capsys, "feeds", "remove", "port-times", "--keep")
    assert code == 0 and "its articles stay" in out
    assert "reopened on Thursday" in run(capsys, "ask", "When did the harbour bridge reopen?")[1]
    assert run(capsys, "feeds", "add", port_times(site))[0] == 0
    code, out, _ = run(capsys, "feeds", "remove", "port-times")
    assert code == 0 and "1 removed" in out
    get_assistant(Settings.from_env()).refresh()  # this process's app: the new index
    assert "reopened on Thursday" not in run(capsys, "ask", "When did the bridge reopen?")[1]
    code, _, err = run(capsys, "feeds", "remove", "port-times")
    assert code == 2 and err.startswith("error: no feed named 'port-times'")


def test_opml_in_and_out(site: Site, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    opml = tmp_path / "mine.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>Mine</title></head><body>'
        '<outline text="World"><outline text="Port Times" type="rss" xmlUrl="'
        f'{site.url}/feed.xml"/><outline text="Valley Post" type="rss" xmlUrl="'
        f'{site.url}/valley.xml"/></outline></body></opml>'
    )
    code, out, _ = run(capsys, "feeds", "import", str(opml))
    assert code == 0 and out.strip() == "2 feeds added, 0 followed already"
    assert (
        run(capsys, "feeds", "import", str(opml))[1].strip() == "0 feeds added, 2 followed already"
    )
    code, out, _ = run(capsys, "feeds", "export")
    again = tmp_path / "again.opml"
    again.write_text(out)
    from index.feeds import read_opml

    assert read_opml(again.read_bytes()) == [
        ("port-times", f"{site.url}/feed.xml"),
        ("valley-post", f"{site.url}/valley.xml"),
    ]


def test_a_page_robots_txt_disallows_is_not_fetched(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    port_times(site)
    site.add("/robots.txt", b"User-agent: *\nDisallow: /bridge.html\n", kind="text/plain")
    assert run(capsys, "feeds", "add", site.url + "/feed.xml")[0] == 0
    code, out, _ = run(capsys, "update", "-q")
    assert out.splitlines()[0] == "port-times: 0 new, 1 without an article"
    assert "robots.txt" in out.splitlines()[1]
    assert "/bridge.html" not in site.asked


def test_a_server_index_refuses_private_addresses_unless_allowed(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_server import ChromaServer

    chroma = ChromaServer(Path(os.environ["ASSISTANT_INDEX_DIR"]).parent / "chroma")
    chroma.start()
    try:
        url = ["--chroma-url", chroma.url]
        home = port_times(site)
        code, _, err = run(capsys, "feeds", "add", home, *url)
        assert code == 2 and "private" in err and len(err.splitlines()) == 1
        assert run(capsys, "feeds", "add", home, *url, "--allow-private")[0] == 0
        code, out, _ = run(capsys, "update", "-q", *url, "--allow-private")
        assert code == 0 and out.startswith("port-times: 1 new")
        code, out, _ = run(capsys, "feeds", "list", *url)  # the feeds live on the server
        assert "articles: 1" in out
        assert not (Path(os.environ["ASSISTANT_INDEX_DIR"]) / "feeds.json").exists()
        code, out, _ = run(capsys, "ask", "How much did the bridge repairs cost?", *url)
        assert "3.5 million dollars" in out
    finally:
        chroma.stop()


def test_entries_past_the_page_cap_come_with_the_next_update(
    site: Site, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from index import update as update_module

    monkeypatch.setattr(update_module, "MAX_PAGES", 1)
    site.add("/bridge.html", page("Harbour bridge reopens", BRIDGE))
    site.add("/library.html", page("Library opens late", LIBRARY))
    items = [
        ("Library opens late", f"{site.url}/library.html", "Longer hours."),
        ("Harbour bridge reopens", f"{site.url}/bridge.html", "The bridge is open."),
    ]
    feed = site.add("/feed.xml", rss("Port Times", items), kind="application/rss+xml")
    assert run(capsys, "feeds", "add", feed)[0] == 0
    assert run(capsys, "update", "-q")[1].splitlines()[0] == "port-times: 1 new"
    # The feed has not changed, but it was not read in full: not a 304 this time.
    assert run(capsys, "update", "-q", "--all")[1].splitlines()[0] == "port-times: 1 new"
    assert run(capsys, "update", "-q", "--all")[1].splitlines()[0] == "port-times: unchanged"


def test_a_page_fetched_once_is_not_fetched_again_even_if_not_indexed(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    site.add("/bridge.html", page("Harbour bridge reopens", BRIDGE))
    site.add("/bridge-again.html", page("Harbour bridge reopens", BRIDGE))  # the same text
    items = [
        ("Harbour bridge reopens", f"{site.url}/bridge.html", "The bridge is open."),
        ("Bridge reopens (again)", f"{site.url}/bridge-again.html", "The bridge is open."),
    ]
    feed = site.add("/feed.xml", rss("Port Times", items), kind="application/rss+xml")
    assert run(capsys, "feeds", "add", feed)[0] == 0
    code, out, _ = run(capsys, "update", "-q")
    assert out.splitlines()[0] == "port-times: 2 new" and "1 skipped" in out  # a duplicate
    site.add("/library.html", page("Library opens late", LIBRARY))
    new = [("Library opens late", f"{site.url}/library.html", "Longer hours."), *items]
    site.add("/feed.xml", rss("Port Times", new), kind="application/rss+xml")
    site.asked.clear()
    assert run(capsys, "update", "-q", "--all")[1].splitlines()[0] == "port-times: 1 new"
    assert sorted(site.asked) == ["/feed.xml", "/library.html", "/robots.txt"]


def rss_with_source(outlet: str, title: str, link: str) -> bytes:
    """An RSS 2.0 feed of one item whose <source> names the outlet that published it."""
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{outlet} feed</title>'
        f"<link>http://example.org/</link><item><title>{title}</title><link>{link}</link>"
        f"<description>In short.</description><pubDate>{format_datetime(PUBLISHED)}</pubDate>"
        f'<source url="http://example.org/rss">{outlet}</source></item></channel></rss>'
    ).encode()


def test_one_story_from_two_outlets_feeds_is_indexed_once_with_both_outlets(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    site.add("/times/bridge.html", page("Harbour bridge reopens", BRIDGE))
    edited = ["PORTSIDE (Valley Post) - " + BRIDGE[0], *BRIDGE[1:], "More on this story soon."]
    site.add("/valley/bridge.html", page("Bridge in Portside open again", edited))
    times = site.add(
        "/times.xml",
        rss_with_source("Port Times", "Harbour bridge reopens", f"{site.url}/times/bridge.html"),
        "application/rss+xml",
    )
    valley = site.add(
        "/valley.xml",
        rss_with_source("Valley Post", "Bridge open again", f"{site.url}/valley/bridge.html"),
        "application/rss+xml",
    )
    assert run(capsys, "feeds", "add", times, "--name", "times")[0] == 0
    assert run(capsys, "feeds", "add", valley, "--name", "valley")[0] == 0
    code, out, err = run(capsys, "update", "-q")
    assert code == 0, err
    assert "1 copy of indexed stories recorded, not embedded" in out, out
    code, out, _ = run(capsys, "ask", "How much did the bridge repairs cost?")
    cited = [line for line in out.splitlines() if line.startswith("[1] ")]
    assert cited and "also carried by 1 outlet: " in cited[0], out
    assert "Port Times" in cited[0] and "Valley Post" in cited[0], cited


@pytest.mark.parametrize("url", ["/etc/passwd", "file:///etc/passwd", "ftp://127.0.0.1/feed.xml"])
def test_a_feed_url_that_is_not_http_is_one_line(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    code, out, err = run(capsys, "feeds", "add", url)
    assert code == 2 and out == "" and len(err.splitlines()) == 1, err
    assert "only http and https are fetched" in err
