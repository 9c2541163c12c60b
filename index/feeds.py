"""Feeds (RSS 0.9x/1.0/2.0, Atom, JSON Feed), the pages their entries link to, and OPML lists of
feeds: pure parsing of bytes already fetched. Nothing here opens a URL or a file.

feedparser is only ever given a stream: given bytes it would open them as a path, given a str
URL it would fetch it. OPML is parsed without entities, DTDs or network. URLs are made canonical
with courlan (plus what it lacks, see `canonical`), and publishers are registered domains from
the public-suffix list the `tld` package ships (read from disk: never downloaded here).
"""

from __future__ import annotations

import io
import itertools
import json
import re
import xml.sax
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urldefrag, urlencode, urljoin, urlsplit, urlunsplit

from courlan import extract_domain, normalize_url
from lxml import etree
from lxml import html as lxml_html

from index.errors import NewsAssistantError

MAX_ENTRIES = 1000  # entries read from one feed: the newest
FULL_CHARS = 600  # plain text in a feed's content element that counts as the whole article
MIN_PAGE_CHARS = 200  # main text of a page below which it holds no article (a stub, a paywall)

_FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/json"}
)
_JSON_FEED = "https://jsonfeed.org/version/"

# Query parameters that track a click, not name an article, and that courlan 1.4 keeps (it drops
# utm_*, fbclid, gclid, mc_*, ref, source and many more on its own).
# fmt: off
_TRACKERS = frozenset(
    {
        "cmpid", "cmp", "ncid", "ocid", "icid", "smid", "smtyp", "ito", "mbid", "oref", "sref",
        "taid", "spm", "ftag", "sr_share", "dicbo", "__twitter_impression", "_hsenc", "_hsmi",
    }
)
# fmt: on
_TRACKER_PREFIXES = ("utm_", "ns_", "wt.", "at_", "pk_", "mtm_", "hsa_")


class FeedError(NewsAssistantError):
    """A feed (or an OPML list) that cannot be read; the message names it and says why."""


@dataclass(frozen=True)
class Entry:
    """One entry of a feed: an article, or a pointer to one."""

    link: str  # canonical(url) of the entry's link, "" if none (then `full` is true)
    title: str
    published: str  # ISO date (YYYY-MM-DD) or "": none, not a date, or in the future
    text: str  # the entry's full text if the feed carries it, else its summary ("" if none)
    full: bool  # whether `text` is the whole article; if not, its page is to be fetched
    outlet: str  # the publisher: the entry's <source> if it names one, else publisher(link)


@dataclass(frozen=True)
class Feed:
    title: str
    site: str  # the feed's home page, or ""
    entries: tuple[Entry, ...]  # newest first (undated ones last), at most MAX_ENTRIES
    notes: tuple[str, ...]  # what a reader should know: entries skipped, the feed cut


@dataclass(frozen=True)
class Page:
    """The article an HTML page holds."""

    title: str
    text: str  # main text, paragraphs separated by blank lines
    published: str  # ISO date from the page's metadata, or ""
    outlet: str  # the site's name from its metadata, else publisher(url)


# ---------------------------------------------------------------------------------- feeds


@dataclass
class _Item:
    """An entry as a feed states it, before its HTML is turned into text."""

    link: str
    title: str
    when: datetime | None  # None: no date, not a date, or in the future
    contents: list[tuple[str, bool]]  # (value, is_html) of its full-content elements
    summary: tuple[str, bool] | None
    source: str


def parse_feed(body: bytes, url: str, today: date | None = None) -> Feed:
    """The feed in `body` (fetched from `url`); FeedError when it is not one."""
    today = today or date.today()
    start = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not start:
        raise FeedError(f"{url}: empty response, not a feed")
    if start[:1] in (b"{", b"["):
        read = _json_feed(body, url, today)
    elif _HTML_START.match(start[:65536]):
        raise FeedError(f"{url}: an HTML page, not a feed")
    else:
        read = _xml_feed(body, url, today)
    entries, notes = _select(read.items, read.total or len(read.items), read.site or url)
    return Feed(read.title, read.site, entries, tuple(read.notes + notes))


@dataclass
class _Read:
    """A feed as its format states it."""

    title: str
    site: str
    items: list[_Item]
    notes: list[str]
    total: int | None = None  # its number of entries, if some were cut before `items`


_HTML_START = re.compile(
    rb"(?:\s|<\?xml[^>]*\?>|<!--.*?-->)*<(?:!doctype\s+html|html)\b", re.IGNORECASE | re.DOTALL
)
_HTML_TAGS = re.compile(rb"<(?:html|head|body)\b", re.IGNORECASE)
_ITEM_TAG = re.compile(rb"<(?:[\w.-]+:)?(?:item|entry)[\s/>]")


