"""Fetching feeds and article pages over HTTP as a good citizen: cheaply, politely and safely.

One `Fetcher` holds one `httpx.Client` (no proxy from the environment, redirects followed by
hand) and, for each `get()`:

- fetches only http and https URLs, the first one and every redirect target (at most
  `max_redirects`, a loop is refused);
- refuses hosts that resolve to a private, loopback, link-local, multicast, reserved or
  unspecified address (unless `allow_private`), again after each redirect. The host is resolved
  here and again by httpx when it connects, so a DNS server that answers differently the second
  time (DNS rebinding) can still lead a request to a private address: a known limit of checking
  by name; a deployment that must rule it out needs an egress firewall;
- sends a conditional GET (If-None-Match, If-Modified-Since) when told an ETag or a date, and
  returns a 304 as `Response(status=304, body=b"")`;
- asks for gzip and decodes it itself, never more than `max_bytes` at a time (httpx would
  decode each raw chunk in full, and 64 KB of gzip can hold 64 MB), so a body is refused as soon
  as it passes `max_bytes`, decoded or not, and before any byte when its Content-Length does;
- ends a response that does not come whole within `body_timeout`, however it trickles: the read
  timeout cuts a silent server, the time is checked between chunks, and a watchdog shuts the
  socket down at the deadline so that a byte just before it does not buy another read timeout;
- with `robots=True` (article pages; feeds are meant to be fetched), obeys the site's
  robots.txt for its user agent, fetched once a day per scheme, host and port;
- sends one request at a time to a host, their starts at least `host_delay` seconds apart (or
  the site's Crawl-delay, up to `MAX_CRAWL_DELAY`, when its robots.txt gives a longer one).

Every failure is a `FetchError` whose message names the URL and why, in one line.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx
from protego import Protego

from index.errors import NewsAssistantError

USER_AGENT = "news-assistant/0.1 (+https://github.com/news-assistant/news-assistant)"

ROBOTS_MAX_BYTES = 500_000  # what Google reads of a robots.txt
ROBOTS_TTL = 24 * 3600.0  # seconds a robots.txt is trusted before it is fetched again
MAX_CRAWL_DELAY = 60.0  # a longer Crawl-delay would stall a worker; this is the most we wait
REDIRECTS = {301, 302, 303, 307, 308}
_SCHEMES = {"http", "https"}
_GZIP = {"gzip", "x-gzip"}
_MAX_SHOWN = 200  # characters of a URL shown in a message

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class FetchError(NewsAssistantError):
    """A URL could not be fetched; the message names it and says why, in one line."""

    def __init__(self, url: str, reason: str, *, status: int | None = None) -> None:
        self.url = url
        self.reason = reason
        self.status = status  # the HTTP status when the server answered with an error
        super().__init__(_one_line(f"cannot fetch {_shown(url)}: {reason}"))


@dataclass(frozen=True)
class Response:
    url: str  # the final URL, after redirects
    status: int  # 200 (or another 2xx), or 304 when not modified
    body: bytes  # b"" on 304
    content_type: str  # e.g. "application/rss+xml" (no parameters), "" if none
    etag: str = ""
    last_modified: str = ""

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass
class _Host:
    """Politeness towards one host: one request at a time, starts `delay` seconds apart."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    last_start: float | None = None
    crawl_delay: float = 0.0


@dataclass
class _Robots:
    """What one origin's robots.txt says: all allowed, all disallowed, or ask the parser."""

    fetched_at: float
    allow_all: bool = False
    deny_all: bool = False
    parser: Any = None

    def allows(self, url: str, user_agent: str) -> bool:
        if self.deny_all:
            return False
        if self.allow_all or self.parser is None:
            return True
        return bool(self.parser.can_fetch(url, user_agent))


class _Redirect(Exception):
    def __init__(self, location: str) -> None:
        self.location = location


