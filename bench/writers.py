"""Two writers at once on a Chroma server while parallel users ask: 0 errors, 0 lost articles.

Usage: .venv/bin/python -m bench.writers [--clients 16] [--seconds 60]

Starts `chroma run` on a free loopback port, indexes the sample articles into it with the CLI
and serves the chat from two app processes over it. For `--seconds`, `--clients` sessions (split
over the two apps) ask questions, on the sample and on the articles written so far, while two
writers run again and again at once: the CLI indexes a folder that gains ROUND new fictional
articles each run, and an uploader adds one new fictional article at a time through the chat's
`/upload` endpoint, of each app in turn. Once the writers stop it counts the answers, the errors
(failed requests, writer runs that failed), the citations whose text is not the cited article's
text[start:end], and the lost articles: files a writer was told were added that the final index
lacks. Prints figures, no thresholds; exits 1 if there is any error, mismatch or lost article.
An upload "waited" when its progress said it waited for another build; a CLI run (quiet) can
only be said to have overlapped an upload. Everything runs on 127.0.0.1; every loop is bounded.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from gradio_client import Client, handle_file

from assistant.config import Settings
from bench.load import QUESTIONS
from index.places import Server
from index.store import current, open_index
from tests.shared import REPO, SAMPLE, free_port

ROUND = 5  # new articles per CLI run
START = 300  # seconds a server or an app may take to come up
CALL = 600  # seconds one question, upload or CLI run may take
WAITING = "waiting for another build of"
STREETS = ["Alder", "Birch", "Cedar", "Elm", "Hazel", "Juniper", "Larch", "Maple", "Rowan", "Yew"]
ENV = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
Cited = tuple[str, int, int, str]  # (article_id, start, end, text)


@dataclass
class Tally:
    """What the askers and writers did; shared by their threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    answers: int = 0
    errors: list[str] = field(default_factory=list)
    cited: set[Cited] = field(default_factory=set)
    asked_written: int = 0  # questions on a written article
    found_written: int = 0  # ... whose answer cited it
    added: dict[str, str] = field(default_factory=dict)  # file name -> its town: told added
    spans: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # writer -> runs
    waited: int = 0  # uploads whose progress said they waited for another build

    def error(self, what: str) -> None:
        with self.lock:
            self.errors.append(what)

    def ran(self, writer: str, started: float, added: dict[str, str]) -> None:
        with self.lock:
            self.spans.setdefault(writer, []).append((started, time.monotonic()))
            self.added |= added


def article(folder: Path, town: str, k: int) -> Path:
    """A short fictional article about the council of `town`, named after it."""
    street = STREETS[k % len(STREETS)]
    path = folder / f"{town.lower()}.txt"
    path.write_text(
        f"---\ntitle: {town} repairs {street} Street\npublished: 2024-05-01\n"
        "source: Bench Gazette\n---\n"
        f"The council of {town}, a fictional town, approved the repair of {street} Street. "
        f"The work on {street} Street will cost {k + 2} thousand crowns. "
        f"Residents of {town} had asked for it for years.\n",
        encoding="utf-8",
    )
    return path


def ask(client: Client, first: int, deadline: float, tally: Tally) -> None:
    """Questions one after another until the deadline: every other one on a written article."""
    rng = random.Random(first)
    for i in range(first, first + 100_000):
        if time.monotonic() > deadline:
            return
        with tally.lock:
            towns = sorted(tally.added.values())
        town = rng.choice(towns) if towns and i % 2 else None
        question = (
            f"What did the council of {town} approve?" if town else QUESTIONS[i % len(QUESTIONS)]
        )
        try:
            got = client.submit(question, api_name="/ask").result(timeout=CALL)
            assert isinstance(got, dict) and isinstance(got["text"], str), f"not an answer: {got}"
            cited = [(c["article_id"], c["start"], c["end"], c["text"]) for c in got["citations"]]
        except Exception as error:  # counted and shown; the run goes on
            tally.error(f"ask {question!r}: {error!r}"[:300])
            continue
        with tally.lock:
            tally.answers += 1
            tally.cited.update(cited)
            if town:
                tally.asked_written += 1
                tally.found_written += any(town in c[3] for c in cited)