def _xml_feed(body: bytes, url: str, today: date) -> _Read:
    """RSS or Atom, read by feedparser (a feed of more than MAX_ENTRIES entries cut first)."""
    import feedparser

    total = None
    if next(itertools.islice(_ITEM_TAG.finditer(body), MAX_ENTRIES, None), None):
        cut = _newest_only(body, today)
        if cut:
            body, total = cut
    parsed = feedparser.parse(io.BytesIO(body), response_headers={"content-location": url})
    error = parsed.get("bozo_exception")
    malformed = bool(parsed.get("bozo")) and isinstance(error, xml.sax.SAXException)
    if not parsed.entries:
        if not parsed.get("version") and _HTML_TAGS.search(body[:65536]):
            raise FeedError(f"{url}: an HTML page, not a feed")
        if malformed:
            raise FeedError(f"{url}: not well-formed XML ({_one_line(error)}), no entries read")
        if not parsed.get("version"):
            raise FeedError(f"{url}: not an RSS, Atom or JSON feed")
    notes = [f"not well-formed XML ({_one_line(error)}): read leniently"] if malformed else []
    head = parsed.feed
    return _Read(
        title=_text_of(head.get("title"), _is_html(head.get("title_detail"))),
        site=canonical(str(head.get("link") or "")),
        items=[_feedparser_item(entry, today) for entry in parsed.entries],
        notes=notes,
        total=total,
    )


def _feedparser_item(parsed: Mapping[str, Any], today: date) -> _Item:
    entry = dict(parsed)  # its own keys: feedparser's aliases warn (updated -> published)
    contents = [
        (str(part.get("value") or ""), _is_html(part))
        for part in entry.get("content") or ()
        if isinstance(part, Mapping)
    ]
    summary = entry.get("summary")
    source = entry.get("source")
    outlet = source.get("title") if isinstance(source, Mapping) else None
    raw = {name: entry.get(name) for name in ("published", "updated", "created")}
    when = next((w for name in raw if (w := _moment(raw[name], today)) is not None), None)
    if when is None:  # a date feedparser reads and this module does not (it is in UTC then)
        when = _moment(entry.get("published_parsed") or entry.get("updated_parsed"), today)
    return _Item(
        link=str(entry.get("link") or ""),
        title=_text_of(entry.get("title"), _is_html(entry.get("title_detail"))),
        when=when,
        contents=contents,
        summary=(str(summary), _is_html(entry.get("summary_detail"))) if summary else None,
        source=_text_of(outlet, False),
    )


def _is_html(detail: object) -> bool:
    """Whether a feedparser value (its *_detail) is HTML rather than plain text."""
    kind = detail.get("type") if isinstance(detail, Mapping) else None
    return str(kind or "text/html") in ("text/html", "application/xhtml+xml")


def _newest_only(body: bytes, today: date) -> tuple[bytes, int] | None:
    """The feed with only its newest entries left (a margin over MAX_ENTRIES, for entries that
    will be skipped), and how many it had; None if lxml cannot read it (feedparser reads it all).

    feedparser takes some 16 s for 100,000 entries; lxml and this cut take about 2 s.
    """
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError:
        return None
    tree = root.getroottree()
    dtd = tree.docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        return None  # entity references would not survive the cut: feedparser reads it all
    entries = [
        el for el in root.iter() if isinstance(el.tag, str) and _local(el) in ("item", "entry")
    ]
    dated = [(_entry_moment(el, today), n) for n, el in enumerate(entries)]
    dated.sort(key=lambda pair: _order(pair[0], pair[1]))
    for _, n in dated[2 * MAX_ENTRIES :]:
        element = entries[n]
        parent = element.getparent()
        if parent is not None:
            parent.remove(element)
    return etree.tostring(tree, encoding="utf-8", xml_declaration=True), len(entries)


_DATE_TAGS = ("published", "pubDate", "date", "issued", "updated", "modified", "created")