class _Failure(Exception):
    """A failure of one hop; `get()` turns it into a FetchError naming the URL asked for."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class Fetcher:
    """Fetches URLs one `get()` at a time (threads may share it); close it, or use `with`."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        connect_timeout: float = 10.0,
        body_timeout: float = 30.0,
        max_bytes: int = 10_000_000,
        max_redirects: int = 5,
        host_delay: float = 1.0,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.allow_private = allow_private
        self.connect_timeout = connect_timeout
        self.body_timeout = body_timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.host_delay = host_delay
        self.user_agent = user_agent
        # Injectable for tests; monotonic so that a clock change cannot stall or hurry requests.
        self._clock: Callable[[], float] = time.monotonic
        self._sleep: Callable[[float], None] = time.sleep
        self._lock = threading.Lock()  # guards the two dicts below
        self._hosts: dict[str, _Host] = {}
        self._robots: dict[str, tuple[threading.Lock, _Robots | None]] = {}
        self._client = httpx.Client(
            follow_redirects=False,
            trust_env=False,  # no proxy, .netrc or CA bundle from the environment
            timeout=httpx.Timeout(
                connect=connect_timeout,
                read=body_timeout,  # a silent server; the whole response is bounded below
                write=connect_timeout,
                pool=connect_timeout,
            ),
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip"},
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(
        self, url: str, *, etag: str = "", last_modified: str = "", robots: bool = False
    ) -> Response:
        """The response to GET `url`, after at most `max_redirects` redirects; a 304 when
        `etag` or `last_modified` (from an earlier Response) show it has not changed."""
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = _parse(url)
        seen = {str(current)}
        redirects = 0
        while True:
            try:
                self._check(current)
                if robots and not self._robots_allow(current):
                    raise _Failure("disallowed by robots.txt")
                return self._fetch(current, headers, self.max_bytes)
            except _Redirect as redirect:
                target = _target(current, redirect.location, url)
                redirects += 1
                if redirects > self.max_redirects:
                    raise FetchError(url, f"more than {self.max_redirects} redirects") from None
                if str(target) in seen:
                    raise FetchError(url, f"redirect loop at {_shown(str(target))}") from None
                seen.add(str(target))
                current = target
            except _Failure as failure:
                where = "" if redirects == 0 else f"redirected to {_shown(str(current))}, "
                raise FetchError(url, where + failure.reason, status=failure.status) from None

    # One hop.

    def _check(self, url: httpx.URL) -> None:
        """Refuses a URL that is not http(s) or whose host has a non-public address."""
        if url.scheme not in _SCHEMES:
            raise _Failure("only http and https are fetched")
        if not url.host:
            raise _Failure("the URL has no host")
        if self.allow_private:
            return
        try:
            addresses = _resolve(url.host, url.port or (443 if url.scheme == "https" else 80))
        except (OSError, UnicodeError) as error:
            raise _Failure(f"cannot resolve {url.host} ({error})") from None
        if not addresses:
            raise _Failure(f"cannot resolve {url.host}")
        for address in addresses:
            kind = _not_public(address)
            if kind:
                raise _Failure(
                    f"{url.host} is at a {kind} address ({address}): not fetched for a shared "
                    "index unless --allow-private is given"
                )

    def _fetch(self, url: httpx.URL, headers: dict[str, str], max_bytes: int) -> Response:
        """One request, without following redirects (`_Redirect` says where to)."""
        with self._turn(url.host):
            deadline = self._clock() + self.body_timeout
            try:
                request = self._client.build_request("GET", url, headers=headers)
                response = self._client.send(request, stream=True)
            except httpx.TimeoutException as error:
                raise _Failure(self._timeout_reason(error)) from None
            except (httpx.HTTPError, httpx.InvalidURL) as error:
                raise _Failure(f"connection failed ({_error_text(error)})") from None
            try:
                return self._answer(url, response, headers, max_bytes, deadline)
            finally:
                response.close()

    def _answer(
        self,
        url: httpx.URL,
        response: httpx.Response,
        headers: dict[str, str],
        max_bytes: int,
        deadline: float,
    ) -> Response:
        status = response.status_code
        if status in REDIRECTS:
            location = response.headers.get("Location", "").strip()
            if not location:
                raise _Failure(f"HTTP {status} redirect without a Location", status)
            raise _Redirect(location)
        if status == 304 and headers:
            return self._response(url, response, b"")
        if not 200 <= status < 300:
            reason = f" {response.reason_phrase}" if response.reason_phrase else ""
            raise _Failure(f"HTTP {status}{reason}", status)
        length = response.headers.get("Content-Length", "")
        if length.strip().isdigit() and int(length) > max_bytes:
            raise _Failure(f"larger than {max_bytes} bytes (Content-Length {int(length)})")
        body = self._read(response, max_bytes, deadline)
        return self._response(url, response, body)

    def _response(self, url: httpx.URL, response: httpx.Response, body: bytes) -> Response:
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        return Response(
            url=str(url),
            status=response.status_code,
            body=body,
            content_type=content_type,
            etag=response.headers.get("ETag", ""),
            last_modified=response.headers.get("Last-Modified", ""),
        )

    def _read(self, response: httpx.Response, max_bytes: int, deadline: float) -> bytes:
        """The decoded body, read within `max_bytes` and before `deadline`."""
        inflate = _decoder(response.headers.get("Content-Encoding", ""))
        body = bytearray()
        received = 0
        too_large = _Failure(f"larger than {max_bytes} bytes")
        late = _Failure(f"timed out: no complete answer within {self.body_timeout:g} s")
        watchdog = _Watchdog(response, deadline - self._clock())
        try:
            for chunk in response.iter_raw():
                received += len(chunk)
                if received > max_bytes:
                    raise too_large
                body += inflate.feed(chunk, max_bytes - len(body)) if inflate else chunk
                if len(body) > max_bytes:
                    raise too_large
                if self._clock() > deadline:
                    raise late
            if inflate:
                body += inflate.flush()
                if len(body) > max_bytes:
                    raise too_large
        except httpx.TimeoutException:
            raise late from None
        except httpx.HTTPError as error:
            if watchdog.fired:
                raise late from None
            raise _Failure(f"connection failed ({_error_text(error)})") from None
        except zlib.error as error:
            raise _Failure(f"the compressed body cannot be decoded ({error})") from None
        finally:
            watchdog.stop()
        if watchdog.fired:  # a body that ends when the connection does ended at the deadline
            raise late
        return bytes(body)

    def _timeout_reason(self, error: httpx.TimeoutException) -> str:
        if isinstance(error, httpx.ConnectTimeout | httpx.PoolTimeout):
            return f"timed out: no connection within {self.connect_timeout:g} s"
        if isinstance(error, httpx.WriteTimeout):
            return f"timed out sending the request within {self.connect_timeout:g} s"
        return f"timed out: no complete answer within {self.body_timeout:g} s"

    # Politeness.

    @contextmanager
    def _turn(self, host: str) -> Iterator[None]:
        """Holds `host` for one request, started at least its delay after the previous one."""
        with self._lock:
            state = self._hosts.setdefault(host, _Host())
        with state.lock:
            delay = max(self.host_delay, state.crawl_delay)
            if state.last_start is not None:
                wait = state.last_start + delay - self._clock()
                if wait > 0:
                    self._sleep(wait)
            state.last_start = self._clock()
            yield

    # robots.txt

    def _robots_allow(self, url: httpx.URL) -> bool:
        origin = url.copy_with(path="/robots.txt", query=None, fragment=None)
        key = f"{origin.scheme}://{origin.host}:{origin.port or ''}"
        with self._lock:
            lock, _ = self._robots.setdefault(key, (threading.Lock(), None))
        with lock:  # one fetch per origin, however many threads ask at once
            robots = self._robots[key][1]
            if robots is None or self._clock() - robots.fetched_at > ROBOTS_TTL:
                robots = self._fetch_robots(origin)
                with self._lock:
                    self._robots[key] = (lock, robots)
        return robots.allows(str(url), self.user_agent)

    def _fetch_robots(self, url: httpx.URL) -> _Robots:
        """A robots.txt, fetched by the same rules; a missing or failing one allows all, one
        behind a 401 or 403 disallows all (as the big crawlers read them)."""
        now = self._clock()
        try:
            response = self._follow(url)
        except FetchError as error:
            return _Robots(now, deny_all=error.status in (401, 403), allow_all=True)
        text = response.body.decode("utf-8", errors="replace").lstrip("\ufeff")
        parser = Protego.parse(text)
        delay = parser.crawl_delay(self.user_agent)
        if delay:
            with self._lock:
                state = self._hosts.setdefault(url.host, _Host())
            state.crawl_delay = max(state.crawl_delay, min(float(delay), MAX_CRAWL_DELAY))
        return _Robots(now, parser=parser)

    def _follow(self, url: httpx.URL) -> Response:
        """GET a robots.txt within ROBOTS_MAX_BYTES, following redirects by the usual rules."""
        limit = min(self.max_bytes, ROBOTS_MAX_BYTES)
        current = url
        for _ in range(self.max_redirects + 1):
            try:
                self._check(current)
                return self._fetch(current, {}, limit)
            except _Redirect as redirect:
                current = _target(current, redirect.location, str(url))
            except _Failure as failure:
                raise FetchError(str(url), failure.reason, status=failure.status) from None
        raise FetchError(str(url), f"more than {self.max_redirects} redirects")


class _Watchdog:
    """Shuts a response's socket down at its deadline, which ends a read blocked on it."""

    def __init__(self, response: httpx.Response, seconds: float) -> None:
        self.fired = False
        self._done = False
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            self._timer = threading.Timer(max(seconds, 0.0), self._fire, args=(sock,))
            self._timer.daemon = True
            self._timer.start()

    def _fire(self, sock: socket.socket) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            with suppress(OSError):
                # The plain socket's shutdown, also for TLS: it wakes the reader at once.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def stop(self) -> None:
        with self._lock:
            self._done = True
        if self._timer is not None:
            self._timer.cancel()


class _Inflater:
    """Decodes gzip or deflate without ever producing more than asked for at once."""

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._first = True
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)

    def feed(self, data: bytes, room: int) -> bytes:
        """What `data` decodes to, cut just past `room` bytes (the caller then refuses it)."""
        out = bytearray()
        while data and len(out) <= room:
            try:
                piece = self._zlib.decompress(data, room - len(out) + 1)
            except zlib.error:
                if self._gzip or not self._first:
                    raise
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, no zlib header
                self._first = False
                continue
            self._first = False
            out += piece
            if self._zlib.eof:
                data = self._zlib.unused_data
                if not (self._gzip and data.startswith(b"\x1f\x8b")):
                    break  # the end; trailing bytes that are not another member are ignored
                self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
            else:
                data = self._zlib.unconsumed_tail
        return bytes(out)

    def flush(self) -> bytes:
        return self._zlib.flush()


