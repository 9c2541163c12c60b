"""index/feeds.py: feeds, pages and OPML read from bytes (every text here is made up)."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from index.feeds import (
    FULL_CHARS,
    MAX_ENTRIES,
    MIN_PAGE_CHARS,
    FeedError,
    canonical,
    discover,
    parse_feed,
    publisher,
    read_opml,
    read_page,
    write_opml,
)

TODAY = date(2024, 3, 10)
FEED_URL = "https://news.example.org/feed.xml"

# A made-up article, long enough (as plain text) to count as a feed's full text.
PARAGRAPHS = (
    "The Harbor Street bridge in Riverton reopened on Tuesday morning after eight months of "
    "repairs, the city's transport office said in a statement.",
    "Engineers replaced the corroded steel supports and resurfaced the deck at a cost of 4.2 "
    "million dollars, according to the office, which said the work had finished two weeks "
    "ahead of schedule.",
    "Commuters had crossed the river by ferry and on a temporary footbridge during the works. "
    "Mayor Elena Vasquez thanked residents for their patience and said the ferry would keep "
    "running on weekends until the end of the summer.",
    "Local shop owners on both banks said trade had fallen by a third while the bridge was "
    "closed, and the council has promised a fund to help them recover.",
)
FULL_HTML = "".join(f"<p>{p}</p>\n" for p in PARAGRAPHS)
FULL_TEXT = "\n\n".join(PARAGRAPHS)
assert len(FULL_TEXT) >= FULL_CHARS


def rss(items: str, extra_ns: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" {extra_ns}>
<channel>
  <title>Riverton Ledger - Local</title>
  <link>https://news.example.org/</link>
  <description>News from Riverton</description>
  {items}
</channel>
</rss>""".encode()


def item(title: str, link: str | None, when: str | None = None, body: str = "") -> str:
    link_xml = f"<link>{link}</link>" if link is not None else ""
    date_xml = f"<pubDate>{when}</pubDate>" if when else ""
    return f"<item><title>{title}</title>{link_xml}{date_xml}{body}</item>"


