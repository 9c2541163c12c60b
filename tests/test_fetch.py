"""index.fetch against real HTTP servers on 127.0.0.1, each in daemon threads, all shut down."""

from __future__ import annotations

import gzip
import ipaddress
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import index.fetch as fetch
from index.errors import NewsAssistantError
from index.fetch import USER_AGENT, Fetcher, FetchError, Response

LAST_MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT"
RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    start: float
    end: float = 0.0


@dataclass
class Server:
    """A loopback HTTP server: `routes` maps a path to what answers it; `seen` is every request."""

    port: int = 0
    routes: dict[str, Callable[[Handler], None]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    active: int = 0
    most_active: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        with self.lock:
            return [request.path for request in self.seen]

    def request(self, path: str) -> Seen:
        return next(request for request in self.seen if request.path == path)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    site: Server  # set on the subclass made for each server

    def do_GET(self) -> None:
        site = self.site
        seen = Seen(self.path, dict(self.headers.items()), time.monotonic())
        with site.lock:
            site.seen.append(seen)
            site.active += 1
            site.most_active = max(site.most_active, site.active)
        try:
            site.routes.get(self.path, lambda h: answer(h, 404, b"not here"))(self)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            with site.lock:
                site.active -= 1
            seen.end = time.monotonic()

    def log_message(self, format: str, *args: object) -> None:
        pass


def answer(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    headers = headers or {}
    for name, value in headers.items():
        handler.send_header(name, value)
    if "Content-Length" not in headers:
        handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def redirect(location: str, status: int = 302) -> Callable[[BaseHTTPRequestHandler], None]:
    return lambda h: answer(h, status, headers={"Location": location})


def page(body: bytes = RSS, **headers: str) -> Callable[[BaseHTTPRequestHandler], None]:
    return lambda h: answer(h, 200, body, {"Content-Type": "text/html", **headers})


@pytest.fixture
def server() -> Iterator[Server]:
    site = Server()
    handler = type("SiteHandler", (Handler,), {"site": site})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    site.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield site
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(allow_private=True, host_delay=0, connect_timeout=5, body_timeout=10) as f:
        yield f


def make_fetcher(**options: object) -> Fetcher:
    settings: dict[str, object] = {"allow_private": True, "host_delay": 0, "connect_timeout": 5}
    settings.update(options)
    return Fetcher(**settings)  # type: ignore[arg-type]


# Plain fetching.


def test_200_with_its_etag_last_modified_and_content_type(server: Server, fetcher: Fetcher) -> None:
    server.routes["/feed"] = page(
        RSS,
        **{
            "Content-Type": "application/rss+xml; charset=utf-8",
            "ETag": '"v1"',
            "Last-Modified": LAST_MODIFIED,
        },
    )
    response = fetcher.get(server.url("/feed"))
    assert response == Response(
        url=server.url("/feed"),
        status=200,
        body=RSS,
        content_type="application/rss+xml",
        etag='"v1"',
        last_modified=LAST_MODIFIED,
    )
    assert not response.not_modified
    assert "If-None-Match" not in server.request("/feed").headers


def test_no_content_type_is_empty(server: Server, fetcher: Fetcher) -> None:
    server.routes["/bare"] = lambda h: answer(h, 200, b"x")
    response = fetcher.get(server.url("/bare"))
    assert (response.content_type, response.etag, response.last_modified) == ("", "", "")


def conditional(handler: BaseHTTPRequestHandler) -> None:
    etag_matches = handler.headers.get("If-None-Match") == '"v1"'
    date_matches = handler.headers.get("If-Modified-Since") == LAST_MODIFIED
    if etag_matches or date_matches:
        answer(handler, 304, headers={"ETag": '"v1"'})
    else:
        answer(handler, 200, RSS, {"ETag": '"v1"', "Last-Modified": LAST_MODIFIED})


def test_a_conditional_get_is_answered_304(server: Server, fetcher: Fetcher) -> None:
    server.routes["/feed"] = conditional
    first = fetcher.get(server.url("/feed"))
    assert first.status == 200 and first.body == RSS

    by_etag = fetcher.get(server.url("/feed"), etag=first.etag)
    assert (by_etag.status, by_etag.body, by_etag.not_modified) == (304, b"", True)
    by_date = fetcher.get(server.url("/feed"), last_modified=first.last_modified)
    assert by_date.not_modified
    changed = fetcher.get(server.url("/feed"), etag='"v0"')
    assert (changed.status, changed.body) == (200, RSS)

    sent = [request.headers for request in server.seen]
    assert sent[1]["If-None-Match"] == '"v1"' and "If-Modified-Since" not in sent[1]
    assert sent[2]["If-Modified-Since"] == LAST_MODIFIED and "If-None-Match" not in sent[2]


def test_a_304_to_an_unconditional_get_is_an_error(server: Server, fetcher: Fetcher) -> None:
    server.routes["/odd"] = lambda h: answer(h, 304)
    with pytest.raises(FetchError, match="HTTP 304"):
        fetcher.get(server.url("/odd"))


def test_every_request_sends_the_user_agent(server: Server, fetcher: Fetcher) -> None:
    assert "news-assistant" in USER_AGENT and "https://" in USER_AGENT
    server.routes["/robots.txt"] = lambda h: answer(h, 200, b"User-agent: *\nAllow: /\n")
    server.routes["/feed"] = page()
    server.routes["/moved"] = redirect("/feed")
    fetcher.get(server.url("/moved"), robots=True)
    assert server.paths() == ["/robots.txt", "/moved", "/feed"]
    assert {request.headers["User-Agent"] for request in server.seen} == {USER_AGENT}


# Compression and size.


def test_a_gzip_body_is_decoded(server: Server, fetcher: Fetcher) -> None:
    server.routes["/feed.gz"] = page(gzip.compress(RSS * 100), **{"Content-Encoding": "gzip"})
    assert fetcher.get(server.url("/feed.gz")).body == RSS * 100
    assert "gzip" in server.request("/feed.gz").headers["Accept-Encoding"]


def test_a_deflate_body_is_decoded_with_or_without_its_zlib_header(
    server: Server, fetcher: Fetcher
) -> None:
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    server.routes["/zlib"] = page(zlib.compress(RSS), **{"Content-Encoding": "deflate"})
    server.routes["/raw"] = page(raw.compress(RSS) + raw.flush(), **{"Content-Encoding": "deflate"})
    assert fetcher.get(server.url("/zlib")).body == RSS
    assert fetcher.get(server.url("/raw")).body == RSS


def test_an_unknown_content_encoding_is_refused(server: Server, fetcher: Fetcher) -> None:
    server.routes["/br"] = page(b"\x0b\x02\x80hi\x03", **{"Content-Encoding": "br"})
    with pytest.raises(FetchError, match="unsupported Content-Encoding 'br'"):
        fetcher.get(server.url("/br"))


def bomb(megabytes: int) -> bytes:
    """`megabytes` MB of zeros in gzip (some 50 KB for 50 MB), made without holding them."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(1_000_000)
    parts = [compressor.compress(zeros) for _ in range(megabytes)]
    return b"".join(parts) + compressor.flush()


def test_a_gzip_bomb_stops_at_max_bytes_without_inflating(server: Server) -> None:
    body = bomb(50)
    assert len(body) < 1_000_000  # so only the decoded size can stop it
    server.routes["/bomb"] = page(body, **{"Content-Encoding": "gzip"})
    with make_fetcher(max_bytes=1_000_000) as fetcher:
        tracemalloc.start()
        try:
            with pytest.raises(FetchError, match="larger than 1000000 bytes"):
                fetcher.get(server.url("/bomb"))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 8_000_000, f"{peak} bytes were held to refuse a 1 MB body"


def test_a_body_just_under_the_cap_is_read(server: Server) -> None:
    server.routes["/big"] = page(gzip.compress(bytes(1_000_000)), **{"Content-Encoding": "gzip"})
    with make_fetcher(max_bytes=1_000_000) as fetcher:
        assert fetcher.get(server.url("/big")).body == bytes(1_000_000)


def test_a_content_length_over_the_cap_is_refused_before_the_body(server: Server) -> None:
    def announced(handler: BaseHTTPRequestHandler) -> None:
        # Claims 2 MB but sends 10 bytes and closes: only the header can stop the fetch with
        # "larger than" (reading on would end in an incomplete body instead).
        handler.close_connection = True
        answer(handler, 200, b"0123456789", {"Content-Length": "2000000"})

    server.routes["/huge"] = announced
    with (
        make_fetcher(max_bytes=1_000_000) as fetcher,
        pytest.raises(FetchError, match=r"larger than 1000000 bytes \(Content-Length 2000000\)"),
    ):
        fetcher.get(server.url("/huge"))


def test_a_plain_body_over_the_cap_is_refused(server: Server) -> None:
    def unannounced(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        handler.send_response(200)
        handler.end_headers()  # no Content-Length: the body ends when the connection does
        handler.wfile.write(bytes(300_000))

    server.routes["/stream"] = unannounced
    with (
        make_fetcher(max_bytes=100_000) as fetcher,
        pytest.raises(FetchError, match="larger than 100000 bytes"),
    ):
        fetcher.get(server.url("/stream"))


# Redirects and schemes.


def test_redirects_are_followed_and_the_final_url_reported(
    server: Server, fetcher: Fetcher
) -> None:
    server.routes["/old"] = redirect("/older", 301)
    server.routes["/older"] = redirect(server.url("/feed#top"), 308)
    server.routes["/feed"] = page()
    response = fetcher.get(server.url("/old"))
    assert (response.url, response.body) == (server.url("/feed"), RSS)
    assert server.paths() == ["/old", "/older", "/feed"]


def test_max_redirects_are_followed_and_one_more_is_refused(server: Server) -> None:
    for hop in range(5):
        server.routes[f"/hop/{hop}"] = redirect(f"/hop/{hop + 1}")
    server.routes["/hop/5"] = page()
    with make_fetcher(max_redirects=2) as fetcher:
        assert fetcher.get(server.url("/hop/3")).url == server.url("/hop/5")
        with pytest.raises(FetchError, match="more than 2 redirects"):
            fetcher.get(server.url("/hop/0"))
    assert server.paths()[3:] == ["/hop/0", "/hop/1", "/hop/2"]


@pytest.mark.parametrize("path", ["/loop", "/ping"])
def test_a_redirect_loop_is_refused(server: Server, fetcher: Fetcher, path: str) -> None:
    server.routes["/loop"] = redirect("/loop")
    server.routes["/ping"] = redirect("/pong")
    server.routes["/pong"] = redirect(server.url("/ping"))
    with pytest.raises(FetchError, match="redirect loop"):
        fetcher.get(server.url(path))
    assert len(server.seen) <= 2


def test_a_redirect_to_a_file_is_refused(server: Server, fetcher: Fetcher) -> None:
    server.routes["/evil"] = redirect("file:///etc/passwd")
    with pytest.raises(FetchError, match="only http and https are fetched") as caught:
        fetcher.get(server.url("/evil"))
    message = str(caught.value)
    assert server.url("/evil") in message and "redirected to file:" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/feed.xml",
        "file:///etc/passwd",
        "/etc/passwd",
        "etc/passwd",
        "data:text/plain,hello",
        "gopher://127.0.0.1:70/",
    ],
)
def test_only_http_and_https_are_fetched(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(FetchError, match="only http and https are fetched") as caught:
        fetcher.get(url)
    assert isinstance(caught.value, NewsAssistantError) and url in str(caught.value)


# Errors and time.


@pytest.mark.parametrize(("status", "reason"), [(404, "Not Found"), (500, "Internal Server Error")])
def test_http_errors_name_their_status(
    server: Server, fetcher: Fetcher, status: int, reason: str
) -> None:
    server.routes["/feed"] = lambda h: answer(h, status, b"oops")
    with pytest.raises(FetchError, match=f"HTTP {status} {reason}") as caught:
        fetcher.get(server.url("/feed"))
    assert caught.value.status == status and server.url("/feed") in str(caught.value)


def test_a_refused_connection_is_a_fetch_error(fetcher: Fetcher) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, never listening: connecting is refused
        with pytest.raises(FetchError, match="connection failed"):
            fetcher.get(f"http://127.0.0.1:{port}/feed")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A server that accepts connections and never answers (and gives up after 10 s)."""
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        listener.settimeout(10)
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        held.append(connection)
        done.wait(10)
        connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        done.set()
        listener.close()
        thread.join(timeout=11)


def test_a_silent_server_is_cut_by_the_timeout(silent_port: int) -> None:
    started = time.monotonic()
    with (
        make_fetcher(body_timeout=0.5) as fetcher,
        pytest.raises(FetchError, match="timed out"),
    ):
        fetcher.get(f"http://127.0.0.1:{silent_port}/feed")
    assert time.monotonic() - started >= 0.4


def trickle(announced: bool) -> Callable[[BaseHTTPRequestHandler], None]:
    """25 bytes, one each 0.2 s: 5 s in all, though each read waits only 0.2 s."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.close_connection = True
        h.send_response(200)
        if announced:
            h.send_header("Content-Length", "25")
        h.end_headers()
        h.wfile.flush()
        for _ in range(25):
            h.wfile.write(b"x")
            h.wfile.flush()
            time.sleep(0.2)

    return handler


@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "until-close"])
def test_a_trickling_server_is_cut_at_body_timeout(server: Server, announced: bool) -> None:
    server.routes["/slow"] = trickle(announced)
    started = time.monotonic()
    with (
        make_fetcher(body_timeout=1.0) as fetcher,
        pytest.raises(FetchError, match=r"timed out: no complete answer within 1 s"),
    ):
        fetcher.get(server.url("/slow"))
    assert time.monotonic() - started >= 0.9


# Private addresses.


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_private_address_is_refused_unless_allowed(server: Server, host: str) -> None:
    server.routes["/feed"] = page()
    with (
        Fetcher(host_delay=0) as fetcher,
        pytest.raises(FetchError, match=r"loopback address \((127\.0\.0\.1|::1)\)"),
    ):
        fetcher.get(server.url("/feed", host))
    assert server.seen == []
    with make_fetcher() as fetcher:
        assert fetcher.get(server.url("/feed", host)).body == RSS


def test_a_redirect_to_a_private_address_is_refused(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = fetch._resolve

    def pretend(host: str, port: int) -> list[fetch.IPAddress]:
        # 127.0.0.1 stands in for a public site; localhost stays what it is.
        if host == "127.0.0.1":
            return [ipaddress.ip_address("93.184.216.34")]
        return real(host, port)

    monkeypatch.setattr(fetch, "_resolve", pretend)
    server.routes["/go"] = redirect(server.url("/feed", "localhost"))
    server.routes["/feed"] = page()
    with (
        Fetcher(host_delay=0) as fetcher,
        pytest.raises(FetchError, match="redirected to .*localhost.* loopback address"),
    ):
        fetcher.get(server.url("/go"))
    assert server.paths() == ["/go"]


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-global"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:a00:1::1", "private"),  # 6to4 around 10.0.0.1
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 around 169.254.169.254
        ("64:ff9b::5db8:d822", ""),  # NAT64 around 93.184.216.34 (DNS64 networks)
        ("::ffff:93.184.216.34", ""),
        ("93.184.216.34", ""),
        ("2606:2800:220:1:248:1893:25c8:1946", ""),
    ],
)
def test_what_counts_as_not_public(address: str, kind: str) -> None:
    assert fetch._not_public(ipaddress.ip_address(address)) == kind


# robots.txt


def robots(text: str, status: int = 200) -> Callable[[BaseHTTPRequestHandler], None]:
    return lambda h: answer(h, status, text.encode(), {"Content-Type": "text/plain"})


def test_robots_txt_disallows_one_page_and_allows_another(server: Server, fetcher: Fetcher) -> None:
    server.routes["/robots.txt"] = robots("User-agent: *\nDisallow: /private\n")
    server.routes["/private/page"] = page()
    server.routes["/public/page"] = page()
    with pytest.raises(FetchError, match="disallowed by robots.txt"):
        fetcher.get(server.url("/private/page"), robots=True)
    assert fetcher.get(server.url("/public/page"), robots=True).body == RSS
    assert server.paths() == ["/robots.txt", "/public/page"]  # fetched once, cached
    # Without robots=True (feeds) robots.txt is not consulted.
    assert fetcher.get(server.url("/private/page")).body == RSS


def test_robots_txt_rules_for_our_user_agent_apply(server: Server, fetcher: Fetcher) -> None:
    server.routes["/robots.txt"] = robots(
        "User-agent: news-assistant\nDisallow: /\n\nUser-agent: *\nAllow: /\n"
    )
    server.routes["/page"] = page()
    with pytest.raises(FetchError, match="disallowed by robots.txt"):
        fetcher.get(server.url("/page"), robots=True)


def test_a_redirect_to_a_disallowed_page_is_refused(server: Server, fetcher: Fetcher) -> None:
    server.routes["/robots.txt"] = robots("User-agent: *\nDisallow: /private\n")
    server.routes["/short"] = redirect("/private/page")
    server.routes["/private/page"] = page()
    with pytest.raises(FetchError, match="redirected to .*/private/page, disallowed by robots"):
        fetcher.get(server.url("/short"), robots=True)
    assert "/private/page" not in server.paths()


@pytest.mark.parametrize(
    ("status", "allowed"), [(404, True), (500, True), (401, False), (403, False)]
)
def test_a_robots_txt_that_is_not_there(
    server: Server, fetcher: Fetcher, status: int, allowed: bool
) -> None:
    server.routes["/robots.txt"] = robots("User-agent: *\nDisallow: /\n", status)
    server.routes["/page"] = page()
    if allowed:
        assert fetcher.get(server.url("/page"), robots=True).body == RSS
    else:
        with pytest.raises(FetchError, match="disallowed by robots.txt"):
            fetcher.get(server.url("/page"), robots=True)


def test_crawl_delay_spaces_requests_to_the_site(server: Server, fetcher: Fetcher) -> None:
    server.routes["/robots.txt"] = robots("User-agent: *\nCrawl-delay: 0.3\n")
    server.routes["/a"] = page()
    server.routes["/b"] = page()
    fetcher.get(server.url("/a"), robots=True)
    fetcher.get(server.url("/b"), robots=True)
    assert server.paths() == ["/robots.txt", "/a", "/b"]
    assert server.request("/b").start - server.request("/a").start >= 0.25


# Politeness.


def test_requests_to_a_host_go_one_at_a_time_host_delay_apart(server: Server) -> None:
    def slow(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(0.1)
        answer(handler, 200, b"ok")

    for n in range(3):
        server.routes[f"/slow/{n}"] = slow
    errors: list[BaseException] = []
    with make_fetcher(host_delay=0.3) as fetcher:

        def run(n: int) -> None:
            try:
                fetcher.get(server.url(f"/slow/{n}"))
            except BaseException as error:  # reported by the assert below
                errors.append(error)

        threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert errors == []
    assert server.most_active == 1
    starts = sorted(request.start for request in server.seen)
    assert len(starts) == 3
    assert all(later - earlier >= 0.25 for earlier, later in zip(starts, starts[1:], strict=False))


def test_the_delay_is_injectable_and_waits_only_what_is_left(server: Server) -> None:
    server.routes["/feed"] = page()
    now = [100.0]
    slept: list[float] = []
    with make_fetcher(host_delay=2.0) as fetcher:
        fetcher._clock = lambda: now[0]
        fetcher._sleep = lambda seconds: slept.append(seconds)
        fetcher.get(server.url("/feed"))
        assert slept == []
        now[0] += 0.5
        fetcher.get(server.url("/feed"))
        now[0] += 5.0
        fetcher.get(server.url("/feed"))
    assert slept == [pytest.approx(1.5)]


def test_the_fetcher_closes_as_a_context_manager() -> None:
    with make_fetcher() as fetcher:
        pass
    assert fetcher._client.is_closed