def cli_writer(url: str, folder: Path, deadline: float, tally: Tally) -> None:
    """`assistant index FOLDER` again and again, ROUND new articles in FOLDER before each run."""
    folder.mkdir()
    pending: dict[str, str] = {}
    for k in range(0, 100_000, ROUND):
        if time.monotonic() > deadline:
            return
        for j in range(k, k + ROUND):
            pending[article(folder, f"Clifton-{j}", j).name] = f"Clifton-{j}"
        started = time.monotonic()
        command = [sys.executable, "-m", "assistant.cli", "index", str(folder), "-q"]
        try:
            done = subprocess.run(
                [*command, "--chroma-url", url],
                capture_output=True,
                text=True,
                timeout=CALL,
                cwd=REPO,
            )
        except subprocess.TimeoutExpired:
            tally.error(f"CLI run: no end within {CALL} s")
            continue
        added = re.match(r"(\d+) added", done.stdout)
        if done.returncode != 0 or not added or int(added[1]) != len(pending):
            tally.error(f"CLI run: exit {done.returncode}: {done.stdout}{done.stderr}"[-300:])
        told = pending if done.returncode == 0 else {}
        tally.ran("CLI", started, told)
        pending = {} if told else pending


def upload_writer(clients: list[Client], folder: Path, deadline: float, tally: Tally) -> None:
    """One new article at a time through the chat's upload, each app in turn."""
    folder.mkdir()
    for k in range(100_000):
        if time.monotonic() > deadline:
            return
        town = f"Uppsby-{k}"
        path = article(folder, town, k)
        started, waited = time.monotonic(), False
        try:
            job = clients[k % len(clients)].submit([handle_file(str(path))], api_name="/upload")
            while not job.done() and time.monotonic() < started + CALL:
                units = job.status().progress_data or []
                waited = waited or any(WAITING in (u.desc or "") for u in units)
                time.sleep(0.05)
            message = str(job.result(timeout=max(1.0, started + CALL - time.monotonic()))[0])
        except Exception as error:  # counted and shown; the run goes on
            tally.error(f"upload {path.name}: {error!r}"[:300])
            continue
        ok = re.search(r"\b1 added\b", message) is not None
        if not ok:
            tally.error(f"upload {path.name}: {re.sub(r'<[^>]+>', ' ', message)}"[:300])
        tally.ran("upload", started, {path.name: town} if ok else {})
        with tally.lock:
            tally.waited += waited


def start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as err:  # the child keeps its own copy of the file
        out = subprocess.DEVNULL
        return subprocess.Popen(
            command, cwd=REPO, env=ENV, stdout=out, stderr=err, start_new_session=True
        )