def rfc822(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S +0000")


# ------------------------------------------------------------------------- each format


def test_rss_091() -> None:
    body = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
  "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel>
<title>Marrow Valley Gazette</title><link>http://www.marrow-gazette.example/</link>
<description>Valley news</description><language>en-us</language>
<item><title>Caf\xe9 fire closes Main Street</title>
<link>http://www.marrow-gazette.example/stories/cafe-fire.html</link>
<description>A fire at a caf\xe9 closed Main Street for three hours on Sunday.</description></item>
</channel></rss>"""
    feed = parse_feed(body, "http://www.marrow-gazette.example/rss.xml", today=TODAY)
    assert feed.title == "Marrow Valley Gazette"
    assert feed.site == "http://www.marrow-gazette.example/"
    [entry] = feed.entries
    assert entry.title == "Café fire closes Main Street"  # ISO-8859-1 decoded
    assert entry.link == "http://www.marrow-gazette.example/stories/cafe-fire.html"
    assert entry.text == "A fire at a café closed Main Street for three hours on Sunday."
    assert not entry.full
    assert entry.published == ""
    assert entry.outlet == "marrow-gazette.example"
    assert feed.notes == ()


def test_rss_10_rdf() -> None:
    body = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
  xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://science.example.net/">
  <title>Lakeside Science Desk</title><link>https://science.example.net/</link>
  <description>Research news</description>
  <items><rdf:Seq>
    <rdf:li rdf:resource="https://science.example.net/owls"/>
    <rdf:li rdf:resource="https://science.example.net/comet"/>
  </rdf:Seq></items>
</channel>
<item rdf:about="https://science.example.net/comet">
  <title>Amateur astronomer spots faint comet</title>
  <link>https://science.example.net/comet</link>
  <description>A retired teacher in Lakeside found the comet on a winter night.</description>
  <dc:date>2024-03-02T21:00:00+01:00</dc:date>
</item>
<item rdf:about="https://science.example.net/owls">
  <title>Owl numbers recover in the marshes</title>
  <link>https://science.example.net/owls</link>
  <description>A survey counted 40 breeding pairs.</description>
  <dc:date>2024-03-04T08:00:00+01:00</dc:date>
</item>
</rdf:RDF>"""
    feed = parse_feed(body, "https://science.example.net/index.rdf", today=TODAY)
    assert feed.title == "Lakeside Science Desk"
    assert [e.link for e in feed.entries] == [  # newest first, whatever the feed's order
        "https://science.example.net/owls",
        "https://science.example.net/comet",
    ]
    assert [e.published for e in feed.entries] == ["2024-03-04", "2024-03-02"]
    assert feed.entries[0].text == "A survey counted 40 breeding pairs."
    assert feed.entries[0].outlet == "example.net"


def test_rss_20_with_full_text_and_with_only_a_description() -> None:
    full = (
        "<description>Short teaser about the bridge.</description>"
        f"<content:encoded><![CDATA[{FULL_HTML}<script>track('x')</script>"
        "<style>p {{ color: red }}</style>]]></content:encoded>"
    )
    teaser = (
        "<description>&lt;p&gt;The council met for &lt;b&gt;six&lt;/b&gt; hours.&lt;/p&gt;"
        "</description>"
    )
    bridge_url, tuesday = "https://news.example.org/bridge", "Tue, 05 Mar 2024 09:00:00 GMT"
    body = rss(
        item("Harbor bridge reopens", bridge_url, tuesday, full)
        + item("Council debates budget", "/council?id=7", "Mon, 04 Mar 2024 18:00:00 GMT", teaser)
    )
    feed = parse_feed(body, FEED_URL, today=TODAY)
    assert feed.title == "Riverton Ledger - Local"
    assert feed.site == "https://news.example.org/"
    bridge, council = feed.entries
    assert bridge.full and bridge.text == FULL_TEXT  # paragraphs kept, script and style not
    assert "track" not in bridge.text and "color" not in bridge.text
    assert bridge.published == "2024-03-05"
    assert not council.full
    assert council.text == "The council met for six hours."
    assert council.link == "https://news.example.org/council?id=7"  # resolved against the feed


def test_short_content_is_not_full_text() -> None:
    body = rss(
        item(
            "Ferry timetable changes",
            "https://news.example.org/ferry",
            body="<content:encoded><![CDATA[<p>The ferry runs hourly from Monday.</p>]]>"
            "</content:encoded>",
        )
    )
    [entry] = parse_feed(body, FEED_URL, today=TODAY).entries
    assert entry.text == "The ferry runs hourly from Monday."
    assert not entry.full


def test_rss_source_names_the_outlet() -> None:
    body = rss(
        item(
            "Wire: storm heads north",
            "https://news.example.org/wire/storm",
            body='<source url="https://wire.example.com/rss">Example Wire Service</source>',
        )
        + item("Our own story", "https://news.example.org/own")
    )
    wire, own = parse_feed(body, FEED_URL, today=TODAY).entries
    assert wire.outlet == "Example Wire Service"
    assert own.outlet == "example.org"


def test_atom_with_content_and_with_summary() -> None:
    body = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Northbank Courier</title>
  <link href="https://courier.example.com/"/>
  <link rel="self" href="https://courier.example.com/atom.xml"/>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2024-03-06T12:00:00Z</updated>
  <entry>
    <title type="html">Bridge &lt;em&gt;reopens&lt;/em&gt;</title>
    <link rel="alternate" href="https://courier.example.com/2024/bridge"/>
    <id>urn:courier:1</id>
    <published>2024-03-05T07:00:00Z</published>
    <updated>2024-03-06T12:00:00Z</updated>
    <summary>Teaser.</summary>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">{FULL_HTML}</div></content>
  </entry>
  <entry>
    <title>School roof repaired</title>
    <link href="https://courier.example.com/2024/roof"/>
    <id>urn:courier:2</id>
    <updated>2024-03-04T10:00:00Z</updated>
    <summary type="html">&lt;p&gt;Pupils return to &lt;a href="/x"&gt;Elm School&lt;/a&gt;.
      &lt;/p&gt;</summary>
  </entry>
</feed>""".encode()
    feed = parse_feed(body, "https://courier.example.com/atom.xml", today=TODAY)
    assert feed.title == "Northbank Courier"
    assert feed.site == "https://courier.example.com/"
    bridge, roof = feed.entries
    assert bridge.title == "Bridge reopens"
    assert bridge.published == "2024-03-05"  # published, not updated
    assert bridge.full and bridge.text == FULL_TEXT
    assert roof.published == "2024-03-04"
    assert roof.text == "Pupils return to Elm School."
    assert not roof.full


def test_json_feed_with_content_html_and_with_only_a_summary() -> None:
    body = f"""{{
  "version": "https://jsonfeed.org/version/1.1",
  "title": "Hillcrest Daily",
  "home_page_url": "https://www.hillcrest-daily.example/",
  "items": [
    {{"id": "2", "url": "/2024/03/market", "title": "Farmers market moves indoors",
      "summary": "The market will use the old station hall.",
      "date_published": "2024-03-03T09:30:00-05:00"}},
    {{"id": "1", "url": "https://www.hillcrest-daily.example/2024/03/bridge?utm_source=feed",
      "title": "Bridge reopens", "content_html": {json.dumps(FULL_HTML)}, "summary": "Teaser.",
      "date_published": "2024-03-05T07:00:00Z"}},
    {{"id": "3", "external_url": "https://elsewhere.example.net/story", "title": "Link post",
      "content_text": "A short note.\\n\\nWith two paragraphs."}},
    "not an item"
  ]
}}""".encode()
    feed = parse_feed(body, "https://www.hillcrest-daily.example/feed.json", today=TODAY)
    assert feed.title == "Hillcrest Daily"
    assert feed.site == "https://www.hillcrest-daily.example/"
    bridge, market, link_post = feed.entries
    assert bridge.link == "https://www.hillcrest-daily.example/2024/03/bridge"
    assert bridge.full and bridge.text == FULL_TEXT
    assert bridge.published == "2024-03-05"
    assert market.link == "https://www.hillcrest-daily.example/2024/03/market"
    assert market.text == "The market will use the old station hall."
    assert not market.full and market.published == "2024-03-03"
    assert link_post.link == "https://elsewhere.example.net/story"
    assert link_post.text == "A short note.\n\nWith two paragraphs."
    assert link_post.outlet == "example.net" and bridge.outlet == "hillcrest-daily.example"
    assert feed.notes == ("1 item skipped: not a JSON object",)


def test_json_feed_content_html_loses_its_scripts() -> None:
    html = FULL_HTML + "<script>document.write('ad')</script><style>.x{}</style>"
    items = [{"id": "1", "url": "https://a.example.org/1", "content_html": html}]
    doc = {"version": "https://jsonfeed.org/version/1", "title": "T", "items": items}
    [entry] = parse_feed(json.dumps(doc).encode(), "https://a.example.org/f", TODAY).entries
    assert entry.text == FULL_TEXT


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"title": "not a feed", "items": []}', "not a JSON Feed"),
        (b"[1, 2, 3]", "not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": ', "not valid JSON"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": 3}', "without an items"),
    ],
)
def test_json_that_is_not_a_json_feed(body: bytes, why: str) -> None:
    with pytest.raises(FeedError, match=why) as raised:
        parse_feed(body, "https://a.example.org/data.json", today=TODAY)
    assert str(raised.value).startswith("https://a.example.org/data.json: ")


def test_two_feeds_of_one_publisher_name_the_same_outlet() -> None:
    one = parse_feed(rss(item("A", "https://news.example.org/a")), FEED_URL, TODAY)
    other = parse_feed(
        rss(item("B", "https://www.example.org/b")), "https://www.example.org/rss", TODAY
    )
    assert one.entries[0].outlet == other.entries[0].outlet == "example.org"


# ------------------------------------------------------------------------- not a feed


def test_malformed_xml_is_a_feed_error() -> None:
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Broken</tit'
    with pytest.raises(FeedError, match="not well-formed XML") as raised:
        parse_feed(body, FEED_URL, today=TODAY)
    message = str(raised.value)
    assert message.startswith(FEED_URL) and "\n" not in message


def test_malformed_xml_with_entries_recovered_is_read_with_a_note() -> None:
    body = rss(item("Fine", "https://news.example.org/fine")).replace(b"</channel>", b"")
    feed = parse_feed(body, FEED_URL, today=TODAY)
    assert [e.link for e in feed.entries] == ["https://news.example.org/fine"]
    assert any("not well-formed XML" in note for note in feed.notes)


HTML_PAGE = b"""<!DOCTYPE html>
<html><head><title>Riverton Ledger</title>
<base href="https://news.example.org/section/">
<link rel="stylesheet" href="/style.css">
<link rel="alternate" hreflang="fr" href="/fr/">
<link rel="alternate" type="application/rss+xml" title="Local" href="../feeds/local.xml">
<link rel="alternate" type="application/atom+xml" href="/atom.xml">
</head><body><p>Welcome</p></body></html>"""


def test_an_html_page_is_not_a_feed_and_discover_finds_its_feed() -> None:
    with pytest.raises(FeedError, match="an HTML page, not a feed"):
        parse_feed(HTML_PAGE, "https://news.example.org/", today=TODAY)
    assert discover(HTML_PAGE, "https://news.example.org/") == (
        "https://news.example.org/feeds/local.xml"  # against <base href>, and the first one
    )


def test_discover_resolves_against_the_page_without_a_base() -> None:
    page = (
        b'<html><head><link rel="Alternate" type="application/feed+json; charset=utf-8"'
        b' href="feed.json"></head><body></body></html>'
    )
    assert discover(page, "https://blog.example.com/posts/") == (
        "https://blog.example.com/posts/feed.json"
    )
    nothing = b'<html><head><link rel="alternate" hreflang="de" href="/de/"></head></html>'
    assert discover(nothing, "https://blog.example.com/") is None
    assert discover(b"", "https://blog.example.com/") is None
    assert discover(b"%PDF-1.7\n", "https://blog.example.com/") is None


def test_html_without_a_doctype_is_still_an_html_page() -> None:
    with pytest.raises(FeedError, match="an HTML page, not a feed"):
        parse_feed(b"<head><title>x</title></head><body><p>Hi", FEED_URL, today=TODAY)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"", "empty"),
        (b"  \n ", "empty"),
        (b"<catalog><book/></catalog>", "not an RSS, Atom or JSON feed"),
        (b"just some words", "not"),
    ],
)
def test_other_bodies_are_feed_errors(body: bytes, why: str) -> None:
    with pytest.raises(FeedError, match=why):
        parse_feed(body, FEED_URL, today=TODAY)


def test_a_valid_feed_without_entries_is_not_an_error() -> None:
    feed = parse_feed(rss(""), FEED_URL, today=TODAY)
    assert feed.title == "Riverton Ledger - Local" and feed.entries == () and feed.notes == ()


def test_a_body_naming_a_file_is_not_opened(tmp_path: Path) -> None:
    """feedparser opens a path given as bytes: parse_feed must not let it."""
    secret = tmp_path / "feed.xml"
    secret.write_bytes(rss(item("Secret", "https://news.example.org/secret")))
    with pytest.raises(FeedError):
        parse_feed(str(secret).encode(), FEED_URL, today=TODAY)


# ------------------------------------------------------------------------- entries


def test_a_feed_of_100000_entries_gives_the_newest_max_entries_with_a_note() -> None:
    start = datetime(2023, 1, 1, tzinfo=UTC)
    order = list(range(100_000))
    random.Random(7).shuffle(order)  # the newest are not simply the first
    items = "".join(
        item(f"Story {n}", f"https://news.example.org/s/{n}", rfc822(start + timedelta(minutes=n)))
        for n in order
    )
    began = time.perf_counter()
    feed = parse_feed(rss(items), FEED_URL, today=date(2024, 12, 31))
    took = time.perf_counter() - began
    assert len(feed.entries) == MAX_ENTRIES
    newest = [f"https://news.example.org/s/{n}" for n in range(99_999, 99_999 - MAX_ENTRIES, -1)]
    assert [e.link for e in feed.entries] == newest
    assert feed.notes == ("100,000 entries: the newest 1,000 read",)
    assert took < 15, f"{took:.1f} s"  # feedparser alone takes some 16 s for them all


def test_entries_without_a_link_without_a_date_or_dated_in_the_future() -> None:
    tomorrow = rfc822(datetime(2024, 3, 11, 6, 0, tzinfo=UTC))
    next_week = rfc822(datetime(2024, 3, 17, 6, 0, tzinfo=UTC))
    full = f"<content:encoded><![CDATA[{FULL_HTML}]]></content:encoded>"
    body = rss(
        item("No link, summary only", None, "Fri, 08 Mar 2024 10:00:00 GMT",
             "<description>Nothing to fetch.</description>")
        + item("No link either", None, None, "<description>Nor here.</description>")
        + item("No link, full text", None, "Thu, 07 Mar 2024 10:00:00 GMT", full)
        + item("No date", "https://news.example.org/undated")
        + item("From the future", "https://news.example.org/future", next_week)
        + item("Tomorrow (time zones)", "https://news.example.org/tomorrow", tomorrow)
        + item("Late evening in New York", "https://news.example.org/ny",
               "Tue, 05 Mar 2024 23:30:00 -0500")
        + item("Not a date", "https://news.example.org/garbled", "the day before yesterday")
    )  # fmt: skip
    feed = parse_feed(body, FEED_URL, today=TODAY)
    got = [(e.title, e.link, e.published) for e in feed.entries]
    assert got == [
        ("Tomorrow (time zones)", "https://news.example.org/tomorrow", "2024-03-11"),
        ("No link, full text", "", "2024-03-07"),
        ("Late evening in New York", "https://news.example.org/ny", "2024-03-05"),  # its day
        ("No date", "https://news.example.org/undated", ""),  # undated: last, in feed order
        ("From the future", "https://news.example.org/future", ""),
        ("Not a date", "https://news.example.org/garbled", ""),
    ]
    assert feed.entries[1].full and feed.entries[1].text == FULL_TEXT
    assert feed.entries[1].outlet == "example.org"  # the feed's site names it
    assert feed.notes == ("2 entries without a link (and no full text) skipped",)


def test_the_same_article_twice_is_read_once() -> None:
    url = "https://news.example.org/bridge"
    body = rss(
        item("Bridge", f"{url}?utm_source=rss", "Tue, 05 Mar 2024 09:00:00 GMT")
        + item("Bridge (again)", f"{url}#top", "Mon, 04 Mar 2024 09:00:00 GMT")
    )
    feed = parse_feed(body, FEED_URL, today=TODAY)
    assert [e.title for e in feed.entries] == ["Bridge"]
    assert feed.notes == ("1 entry repeating an earlier link skipped",)


# ------------------------------------------------------------------------- URLs


def test_canonical_drops_tracking_fragments_and_sorts_the_query() -> None:
    plain = "https://news.example.org/2024/03/bridge?id=7&page=2"
    variants = [
        "https://news.example.org/2024/03/bridge?page=2&id=7",
        "https://news.example.org/2024/03/bridge?utm_source=rss&utm_medium=feed&id=7&page=2",
        "https://news.example.org/2024/03/bridge?id=7&fbclid=IwAR0abc&page=2#comments",
        "HTTPS://NEWS.Example.ORG:443/2024/03/bridge?page=2&gclid=x&id=7&mc_cid=1&mc_eid=2",
        "https://news.example.org/2024/03/./bridge?id=7&page=2&ref=homepage&cmpid=rss",
        " https://news.example.org/2024/extra/../03/bridge?id=7&page=2&CMP=share ",
    ]
    assert {canonical(url) for url in variants} == {plain}
    assert canonical(plain) == plain


def test_canonical_keeps_what_names_the_article() -> None:
    assert canonical("https://a.example/read?story=1") != canonical(
        "https://a.example/read?story=2"
    )
    assert canonical("http://a.example:8080/x") == "http://a.example:8080/x"
    assert canonical("http://a.example:80") == "http://a.example/"
    assert canonical("https://a.example/b?z=1&a=2&a=1") == "https://a.example/b?a=2&a=1&z=1"
    # courlan's clean_url would take the embedded URL for the article's: canonical does not
    assert (
        canonical("https://a.example/post?ref=https://other.example/") == "https://a.example/post"
    )


@pytest.mark.parametrize(
    "url", ["", "ftp://a.example/x", "mailto:desk@a.example", "javascript:alert(1)", "/relative",
            "https://", "http://[::1"]
)  # fmt: skip
def test_canonical_of_what_is_not_a_web_url_is_empty(url: str) -> None:
    assert canonical(url) == ""


def test_publisher_is_the_registered_domain_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    import tld.base
    import tld.utils

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("tried to download the public-suffix list")

    monkeypatch.setattr(tld.base, "urlopen", no_download)
    monkeypatch.setattr(tld.utils, "tld_names", {})  # read the shipped list again, from disk
    assert publisher("https://www.bbc.co.uk/news/world") == "bbc.co.uk"
    assert publisher("https://edition.cnn.com/2024/03/05/x") == "cnn.com"
    assert publisher("https://news.example.org/feed.xml") == "example.org"
    assert publisher("https://www.example.org/") == "example.org"
    assert publisher("http://WWW.Example.ORG:8080/") == "example.org"
    assert publisher("news.example.org") == "example.org"
    assert publisher("https://city.gov.uk.example.com/") == "example.com"
    assert tld.utils.tld_names  # it was read again, from the file
    assert publisher("http://127.0.0.1:8000/feed") == "127.0.0.1"
    assert publisher("http://localhost/feed") == "localhost"
    assert publisher("") == ""


# ------------------------------------------------------------------------- pages


def page(head: str, body: str) -> bytes:
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{head}
<script>var tracking = "must not appear";</script><style>p {{ margin: 0 }}</style></head>
<body><nav><a href="/">Home</a> <a href="/sport">Sport</a></nav>{body}
<footer>Copyright 2024</footer></body></html>""".encode()


ARTICLE_HEAD = """<title>Harbor bridge reopens | The Riverton Ledger</title>
<meta property="og:site_name" content="The Riverton Ledger">
<meta property="article:published_time" content="2024-03-05T08:00:00+01:00">"""
ARTICLE_BODY = f"<article><h1>Harbor bridge reopens</h1>{FULL_HTML}</article>"


def test_read_page_of_an_article() -> None:
    url = "https://news.example.org/2024/bridge"
    got = read_page(page(ARTICLE_HEAD, ARTICLE_BODY), url, today=TODAY)
    assert got is not None
    assert got.title == "Harbor bridge reopens"
    assert got.text == FULL_TEXT  # paragraphs by blank lines; no headline, menu or script
    assert got.published == "2024-03-05"
    assert got.outlet == "The Riverton Ledger"


def test_read_page_without_a_site_name_or_with_a_future_date() -> None:
    head = """<title>Harbor bridge reopens</title>
<meta property="article:published_time" content="2031-01-01T08:00:00Z">"""
    got = read_page(page(head, ARTICLE_BODY), "https://edition.ledger.example.com/b", TODAY)
    assert got is not None
    assert got.outlet == "example.com"
    assert got.published == ""


@pytest.mark.parametrize(
    "body",
    [
        b"",
        page("<title>Nothing</title>", ""),
        page(
            "<title>Tax plan | Ledger</title>",
            "<article><h1>Tax plan</h1><p>The council will vote on a new tax plan.</p>"
            "<p>Subscribe to continue reading.</p></article>",
        ),
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n" + FULL_TEXT.encode(),
        b"\x89PNG\r\n\x1a\n\x00\x00" + FULL_HTML.encode(),
    ],
    ids=["empty", "no text", "paywall stub", "pdf", "png"],
)
def test_read_page_of_a_page_without_an_article_is_none(body: bytes) -> None:
    assert read_page(body, "https://news.example.org/x", today=TODAY) is None


def test_min_page_chars_is_the_bound() -> None:
    assert MIN_PAGE_CHARS == 200
    short = "".join(f"<p>{p}</p>" for p in PARAGRAPHS[:1])  # about 150 characters
    assert (
        read_page(page("<title>T</title>", f"<article>{short}</article>"), "https://a.example/x")
        is None
    )


# ------------------------------------------------------------------------- OPML


def test_opml_round_trip() -> None:
    feeds = [
        ("Riverton Ledger & Co <local>", "https://news.example.org/feed.xml?a=1&b=2"),
        ('Caf\u00e9 "Quotes" \u2014 Gazette', "http://www.marrow-gazette.example/rss.xml"),
        ("", "https://courier.example.com/atom.xml"),
    ]
    text = write_opml(feeds, title="My feeds")
    assert read_opml(text) == [feeds[0], feeds[1], (feeds[2][1], feeds[2][1])]
    assert read_opml(text.encode()) == read_opml(text)
    root = etree.fromstring(text.encode())
    assert root.get("version") == "2.0" and root.findtext("head/title") == "My feeds"
    first = root.find("body/outline")
    assert first is not None
    assert first.attrib == {
        "type": "rss",
        "text": feeds[0][0],
        "title": feeds[0][0],
        "xmlUrl": feeds[0][1],
    }


def test_opml_nested_outlines() -> None:
    text = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0"><head><title>Exported</title></head><body>
  <outline text="Local">
    <outline text="Riverton Ledger" type="rss" xmlUrl="https://news.example.org/feed.xml"/>
    <outline text="Deeper"><outline title="Courier" xmlUrl="https://courier.example.com/atom.xml"/></outline>
  </outline>
  <outline text="A web page, not a feed" htmlUrl="https://example.com/"/>
  <outline text="Science" type="rss" xmlUrl="https://science.example.net/index.rdf"/>
</body></opml>"""
    assert read_opml(text) == [
        ("Riverton Ledger", "https://news.example.org/feed.xml"),
        ("Courier", "https://courier.example.com/atom.xml"),
        ("Science", "https://science.example.net/index.rdf"),
    ]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("<opml><body><outline text='x' xmlUrl='https://a.example/f'></body>", "not well-formed"),
        ("", "not well-formed"),
        (b"\xff\xfe\x00garbage", "not well-formed"),
        ("<rss version='2.0'><channel/></rss>", "not <opml>"),
    ],
)
def test_malformed_opml(text: str | bytes, why: str) -> None:
    with pytest.raises(FeedError, match=why):
        read_opml(text)


def laugh(n: int) -> str:
    """A reference to the entity of "billion laughs" level n."""
    return f"&lol{n or ''};"


def test_opml_entities_are_neither_expanded_nor_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    xxe = f"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY xxe SYSTEM "file://{secret}">]>
<opml version="2.0"><body><outline text="&xxe;" xmlUrl="https://a.example/&xxe;"/></body></opml>"""
    with pytest.raises(FeedError, match="entities") as raised:
        read_opml(xxe)
    assert "TOP-SECRET" not in str(raised.value)

    laughs = "\n".join(
        [
            '<?xml version="1.0"?>',
            "<!DOCTYPE opml [",
            '<!ENTITY lol "lol">',
            *(f'<!ENTITY lol{n} "{laugh(n - 1) * 10}">' for n in range(1, 10)),
            "]>",
            '<opml version="2.0"><body><outline text="&lol9;" xmlUrl="https://a.example/f"/>',
            "</body></opml>",
        ]
    )
    began = time.perf_counter()
    with pytest.raises(FeedError, match="entities"):
        read_opml(laughs)
    utf16 = laughs.replace('"1.0"?>', '"1.0" encoding="UTF-16"?>', 1).encode("utf-16")
    with pytest.raises(FeedError):  # libxml2 refuses it too
        read_opml(utf16)
    assert time.perf_counter() - began < 1

    harmless = """<?xml version="1.0" encoding="UTF-16"?>
<!DOCTYPE opml [<!ENTITY town "Riverton">]>
<opml version="2.0"><head><title>&town;</title></head><body>
<outline text="Ledger" xmlUrl="https://news.example.org/feed.xml"/></body></opml>"""
    with pytest.raises(FeedError, match="entities"):  # where a byte search cannot see them
        read_opml(harmless.encode("utf-16"))


def test_feed_entities_are_neither_expanded_nor_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    lols = "\n".join(f'<!ENTITY lol{n} "{laugh(n - 1) * 10}">' for n in range(1, 10))
    body = f"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY lol "lol">
{lols}
<!ENTITY xxe SYSTEM "file://{secret}">]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>&xxe;</title><link>https://news.example.org/x</link>
<description>&lol9; &xxe;</description></item></channel></rss>""".encode()
    began = time.perf_counter()
    feed = parse_feed(body, FEED_URL, today=TODAY)
    assert time.perf_counter() - began < 2
    [entry] = feed.entries
    assert "TOP-SECRET" not in entry.title + entry.text
    assert len(feed.title) + len(entry.text) < 100  # not a billion laughs