def _entry_moment(element: etree._Element, today: date) -> datetime | None:
    found = {_local(child): child.text for child in element if isinstance(child.tag, str)}
    for name in _DATE_TAGS:
        if name in found and (when := _moment(found[name], today)) is not None:
            return when
    return None


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _json_feed(body: bytes, url: str, today: date) -> _Read:
    """A JSON Feed (https://jsonfeed.org/version/1.1), read as the spec says."""
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise FeedError(f"{url}: not valid JSON ({_one_line(error)}), not a feed") from None
    if not isinstance(doc, dict) or not str(doc.get("version") or "").startswith(_JSON_FEED):
        raise FeedError(f"{url}: JSON but not a JSON Feed (no version {_JSON_FEED}1.1)")
    items = doc.get("items")
    if not isinstance(items, list):
        raise FeedError(f"{url}: a JSON Feed without an items list")
    notes, read = [], []
    for item in items:
        if isinstance(item, dict):
            read.append(_json_item(item, url, today))
    if len(read) < len(items):
        notes.append(f"{_count(len(items) - len(read), 'item')} skipped: not a JSON object")
    site = _string(doc.get("home_page_url"))
    site = canonical(urljoin(url, site)) if site else ""
    return _Read(_text_of(_string(doc.get("title")), False), site, read, notes)


def _json_item(item: Mapping[str, Any], url: str, today: date) -> _Item:
    link = _string(item.get("url")) or _string(item.get("external_url"))
    contents = [
        (value, is_html)
        for name, is_html in (("content_html", True), ("content_text", False))
        if (value := _string(item.get(name)))
    ]
    summary = _string(item.get("summary"))
    return _Item(
        link=urljoin(url, link) if link else "",
        title=_text_of(_string(item.get("title")), False),
        when=_moment(_string(item.get("date_published")), today)
        or _moment(_string(item.get("date_modified")), today),
        contents=contents,
        summary=(summary, False) if summary else None,
        source="",
    )


def _string(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _select(items: list[_Item], total: int, home: str) -> tuple[tuple[Entry, ...], list[str]]:
    """The newest MAX_ENTRIES entries worth reading (of `total` in the feed), and notes on the
    rest; `home` names the publisher of an entry without a link."""
    order = sorted(range(len(items)), key=lambda n: _order(items[n].when, n))
    entries: list[Entry] = []
    seen: set[str] = set()
    linkless = repeated = 0
    for n in order:
        if len(entries) == MAX_ENTRIES:
            break
        entry = _entry(items[n], home)
        if not entry.link and not entry.full:
            linkless += 1
        elif entry.link and entry.link in seen:
            repeated += 1
        else:
            seen.add(entry.link)
            entries.append(entry)
    notes = []
    if total > MAX_ENTRIES and (len(entries) == MAX_ENTRIES or total > len(items)):
        notes.append(f"{total:,} entries: the newest {MAX_ENTRIES:,} read")
    if linkless:
        notes.append(f"{_count(linkless, 'entry')} without a link (and no full text) skipped")
    if repeated:
        notes.append(f"{_count(repeated, 'entry')} repeating an earlier link skipped")
    return tuple(entries), notes


def _order(when: datetime | None, position: int) -> tuple[bool, float, int]:
    """Newest first; entries without a date after them, in the feed's order."""
    return when is None, -when.timestamp() if when else 0.0, position


def _entry(item: _Item, home: str) -> Entry:
    link = canonical(item.link)
    content = max(
        (_text_of(value, is_html) for value, is_html in item.contents), key=len, default=""
    )
    summary = _text_of(*item.summary) if item.summary else ""
    full = len(content) >= FULL_CHARS
    return Entry(
        link=link,
        title=item.title,
        published=item.when.date().isoformat() if item.when else "",
        text=content if full or len(content) >= len(summary) else summary,
        full=full,
        outlet=item.source or publisher(link or home),
    )


def _count(n: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n:,} {noun if n == 1 else plural}"


def _one_line(error: object) -> str:
    return " ".join(str(error).split()) or type(error).__name__


# ---------------------------------------------------------------------------------- dates


def _moment(value: object, today: date) -> datetime | None:
    """When a feed says something happened, in the time zone it says it in (so that its date
    is the publisher's day); None if it says nothing readable, or a day after tomorrow."""
    when = None
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            when = parsedate_to_datetime(text)  # RFC 822, as RSS dates are
        except (TypeError, ValueError, IndexError):
            try:
                when = datetime.fromisoformat(text.replace("z", "Z"))  # RFC 3339 / ISO 8601
            except ValueError:
                when = None
    elif isinstance(value, tuple) and len(value) >= 6:  # a time.struct_time, in UTC
        try:
            when = datetime(*value[:6]).replace(tzinfo=UTC)
        except (TypeError, ValueError):
            when = None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return None if when.date() > today + timedelta(days=1) else when


def _iso_day(value: str | None, today: date) -> str:
    """An ISO date from trafilatura, or "" if there is none or it is after tomorrow."""
    try:
        day = date.fromisoformat((value or "")[:10])
    except ValueError:
        return ""
    return "" if day > today + timedelta(days=1) else day.isoformat()


# ------------------------------------------------------------------------------ HTML text

# fmt: off
_DROPPED = (
    "script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "math",
    "form", "button", "select", "textarea", "input", "head", "title", "meta", "link",
)
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "caption", "dd", "details", "dialog", "div",
        "dl", "dt", "fieldset", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5",
        "h6", "header", "hgroup", "hr", "li", "main", "nav", "ol", "p", "pre", "section",
        "summary", "table", "tbody", "thead", "tfoot", "tr", "ul", "body", "html",
    }
)
# fmt: on
_CELLS = frozenset({"td", "th"})
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def _html_text(markup: str) -> str:
    """Plain text of an HTML fragment: paragraphs (blocks) separated by blank lines, <br> a
    line break, scripts and styles dropped, whitespace collapsed as a browser would."""
    if not markup.strip():
        return ""
    try:
        root = lxml_html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return ""
    for element in list(root.iter(etree.Comment, etree.ProcessingInstruction, *_DROPPED)):
        if element is not root:
            element.drop_tree()
    parts: list[str] = []
    for event, element in etree.iterwalk(root, events=("start", "end")):
        tag = element.tag if isinstance(element.tag, str) else ""
        if event == "start":
            if tag in _BLOCKS:
                parts.append("\n\n")
            elif tag == "br":
                parts.append("\n")
            elif tag in _CELLS:
                parts.append(" ")
            parts.append(re.sub(r"\s+", " ", element.text or ""))
        else:
            if tag in _BLOCKS:
                parts.append("\n\n")
            elif tag in _CELLS:
                parts.append(" ")
            if element is not root:
                parts.append(re.sub(r"\s+", " ", element.tail or ""))
    return _paragraphs("".join(parts))