def _decoder(encoding: str) -> _Inflater | None:
    codings = [c.strip().lower() for c in encoding.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return None
    if len(codings) == 1 and codings[0] in _GZIP | {"deflate"}:
        return _Inflater(gzip=codings[0] in _GZIP)
    raise _Failure(f"unsupported Content-Encoding {encoding.strip()!r}")


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        raise FetchError(url, f"not a valid URL ({error})") from None
    if parsed.scheme not in _SCHEMES:
        raise FetchError(url, "only http and https are fetched")
    return parsed.copy_with(fragment=None)


def _target(current: httpx.URL, location: str, asked: str) -> httpx.URL:
    """Where a redirect from `current` leads (its scheme is checked before it is fetched)."""
    try:
        return current.join(location).copy_with(fragment=None)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise FetchError(asked, f"redirected to an invalid URL {location!r}") from None


def _resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (an IP literal resolves to itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def _not_public(address: IPAddress) -> str:
    """What kind of non-public address this is, or "" for a public one. An IPv6 address that
    wraps an IPv4 one (mapped, 6to4, NAT64) is judged by the IPv4 address it leads to."""
    ip: IPAddress = address
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            ip = address.ipv4_mapped
        elif address.sixtofour:
            ip = address.sixtofour
        elif address in _NAT64:
            ip = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    # The most telling name first: 169.254.0.0/16 is private too, but link-local says more.
    for kind in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    if not ip.is_global:
        return "non-global"  # e.g. 100.64.0.0/10, shared by carrier-grade NATs
    return ""


def _shown(url: str) -> str:
    """A URL for a message: without a password, and not too long."""
    try:
        parsed: httpx.URL | None = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):  # not one httpx reads: shown as given
        parsed = None
    if parsed is not None and parsed.userinfo:
        url = str(parsed.copy_with(username=None, password=None))
    return url if len(url) <= _MAX_SHOWN else url[: _MAX_SHOWN - 1] + "…"


def _error_text(error: Exception) -> str:
    return str(error) or type(error).__name__


def _one_line(text: str) -> str:
    return " ".join(text.split())
