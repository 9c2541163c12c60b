"""`assistant index`, `status`, `ask`, `eval`, `stories`, `story`, `update`, `feeds`, `serve`."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from assistant.config import Settings, data_dir
from index.errors import NewsAssistantError

# What a terminal acts on instead of showing (ECMA-48): CSI sequences ("ESC [2J" clears the
# screen), string commands (OSC "ESC ]0;title BEL" retitles the window, DCS, APC ...), other
# escapes, then any C0 or C1 control left but newline and tab.
_TERMINAL_CONTROLS = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d-\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -/]*[0-~]"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)
_C1_AND_DEL = re.compile(r"[\x7f-\x9f]")  # JSON leaves them raw; C0 it escapes itself


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `assistant` command."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    # A model server's malformed reply is said in one line ("the model failed: ..."), not also
    # in pydantic's three about the shape langchain-openai found.
    warnings.filterwarnings("ignore", "Pydantic serializer warnings", UserWarning)
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(
            index_dir=getattr(args, "index_dir", None),
            chroma_url=getattr(args, "chroma_url", None),
            llm=getattr(args, "llm", None),
            llm_base_url=getattr(args, "llm_base_url", None),
        )
        return int(args.run(args, settings))
    except NewsAssistantError as error:  # anything else is a bug, and shows as one
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant", description="Answers questions over news articles, citing sentences."
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    index_dir = argparse.ArgumentParser(add_help=False)
    index_dir.add_argument(
        "--index-dir", help="index folder (default: $ASSISTANT_INDEX_DIR or data/index)"
    )
    index_dir.add_argument(
        "--chroma-url",
        help="keep the index on this Chroma server, e.g. http://host:8000, instead of a "
        "folder (default: $ASSISTANT_CHROMA_URL)",
    )

    p = sub.add_parser("index", parents=[index_dir], help="build or update the index")
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="files or folders of articles")
    p.add_argument("--full", action="store_true", help="rebuild from scratch")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    p.set_defaults(run=_index)

    p = sub.add_parser("status", parents=[index_dir], help="what the index holds")
    p.set_defaults(run=_status)

    llm = argparse.ArgumentParser(add_help=False)
    llm.add_argument(
        "--llm",
        help="provider:model that writes the answer (default: $ASSISTANT_LLM or extractive)",
    )
    llm.add_argument(
        "--llm-base-url",
        help="base URL of an OpenAI-compatible server (default: $ASSISTANT_LLM_BASE_URL)",
    )

    p = sub.add_parser("ask", parents=[index_dir, llm], help="answer one question")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the Answer as JSON")
    p.add_argument("--since", help="only articles published on or after this date")
    p.add_argument("--until", help="only articles published on or before this date")
    p.add_argument("--source", action="append", help="only articles from this source (repeat)")
    p.add_argument(
        "--as-of", help="the day the question is asked: recent articles weigh more (default today)"
    )
    p.set_defaults(run=_ask)

    p = sub.add_parser("eval", parents=[index_dir, llm], help="measure on a question file")
    p.add_argument("questions", type=Path, help="JSONL with 'question' and 'answer' fields")
    p.set_defaults(run=_eval)

    p = sub.add_parser("stories", parents=[index_dir], help="the stories of a period")
    p.add_argument("--since", help="stories with an article published on or after this date")
    p.add_argument("--until", help="stories with an article published on or before this date")
    p.add_argument("--top", type=int, default=10, help="how many (default: 10; 0: all)")
    p.add_argument("--json", action="store_true", help="print them as JSON")
    p.set_defaults(run=_stories)

    p = sub.add_parser("story", parents=[index_dir], help="a story's timeline, cited")
    p.add_argument("id", help="a story's id, as `assistant stories` shows it")
    p.add_argument("--json", action="store_true", help="print it as JSON")
    p.set_defaults(run=_story)

    p = sub.add_parser("follow", parents=[index_dir], help="follow a topic (see `followed`)")
    p.add_argument("topic", help='e.g. "Avdiivka"')
    p.set_defaults(run=_follow)
    p = sub.add_parser("unfollow", parents=[index_dir], help="stop following a topic")
    p.add_argument("topic")
    p.set_defaults(run=_unfollow)
    p = sub.add_parser(
        "followed",
        parents=[index_dir],
        help="what is new on each followed topic since it was last shown (a digest to mail)",
    )
    p.add_argument("--json", action="store_true", help="print them as JSON")
    p.set_defaults(run=_followed)

    fetching = argparse.ArgumentParser(add_help=False)
    fetching.add_argument(
        "--allow-private",
        action="store_true",
        help="fetch from private and loopback addresses with --chroma-url too (refused there "
        "by default: a shared install must not reach into its own network)",
    )

    p = sub.add_parser(
        "update",
        parents=[index_dir, fetching],
        help="fetch the feeds that are due, index what is new",
    )
    p.add_argument("--all", action="store_true", help="fetch every feed, due or not")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    p.set_defaults(run=_update)

    feeds = sub.add_parser("feeds", help="the feeds the index follows").add_subparsers(
        required=True, metavar="ACTION"
    )
    p = feeds.add_parser("add", parents=[index_dir, fetching], help="follow a feed")
    p.add_argument("url", help="an RSS, Atom or JSON Feed URL, or a web page that names its feed")
    p.add_argument("--name", default="", help="its name (default: from its title)")
    p.set_defaults(run=_feeds_add)
    p = feeds.add_parser("list", parents=[index_dir], help="the feeds and how their fetches went")
    p.set_defaults(run=_feeds_list)
    p = feeds.add_parser("remove", parents=[index_dir], help="stop following a feed")
    p.add_argument("name")
    p.add_argument("--keep", action="store_true", help="keep its articles in the index")
    p.set_defaults(run=_feeds_remove)
    p = feeds.add_parser("import", parents=[index_dir], help="follow the feeds of an OPML file")
    p.add_argument("file", type=Path, help="an OPML file (what feed readers export)")
    p.set_defaults(run=_feeds_import)
    p = feeds.add_parser("export", parents=[index_dir], help="the feeds as OPML, on stdout")
    p.set_defaults(run=_feeds_export)

    p = sub.add_parser("serve", parents=[index_dir, llm, fetching], help="the chat in the browser")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    p.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    p.add_argument(
        "--update-every",
        type=duration,
        metavar="DURATION",
        help="fetch the feeds that are due (`assistant update`) at start and then this often, "
        "e.g. 30m, 1h or 2h30m (default: only when asked in the page)",
    )
    p.set_defaults(run=_serve)
    return parser


def _index(args: argparse.Namespace, settings: Settings) -> int:
    from index.build import rebuild

    sources = args.sources or [str(data_dir() / "articles")]
    where = settings.place()
    embedder = settings.chunk_embedder(where)
    report = rebuild(
        sources,
        where,
        full=args.full,
        embedder=embedder,
        progress=False if args.quiet else None,
    )
    print(report.summary())
    if report.added + report.updated + report.unchanged == 0:
        print(f"error: no article could be indexed from {', '.join(sources)}", file=sys.stderr)
        return 1
    return 0


def _fetcher(args: argparse.Namespace, settings: Settings) -> Any:
    from index.fetch import Fetcher

    return Fetcher(allow_private=args.allow_private or not settings.chroma_url)


def _update(args: argparse.Namespace, settings: Settings) -> int:
    from index.update import update

    where = settings.place()
    with _fetcher(args, settings) as fetcher:
        report = update(
            where,
            settings.feeds_dir,
            settings.chunk_embedder(where),
            fetcher,
            everything=args.all,
            progress=False if args.quiet else None,
        )
    for line in report.lines():
        print(shown(line))
    return 0 if report.fetched_any or not report.feeds else 1


def _feeds_add(args: argparse.Namespace, settings: Settings) -> int:
    from index.update import add_feed

    with _fetcher(args, settings) as fetcher:
        feed = add_feed(settings.place(), args.url, args.name, fetcher)
    print(f"following {feed.name} ({shown(feed.url)}): `assistant update` fetches it")
    return 0


def _feeds_list(args: argparse.Namespace, settings: Settings) -> int:
    import time

    from index import feedlist

    feeds = feedlist.read(settings.place())
    if not feeds:
        print("no feeds yet: `assistant feeds add URL` or `assistant feeds import FILE.opml`")
        return 0
    now = time.time()
    for feed in feeds:
        row = feedlist.as_row(feed, now)
        print(shown(f"{row.pop('name')}  {row.pop('url')}"))
        print("    " + shown("; ".join(f"{k}: {v}" for k, v in row.items())))
    return 0


def _feeds_remove(args: argparse.Namespace, settings: Settings) -> int:
    from index.update import remove_feed

    where = settings.place()
    report = remove_feed(
        where, args.name, settings.feeds_dir, settings.chunk_embedder(where), keep=args.keep
    )
    kept = " (its articles stay)" if args.keep else ""
    print(f"no longer following {args.name}{kept}")
    if report is not None:
        print(report.summary())
    return 0


def _feeds_import(args: argparse.Namespace, settings: Settings) -> int:
    from index import feedlist
    from index.feeds import read_opml

    try:
        listed = read_opml(args.file.read_bytes())
    except OSError as error:
        print(f"error: cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 2
    where = settings.place()
    with where.building(lambda message: None, "feeds"):
        feeds = feedlist.read(where)
        followed = {f.url for f in feeds}
        added = []
        for name, url in listed:
            if url in followed:
                continue
            followed.add(url)
            feed = feedlist.FeedState(feedlist.unique_name(feedlist.slug(name or url), feeds), url)
            feeds.append(feed)
            added.append(feed)
        feedlist.write(where, feeds)
    print(f"{len(added)} feeds added, {len(listed) - len(added)} followed already")
    return 0


def _feeds_export(args: argparse.Namespace, settings: Settings) -> int:
    from index import feedlist
    from index.feeds import write_opml

    feeds = feedlist.read(settings.place())
    sys.stdout.write(write_opml([(f.name, f.url) for f in feeds]))
    return 0


def _status(args: argparse.Namespace, settings: Settings) -> int:
    from index.store import current, open_index

    where = settings.place()
    m = current(where)
    index = open_index(where, m)  # a segment gone or damaged: one line
    try:
        for segment in index.segments:
            segment.articles.count()
            segment.chunks.count()
    finally:
        index.close()
    segments = len(m.parts)
    print(
        f"index {where.name}: {m.articles} articles, {m.sentences} sentences, "
        f"{m.chunks} chunks, built {m.built_at} with {m.embedding_model} "
        f"({segments} segment{'s' if segments != 1 else ''})"
    )
    return 0


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.api import answer

    result = answer(
        args.question,
        since=args.since,
        until=args.until,
        sources=args.source,
        as_of=args.as_of,
        settings=settings,
    )
    if args.json:  # the text as stored, offsets intact: controls escaped, not removed
        _print_json(result.to_dict())
        return 0
    print(shown(result.text))
    if result.citations:
        print()
    for c in result.citations:
        where = ", ".join(shown(x) for x in (c.source, c.published) if x)
        if c.reported_by[1:]:  # "(Valley Post, 2024-05-02; reported by 2 independent outlets: ...)"
            where = "; ".join(filter(None, (where, shown(c.reported()))))
        if c.also:  # "(AP, 2024-03-14; also carried by 2 outlets: Port Times, Valley Post)"
            where = "; ".join(filter(None, (where, shown(c.carried()))))
        print(f"[{c.n}] {shown(c.title)}" + (f" ({where})" if where else ""))
        print(f"    \u201c{shown(c.text)}\u201d")
        if c.url:
            print(f"    {shown(c.url)}")
    return 0


def _stories(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.api import stories

    found = stories(args.since, args.until, args.top or None, settings=settings)
    if args.json:
        _print_json([asdict(s) for s in found])
        return 0
    if not found:
        print("no stories in that period")
    for s in found:
        days = s.first_seen if s.first_seen == s.last_seen else f"{s.first_seen} to {s.last_seen}"
        print(f"{s.id}  {shown(s.headline)}")
        print(f"    {days}; {_counted(s)}")
    return 0


def _story(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.api import story

    found, points = story(args.id, settings=settings)
    if args.json:
        _print_json({**asdict(found), "timeline": [asdict(p) for p in points]})
        return 0
    print(shown(found.headline))
    print(f"{found.first_seen} to {found.last_seen}; {_counted(found)}")
    if found.develops:
        print(f"develops story {found.develops}")
    for p in points:
        a = p.article
        carried = f"; also carried by {', '.join(a.carried_by)}" if a.carried_by else ""
        print(f"\n{a.published}  {shown(a.published_by)}{shown(carried)}: {shown(a.title)}")
        print(f"    \u201c{shown(p.sentence)}\u201d  [{a.id} {p.start}-{p.end}]")
    return 0


def _follow(args: argparse.Namespace, settings: Settings) -> int:
    from assistant import follows

    topic = follows.follow(settings.place(), args.topic)
    print(
        f"following {shown(topic.topic)!r} from {topic.shown}: `assistant followed` tells what "
        "is new on it"
    )
    return 0


def _unfollow(args: argparse.Namespace, settings: Settings) -> int:
    from assistant import follows

    if not follows.unfollow(settings.place(), args.topic):
        print(
            f"error: {args.topic!r} is not followed (`assistant followed` lists them)",
            file=sys.stderr,
        )
        return 2
    return 0


def _followed(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.api import followed

    found = followed(settings=settings)
    if args.json:
        _print_json([{"topic": t, "answer": a.to_dict()} for t, a in found])
        return 0
    if not found:
        print('no topics followed: `assistant follow "TOPIC"` adds one')
    for topic, said in found:
        print(f"== {shown(topic)}")
        print(shown(said.text))
        for c in said.citations:
            where = ", ".join(x for x in (c.source, c.published) if x)
            print(f"   [{c.n}] {shown(c.title)} ({shown(where)})")
        print()
    return 0


def _counted(s: Any) -> str:
    """ "3 articles, 2 outlets (1 independent: CNN)"."""
    n, outlets = len(s.articles), len(s.outlets)
    return (
        f"{n} article{'s' * (n != 1)}, {outlets} outlet{'s' * (outlets != 1)} "
        f"({len(s.independent)} independent: {', '.join(shown(o) for o in s.independent)})"
    )


def _print_json(value: Any) -> None:
    """JSON on stdout, the text as stored: controls escaped, not removed."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    print(_C1_AND_DEL.sub(lambda m: f"\\u{ord(m[0]):04x}", text))