def wait_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=10).status_code == 200:
                return
        time.sleep(0.3)
    tail = log.read_text(errors="replace")[-2000:]
    raise SystemExit(f"{url} did not come up (exit {process.poll()}):\n{tail}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT to the process's own group (as Ctrl-C: an app stops its worker), then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # what is left of the group
    process.wait(timeout=30)


def overlapped(mine: list[tuple[float, float]], other: list[tuple[float, float]]) -> int:
    return sum(any(s < e2 and s2 < e for s2, e2 in other) for s, e in mine)


def check(url: str, tally: Tally) -> tuple[int, list[str], int]:
    """(citation mismatches, files told added but not in the final index, its articles)."""
    where = Server(url)
    index = open_index(where, current(where))
    try:
        texts: dict[str, str | None] = {}
        for article_id, *_ in tally.cited:
            if article_id not in texts:
                found = index.article(article_id)
                texts[article_id] = found[0].text if found else None
        bad = sum((texts[a] or "")[s:e] != t or texts[a] is None for a, s, e, t in tally.cited)
        by_name = {Path(e.path).name: i for i, e in index.catalogue().items()}
        missing = []
        for name, town in sorted(tally.added.items()):
            found = index.article(by_name[name]) if name in by_name else None
            if found is None or town not in found[0].text:
                missing.append(name)
        return bad, missing, index.manifest.articles
    finally:
        index.close()


def url_key(url: str) -> str:
    """The name of a server's BM25 folder in the cache (as index.places.Server names it)."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    url = f"http://127.0.0.1:{free_port()}"
    settings = Settings.from_env(chroma_url=url)
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="bench-writers-") as name:
        tmp = Path(name)
        try:
            chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
            command = [chroma, "run", "--path", str(tmp / "chroma"), "--host", "127.0.0.1"]
            processes.append(start([*command, "--port", url.rsplit(":", 1)[1]], tmp / "chroma.log"))
            wait_up(f"{url}/api/v2/heartbeat", processes[0], tmp / "chroma.log")
            index = [sys.executable, "-m", "assistant.cli", "index", str(SAMPLE), "-q"]
            built = subprocess.run(
                [*index, "--chroma-url", url], capture_output=True, text=True, cwd=REPO
            )
            if built.returncode != 0:
                raise SystemExit(f"indexing the sample failed: {built.stderr}")
            base = current(Server(url)).articles
            apps = []
            for n in range(2):
                port = free_port()
                serve = [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)]
                processes.append(start([*serve, "--chroma-url", url], tmp / f"app{n}.log"))
                apps.append(f"http://127.0.0.1:{port}/")
            for n, app in enumerate(apps):
                wait_up(app, processes[n + 1], tmp / f"app{n}.log")
            sessions = [Client(apps[i % 2], verbose=False) for i in range(args.clients)]
            uploaders = [Client(app, verbose=False) for app in apps]
            tally = Tally()
            deadline = time.monotonic() + args.seconds
            threads = [
                threading.Thread(target=ask, args=(s, i, deadline, tally), daemon=True)
                for i, s in enumerate(sessions)
            ]
            for writer, first_arg in ((cli_writer, url), (upload_writer, uploaders)):
                folder = tmp / writer.__name__
                job = (first_arg, folder, deadline, tally)
                threads.append(threading.Thread(target=writer, args=job, daemon=True))
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(max(1.0, deadline + CALL + 60 - time.monotonic()))
            if any(thread.is_alive() for thread in threads):
                tally.error("a client or writer did not finish in time")
            bad, missing, final = check(url, tally)
        finally:
            for process in reversed(processes):
                stop(process)
            for kept in (settings.uploads_dir, settings.cache_dir / "bm25" / url_key(url)):
                shutil.rmtree(kept, ignore_errors=True)  # this run's, in the user's cache
                with contextlib.suppress(OSError):  # if no other server's uploads are there
                    kept.parent.rmdir()
    cli, up = tally.spans.get("CLI", []), tally.spans.get("upload", [])
    n_cli = sum(name.startswith("clifton-") for name in tally.added)
    lost = max(len(missing), base + len(tally.added) - final)
    print(
        f"two writers on a Chroma server: {args.clients} clients, {args.seconds:g} s: "
        f"{tally.answers} answers, {len(tally.errors)} errors, {bad} citation mismatches; "
        f"CLI writer {len(cli)} runs ({n_cli} articles, {overlapped(cli, up)} overlapped an "
        f"upload), uploads {len(up)} ({len(tally.added) - n_cli} articles, {tally.waited} waited "
        f"for another build): {lost} lost; final index {final} articles "
        f"(sample {base} + {len(tally.added)} written)"
    )
    print(
        f"questions on a written article: {tally.asked_written}, "
        f"{tally.found_written} of them cited it"
    )
    for error in tally.errors[:5]:
        print(f"  error: {error}")
    for name in missing[:5]:
        print(f"  lost: {name}")
    if tally.errors or bad or lost:
        print(f"FAILED: {len(tally.errors)} errors, {bad} citation mismatches, {lost} lost")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
