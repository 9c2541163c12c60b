"""Parallel users of the served chat: the share of the cores they get, and latency during an upload.

Usage: .venv/bin/python -m bench.load [--clients 8 12 16] [--answers 10] [--seconds 60]
       [--source DIR ...] [--upload FILE] [--indexer process|thread]

Serves the chat on a free loopback port (its own process) over a fresh index of `--source`
(default: the sample article). One client's answers, one after another, give one answer's CPU
time in the server. Then N clients (each its own gradio_client session) ask at once, each up
to `--answers` questions or `--seconds`; answers/s x CPU per answer / cores is the share of the
machine the parallel users get (100%: every core busy answering); "server busy" is the CPU the
server used over that time / cores (above the share: answering in parallel cost more CPU).
Last, the largest N ask while one more client uploads `--upload` (default: a 300 KB paragraph
without punctuation), and the answers' p50/p95 latency during the upload are printed. Every
request goes to 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.shared import SAMPLE, free_port

QUESTIONS = [
    "What happened in Avdiivka?",
    "Which Russian ship did Ukraine destroy?",
    "How many people were killed in Belgorod?",
    "Where is Zelenskyy on Friday?",
    "What happened in Zaporizhzhia?",
    "How many residents does Avdiivka have now?",
    "What did Stoltenberg say about supporting Ukraine?",
    "How many missiles did Russia launch?",
]
CPU_ANSWERS = 12  # answers asked one after another to measure one answer's CPU time
START_TIMEOUT = 120  # seconds for the server to come up


def serve(index_dir: Path, port: int, indexer: str) -> None:
    """The server process: the chat over `index_dir` until it is killed."""
    from assistant.config import Settings
    from assistant.ui import build_app, launch
    from assistant.ui.worker import InThread, Worker

    settings = Settings.from_env(index_dir=index_dir)
    worker = Worker() if indexer == "process" else InThread()
    launch(build_app(settings, worker=worker), port=port, block=True)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children that were waited for."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def start_server(index_dir: Path, indexer: str) -> tuple[subprocess.Popen[bytes], str]:
    """`python -m bench.load --serve`: the server and its URL, once it listens."""
    port = free_port()
    command = [sys.executable, "-m", "bench.load", "--serve", str(index_dir), "--port", str(port)]
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    server = subprocess.Popen([*command, "--indexer", indexer], env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and server.poll() is None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return server, f"http://127.0.0.1:{port}/"
        time.sleep(0.3)
    server.kill()
    raise SystemExit("the server did not start")


def one_by_one(url: str, pid: int) -> tuple[float, float]:
    """(CPU seconds of one answer in the server, its latency), asked one after another."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    client.predict(QUESTIONS[0], api_name="/ask")  # warm
    started, cpu = time.perf_counter(), cpu_seconds(pid)
    for i in range(CPU_ANSWERS):
        client.predict(QUESTIONS[i % len(QUESTIONS)], api_name="/ask")
    wall = time.perf_counter() - started
    return (cpu_seconds(pid) - cpu) / CPU_ANSWERS, wall / CPU_ANSWERS


def in_parallel(
    url: str, clients: int, answers: int, seconds: float, busy: Callable[[], bool] = lambda: True
) -> tuple[list[float], float]:
    """Latencies of every answer of `clients` parallel sessions, and the wall time they took."""
    from gradio_client import Client

    sessions = [Client(url, verbose=False) for _ in range(clients)]
    latencies: list[float] = []
    errors: list[BaseException] = []
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def ask(client: Client, first: int) -> None:
        start.wait()
        for i in range(answers):
            if time.monotonic() > deadline[0] or not busy():
                return
            asked = time.perf_counter()
            try:
                client.predict(QUESTIONS[(first + i) % len(QUESTIONS)], api_name="/ask")
            except Exception as error:  # counted and shown, the run goes on
                errors.append(error)
                continue
            latencies.append(time.perf_counter() - asked)

    threads = [threading.Thread(target=ask, args=(c, i)) for i, c in enumerate(sessions)]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + seconds
    started = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join(seconds + 120)
    if errors:
        print(f"  {len(errors)} failed requests, e.g. {errors[0]!r}")
    return latencies, time.perf_counter() - started


def slow_file(folder: Path) -> Path:
    """A 300 KB paragraph of made-up words without punctuation (the issue's slow upload)."""
    rng = random.Random(7)
    words = (
        "".join(rng.choice("abcdefghijklmnop") for _ in range(rng.randint(2, 9)))
        for _ in range(60_000)
    )
    path = folder / "no-punctuation.txt"
    path.write_text(" ".join(words)[:300_000])
    return path


def during_upload(url: str, clients: int, answers: int, seconds: float, file: Path) -> None:
    """p50/p95 of the answers given while one more session uploads `file`."""
    from gradio_client import Client, handle_file

    uploader = Client(url, verbose=False)
    took: list[float] = []

    def upload() -> None:
        started = time.perf_counter()
        uploader.predict([handle_file(str(file))], api_name="/upload")
        took.append(time.perf_counter() - started)

    thread = threading.Thread(target=upload)
    thread.start()
    latencies, _ = in_parallel(url, clients, answers, seconds, busy=thread.is_alive)
    thread.join(seconds + 300)
    if not latencies:
        print("  no answer finished during the upload")
        return
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    print(
        f"{clients} clients during an upload of {file.stat().st_size / 1e3:.0f} KB "
        f"(took {took[0] if took else float('nan'):.1f}s): {len(latencies)} answers, "
        f"p50 {p50:.2f}s, p95 {p95:.2f}s"
    )


def percentile(values: list[float], p: int) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[p - 1]
        if len(values) > 1
        else values[0]
    )


def main() -> None:
    """Build the index, serve it, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 12, 16])
    parser.add_argument("--answers", type=int, default=10, help="per client, at most")
    parser.add_argument("--seconds", type=float, default=60, help="per run, at most")
    parser.add_argument("--source", type=Path, nargs="+", default=[SAMPLE])
    parser.add_argument("--upload", type=Path, help="default: a 300 KB unpunctuated paragraph")
    parser.add_argument("--indexer", choices=["process", "thread"], default="process")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve, args.port, args.indexer)
    from index.build import rebuild

    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        report = rebuild(args.source, Path(tmp) / "index", progress=False)
        print(f"index: {report.articles} articles, {report.sentences} sentences; {cores} cores")
        server, url = start_server(Path(tmp) / "index", args.indexer)
        try:
            cpu, alone = one_by_one(url, server.pid)
            print(f"one answer: {cpu:.3f}s of CPU in the server, {alone:.2f}s latency alone")
            for n in args.clients:
                used = cpu_seconds(server.pid)
                latencies, wall = in_parallel(url, n, args.answers, args.seconds)
                busy = (cpu_seconds(server.pid) - used) / wall / cores
                rate = len(latencies) / wall
                print(
                    f"{n:>2} clients: {len(latencies)} answers in {wall:.1f}s = {rate:.2f}/s; "
                    f"share of the cores {rate * cpu / cores:.0%} (server busy {busy:.0%}); "
                    f"p50 {percentile(latencies, 50):.2f}s, p95 {percentile(latencies, 95):.2f}s"
                )
            upload = args.upload or slow_file(Path(tmp))
            during_upload(url, max(args.clients), args.answers, args.seconds, upload)
        finally:
            server.send_signal(signal.SIGINT)  # as Ctrl-C: the server stops its worker
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