def _paragraphs(text: str) -> str:
    """Text with its spaces collapsed, lines trimmed and at most one blank line in a row."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _text_of(value: object, is_html: bool) -> str:
    """Plain text of a feed's value (HTML or text)."""
    if not isinstance(value, str):
        return ""
    return _html_text(value) if is_html else _paragraphs(value.replace("\r", "\n"))


# ----------------------------------------------------------------------------- discovery


def discover(html: bytes, url: str) -> str | None:
    """The feed an HTML page names in <link rel="alternate" type=...>: the first RSS, Atom or
    JSON one, resolved against the page's URL (and its <base href>); None if it names none."""
    try:
        doc = lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None
    base = url
    for element in doc.iter("base"):
        if href := (element.get("href") or "").strip():
            base = urljoin(url, href)
            break
    for element in doc.iter("link"):
        rel = (element.get("rel") or "").lower().split()
        kind = (element.get("type") or "").split(";")[0].strip().lower()
        href = (element.get("href") or "").strip()
        if "alternate" in rel and kind in _FEED_TYPES and href:
            found = urldefrag(urljoin(base, href)).url
            if urlsplit(found).scheme in ("http", "https"):
                return found
    return None


# --------------------------------------------------------------------------------- pages

_NOT_HTML = (b"%PDF", b"PK\x03\x04", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\x1f\x8b")
_HTML_TAG = re.compile(
    rb"<(?:!doctype\s+html|html|head|body|meta|title|article|main|div|p)\b", re.IGNORECASE
)


def read_page(html: bytes, url: str, today: date | None = None) -> Page | None:
    """The article of an HTML page (trafilatura, as index/load.py reads .html files); None when
    it holds no main text of MIN_PAGE_CHARS characters (empty, a paywall, an error page) or is
    not HTML at all."""
    today = today or date.today()
    head = html[:65536]
    if b"\x00" in head[:8192] or head.lstrip().startswith(_NOT_HTML) or not _HTML_TAG.search(head):
        return None
    import trafilatura

    doc = trafilatura.bare_extraction(
        html,
        url=url or None,
        with_metadata=True,
        favor_precision=True,
        include_comments=False,  # readers' comments are not the article
        date_extraction_params={
            "original_date": True,
            "extensive_search": False,  # the page's metadata (and URL), not any date in it
            "max_date": (today + timedelta(days=1)).isoformat(),
        },
        as_dict=False,
    )
    if doc is None or isinstance(doc, dict):
        return None
    title = " ".join((doc.title or "").split())
    paragraphs = [line.strip() for line in (doc.text or "").splitlines() if line.strip()]
    if paragraphs and title and " ".join(paragraphs[0].split()) == title:
        paragraphs = paragraphs[1:]  # the headline, which `title` holds
    text = "\n\n".join(paragraphs)
    if len(text) < MIN_PAGE_CHARS:
        return None
    name = " ".join((doc.sitename or "").split())
    if not name or _HOST_LIKE.fullmatch(name):  # trafilatura's fallback: a host name
        name = publisher(url) or name
    return Page(title=title, text=text, published=_iso_day(doc.date, today), outlet=name)


_HOST_LIKE = re.compile(r"[\w-]+(?:\.[\w-]+)+")


# ----------------------------------------------------------------------------------- URLs


def canonical(url: str) -> str:
    """One URL per article: scheme and host lower-cased, the default port, the fragment and
    tracking parameters dropped, dot segments resolved, the query sorted; "" if not http(s).

    courlan's normalize_url (non-strict: strict keeps only a few known parameters, so that
    ?story=1 and ?story=2 would be one article) does the case, the port, the punycode, and the
    parameters its tracker list knows; clean_url is not used: from ?ref=https://x.example/ it
    takes x.example as the URL.
    """
    url = url.strip() if isinstance(url, str) else ""
    try:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return ""
        parts = urlsplit(normalize_url(url, strict=False))
    except (ValueError, AttributeError, UnicodeError):
        return ""
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _tracks(k)]
    query.sort(key=lambda pair: pair[0])  # stable: repeated parameters keep their order
    path = _without_dots(parts.path) or "/"
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), ""))