def shown(text: str) -> str:
    """Article or answer text as a terminal shows it: its control sequences removed, so a text
    cannot clear the screen, retitle the window or move the cursor."""
    return _TERMINAL_CONTROLS.sub("", text)


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.api import get_assistant
    from assistant.evaluate import report, run

    if not args.questions.is_file():
        print(f"error: no question file at {args.questions}", file=sys.stderr)
        return 2
    assistant = get_assistant(settings)
    print(report(run(assistant, args.questions), assistant.context_chars))
    return 0


_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def duration(text: str) -> float:
    """90s, 30m, 1h or 2h30m as seconds (at least one); for argparse, whose error it raises."""
    found = _DURATION.fullmatch(text.strip().lower())
    if not found or not any(found.groups()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90s, 30m, 1h or 2h30m")
    hours, minutes, seconds = (int(n or 0) for n in found.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is too short: at least 1s")
    return float(total)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.ui import build_app, launch, parse_auth

    auth = parse_auth(settings.auth)
    demo = build_app(
        settings,
        update_every=args.update_every or 0.0,
        # As `assistant update`, and a chat served beyond this machine is a shared install too:
        # its users must not make it fetch from its own network.
        allow_private=args.allow_private
        or (not settings.chroma_url and args.host in ("127.0.0.1", "localhost", "::1")),
    )
    if auth is None and args.host not in ("127.0.0.1", "localhost", "::1"):
        print("warning: serving beyond this machine without ASSISTANT_AUTH", file=sys.stderr)
    over = settings.chroma_url or settings.index_dir
    print(f"News Assistant on http://{args.host}:{args.port}/ over {over}")
    try:
        launch(demo, args.host, args.port, auth)
    except OSError as error:
        print(f"error: cannot serve on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
