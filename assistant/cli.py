"""`assistant index`, `assistant status`, `assistant ask`, `assistant eval`, `assistant serve`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from assistant.config import Settings, data_dir


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `assistant` command."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    if getattr(args, "index_dir", None):
        settings = Settings(Path(args.index_dir), settings.embed_model, settings.llm)
    from index.store import IndexProblem

    try:
        return int(args.run(args, settings))
    except IndexProblem as error:
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

    p = sub.add_parser("index", parents=[index_dir], help="build or update the index")
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="files or folders of articles")
    p.add_argument("--full", action="store_true", help="rebuild from scratch")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    p.set_defaults(run=_index)

    p = sub.add_parser("status", parents=[index_dir], help="what the index holds")
    p.set_defaults(run=_status)
    return parser


def _index(args: argparse.Namespace, settings: Settings) -> int:
    from index.build import rebuild

    sources = args.sources or [str(data_dir() / "articles")]
    report = rebuild(
        sources,
        settings.index_dir,
        full=args.full,
        model=settings.embed_model,
        progress=False if args.quiet else None,
    )
    print(report.summary())
    nothing = report.added + report.updated + report.unchanged == 0
    return 1 if nothing and report.skipped else 0


def _status(args: argparse.Namespace, settings: Settings) -> int:
    from index.store import open_index

    store = open_index(settings.index_dir)
    try:
        m = store.manifest
        print(
            f"index {settings.index_dir}: {m['articles']} articles, {m['sentences']} sentences, "
            f"{m['chunks']} chunks, built {m['built_at']} with {m['embedding_model']}"
        )
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