def _tracks(name: str) -> bool:
    name = name.lower()
    return name in _TRACKERS or name.startswith(_TRACKER_PREFIXES)


def _without_dots(path: str) -> str:
    """A path with its "." and ".." segments resolved (RFC 3986, 5.2.4)."""
    if "." not in path:
        return path
    kept: list[str] = []
    segments = path.split("/")
    for segment in segments:
        if segment == "..":
            if len(kept) > 1:
                kept.pop()
        elif segment != ".":
            kept.append(segment)
    if segments[-1] in (".", ".."):
        kept.append("")  # /a/b/.. is the folder /a/
    return "/".join(kept)


def publisher(url: str) -> str:
    """The registered domain of a URL ("https://www.bbc.co.uk/x" -> "bbc.co.uk"), from the
    public-suffix list that `tld` ships; the host without "www." when it has none (an IP
    address, localhost); "" for no host."""
    text = url.strip() if isinstance(url, str) else ""
    if text and "://" not in text:
        text = "http://" + text
    try:
        host = (urlsplit(text).hostname or "").rstrip(".")
    except ValueError:
        return ""
    if not host:
        return ""
    return extract_domain(f"http://{host}/") or re.sub(r"^www\d*\.", "", host)


# ----------------------------------------------------------------------------------- OPML

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_NOT_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def read_opml(text: str | bytes) -> list[tuple[str, str]]:
    """(name, xmlUrl) of every outline with an xmlUrl, nested ones too, in document order.

    No entity is expanded, no DTD or other file loaded, nothing fetched: an OPML list that
    declares entities is refused (that is how XXE and "billion laughs" files work)."""
    data = _XML_DECLARATION.sub("", text).encode("utf-8") if isinstance(text, str) else text
    if b"<!ENTITY" in data:
        raise FeedError("OPML: declares XML entities, which an OPML list has no use for: not read")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise FeedError(f"OPML: not well-formed XML ({_one_line(error)})") from None
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):  # in an encoding not UTF-8
        raise FeedError("OPML: declares XML entities, which an OPML list has no use for: not read")
    if not isinstance(root.tag, str) or _local(root).lower() != "opml":
        raise FeedError(f"OPML: the document is <{_local(root)}>, not <opml>")
    feeds = []
    for outline in root.iter("outline"):
        xml_url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if xml_url:
            name = (outline.get("text") or outline.get("title") or "").strip()
            feeds.append((" ".join(name.split()) or xml_url, xml_url))
    return feeds


def write_opml(feeds: Sequence[tuple[str, str]], title: str = "news-assistant feeds") -> str:
    """An OPML 2.0 list of (name, feed URL), as feed readers import it."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = _xml_safe(title)
    body = etree.SubElement(root, "body")
    for name, xml_url in feeds:
        name = _xml_safe(name) or _xml_safe(xml_url)
        attributes = {"type": "rss", "text": name, "title": name, "xmlUrl": _xml_safe(xml_url)}
        etree.SubElement(body, "outline", attributes)
    xml = etree.tostring(root, encoding="unicode", pretty_print=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + xml


def _xml_safe(value: str) -> str:
    """`value` without the characters XML cannot hold (control characters)."""
    return _NOT_XML_CHARS.sub("", " ".join(str(value).split()))
