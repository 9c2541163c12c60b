"""Server mode: the whole index on a real `chroma run`, shared by several app processes."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import chromadb
import httpx
import pytest
from gradio_client import Client

from assistant.api import answer, get_assistant
from assistant.config import Settings
from assistant.result import Answer
from index import places
from index.build import rebuild
from index.errors import IndexProblem
from index.places import Server
from index.store import current
from tests.shared import REPO, SAMPLE, free_port

AVDIIVKA = "What happened in Avdiivka?"
HARBOUR = (
    "---\ntitle: Harbour bridge reopens\npublished: 2024-03-14\nsource: Port Times\n---\n"
    "The harbour bridge in Portside reopened on Thursday after eight months of repairs. "
    "Engineers said the work cost about 3.5 million dollars.\n"
)
STARTUP = 60  # seconds a server process may take to answer


def chroma_command() -> str:
    """The `chroma` command of this environment: a missing one fails, never skips."""
    found = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    assert Path(found).exists(), "`chroma` (installed with chromadb) is needed for these tests"
    return found


class ChromaServer:
    """`chroma run` on a free loopback port, stopped and started again at will."""

    def __init__(self, path: Path):
        self.path, self.port = path, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [chroma_command(), "run", "--path", str(self.path), "--host", "127.0.0.1"]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: httpx.get(f"{self.url}/api/v2/heartbeat").status_code == 200)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def wait_for(ready: Any, seconds: float = STARTUP) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if ready():
                return
        except (httpx.HTTPError, OSError, ValueError):  # not up yet
            pass
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[ChromaServer]:
    chroma = ChromaServer(tmp_path / "chroma-server")
    chroma.start()
    yield chroma
    chroma.stop()


def settings(**kw: Any) -> Settings:
    return Settings.from_env(**kw)


def citations(result: Answer) -> list[tuple[str, int, int, str]]:
    return [(c.article_id, c.start, c.end, c.text) for c in result.citations]


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


def test_answers_from_the_server_equal_the_local_ones(
    server: ChromaServer, sample_index: Path, embedder: Any
) -> None:
    report = rebuild(
        [SAMPLE], settings(chroma_url=server.url).place(), embedder=embedder, progress=False
    )
    assert report.added == 1 and report.index_dir == server.url
    remote = answer(AVDIIVKA, chroma_url=server.url, as_of="2024-02-17")
    local = answer(AVDIIVKA, index_dir=sample_index, as_of="2024-02-17")
    assert remote.covered and remote.text == local.text
    assert citations(remote) == citations(local)
    assistant = get_assistant(settings(chroma_url=server.url))
    article_id = remote.citations[0].article_id
    opened = assistant.article(article_id)
    assert opened is not None
    article, sentences = opened
    assert [article.text[s.start : s.end] for s in sentences][:3] == [
        article.text[s.start : s.end] for s in (opened[1][:3])
    ]
    # everything lives on the server: nothing was written to the local index folder
    assert not (Path(os.environ["ASSISTANT_INDEX_DIR"]) / "manifest.json").exists()
    assert {c.name for c in chromadb.HttpClient(port=server.port).list_collections()} == {
        "news-manifest",
        *(
            f"news-{segment}-{w}"
            for segment in current(Server(server.url)).segment_ids
            for w in ("chunks", "articles", "stories")
        ),
    }


def test_stories_live_on_the_server_and_equal_the_local_ones(
    server: ChromaServer, tmp_path: Path, embedder: Any
) -> None:
    from assistant import stories
    from tests.test_stories import FLOOD_1, FLOOD_2, FLOOD_3, LIBRARY

    src = tmp_path / "src"
    src.mkdir()
    (src / "flood-1.md").write_text(FLOOD_1)
    (src / "library.md").write_text(LIBRARY)
    remote_place, local = settings(chroma_url=server.url).place(), tmp_path / "local"
    for name, text in (("flood-2.md", FLOOD_2), ("flood-3.md", FLOOD_3)):
        rebuild([src], remote_place, embedder=embedder, progress=False)
        rebuild([src], local, embedder=embedder, progress=False)
        (src / name).write_text(text)
    rebuild([src], remote_place, embedder=embedder, progress=False)  # an update: one segment
    rebuild([src], local, embedder=embedder, progress=False)
    remote = stories(chroma_url=server.url)
    assert remote == stories(index_dir=local)
    assert len(remote[0].articles) == 3 and len(remote) == 2


def test_followed_topics_live_on_the_server(server: ChromaServer, tmp_path: Path) -> None:
    from assistant import follows

    assert cli("follow", "Avdiivka", "--chroma-url", server.url).returncode == 0
    # Another machine's install (its own index folder) sees the topic on the server.
    other = settings(chroma_url=server.url, index_dir=tmp_path / "elsewhere").place()
    assert [t.topic for t in follows.read(other)] == ["Avdiivka"]
    assert follows.unfollow(other, "avdiivka")
    assert follows.read(settings(chroma_url=server.url).place()) == []


@pytest.mark.slow
def test_two_app_processes_share_the_server_and_follow_a_new_build(
    server: ChromaServer, tmp_path: Path
) -> None:
    articles = tmp_path / "articles"
    shutil.copytree(SAMPLE, articles)
    done = cli("index", str(articles), "--chroma-url", server.url, "--quiet")
    assert done.returncode == 0, done.stderr
    apps = []
    try:
        for _ in range(2):
            port = free_port()
            command = [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)]
            apps.append(
                subprocess.Popen(
                    [*command, "--chroma-url", server.url],
                    cwd=REPO,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            )
            apps[-1].port = port  # type: ignore[attr-defined]
        clients = []
        for app in apps:
            url = f"http://127.0.0.1:{app.port}/"  # type: ignore[attr-defined]
            wait_for(lambda url=url: httpx.get(url).status_code == 200)
            clients.append(Client(url, verbose=False))
        with ThreadPoolExecutor(len(clients)) as pool:  # both at once
            first = list(pool.map(lambda c: c.predict(AVDIIVKA, api_name="/ask"), clients))
        assert first[0]["covered"] and first[0]["text"] == first[1]["text"]
        assert first[0]["citations"] == first[1]["citations"]

        (articles / "harbour.txt").write_text(HARBOUR, encoding="utf-8")
        done = cli("index", str(articles), "--chroma-url", server.url, "--quiet")
        assert done.returncode == 0 and "1 added" in done.stdout, done.stderr
        bridge = "When did the Portside harbour bridge reopen?"
        for client in clients:  # no restart: each instance opens the new index in the background
            # and answers from the old one until it is ready (questions never wait for it)
            wait_for(
                lambda client=client: any(
                    "reopened on Thursday" in c["text"]
                    for c in client.predict(bridge, api_name="/ask")["citations"]
                ),
                seconds=60,
            )
    finally:
        for app in apps:
            app.terminate()
            app.wait(timeout=30)


def test_a_server_that_stops_mid_question_is_one_clear_error_and_answers_when_back(
    server: ChromaServer, embedder: Any
) -> None:
    rebuild([SAMPLE], settings(chroma_url=server.url).place(), embedder=embedder, progress=False)
    assistant = get_assistant(settings(chroma_url=server.url))
    before = answer(AVDIIVKA, chroma_url=server.url)

    class StopsTheServer:
        """The real embedder, which stops the server once the question is being searched."""

        name = embedder.name

        def embed_query(self, text: str) -> list[float]:
            server.stop()
            return list(embedder.embed_query(text))

    with assistant.searcher() as searcher:
        searcher.embedder = StopsTheServer()  # type: ignore[assignment]
    try:
        with pytest.raises(IndexProblem, match=f"the Chroma server at {server.url} does not"):
            answer(AVDIIVKA, chroma_url=server.url)
    finally:
        searcher.embedder = assistant.embedder
    with pytest.raises(IndexProblem, match="does not answer"):  # the next question too
        answer(AVDIIVKA, chroma_url=server.url)
    down = cli("ask", AVDIIVKA, "--chroma-url", server.url)
    assert down.returncode == 2 and "Traceback" not in down.stderr
    assert f"the Chroma server at {server.url} does not answer" in down.stderr

    server.start()  # same port, same data
    after = answer(AVDIIVKA, chroma_url=server.url)
    assert after.text == before.text and citations(after) == citations(before)


def write_articles(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        body = " ".join(  # every article its own numbers: no two are copies of one story
            f"Council meeting {i} in district {i % 17} approved budget line {j} for roads, "
            f"worth {(i * 31 + j * 7) % 997} thousand crowns."
            for j in range(12)
        )
        (folder / f"meeting-{i:03d}.txt").write_text(body, encoding="utf-8")


@pytest.mark.slow
def test_killing_an_indexing_run_loses_nothing(server: ChromaServer, tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    shutil.copytree(SAMPLE, articles)
    assert cli("index", str(articles), "--chroma-url", server.url, "-q").returncode == 0
    where = Server(server.url)
    before = current(where)
    answered = answer(AVDIIVKA, chroma_url=server.url)

    write_articles(articles, 300)
    run = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "index", str(articles), "-q"]
        + ["--chroma-url", server.url],
        cwd=REPO,
        stderr=subprocess.DEVNULL,
    )
    listed = set(before.segment_ids)
    # kill -9 once the run is writing its segment
    wait_for(lambda: bool(where.segment_ids() - listed) or run.poll() is not None, 300)
    run.send_signal(signal.SIGKILL)
    run.wait()
    assert where.segment_ids() - listed, "the run ended before it could be killed mid-way"

    assert current(where) == before  # the previous index, whole, still answers
    again = answer(AVDIIVKA, chroma_url=server.url)
    assert again.text == answered.text and citations(again) == citations(answered)

    done = cli("index", str(articles), "--chroma-url", server.url, "-q")
    assert done.returncode == 0, done.stderr
    after = current(where)
    assert after.articles == before.articles + 300
    # what the killed run left is gone; the segments kept are this index's and the previous
    assert where.segment_ids() == after.kept()
    get_assistant(settings(chroma_url=server.url)).refresh()  # this process's app: the new index
    found = answer("Which district approved budget line 7 in meeting 42?", chroma_url=server.url)
    assert any("Council meeting 42 " in c.text for c in found.citations), found.text
    status = cli("status", "--chroma-url", server.url)
    assert f"{after.articles} articles" in status.stdout


def test_a_bad_or_silent_server_url_is_one_line(tmp_path: Path) -> None:
    silent = f"http://127.0.0.1:{free_port()}"
    for args in (("status",), ("ask", AVDIIVKA), ("index", str(SAMPLE))):
        done = cli(*args, "--chroma-url", silent)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert f"the Chroma server at {silent} does not answer" in done.stderr
    done = cli("status", "--chroma-url", "ftp://nowhere")
    assert done.returncode == 2 and "not a Chroma server URL" in done.stderr
    with pytest.raises(IndexProblem, match="does not answer"):
        answer(AVDIIVKA, settings=replace(settings(), chroma_url=silent))


def test_an_upload_in_the_chat_goes_into_the_servers_index(
    server: ChromaServer, tmp_path: Path, embedder: Any
) -> None:
    from assistant.chain import Assistant
    from assistant.question import Question
    from assistant.ui.handlers import ChatApp
    from assistant.ui.worker import InThread

    rebuild([SAMPLE], settings(chroma_url=server.url).place(), embedder=embedder, progress=False)
    assistant = Assistant(Server(server.url), embedder)
    app = ChatApp(settings(chroma_url=server.url), assistant, InThread())
    article = tmp_path / "harbour.txt"
    article.write_text(HARBOUR, encoding="utf-8")
    message, *_ = app.add_articles([str(article)], progress=lambda *a, **k: None)  # type: ignore[arg-type]
    assert "1 added" in message, message
    assert current(Server(server.url)).articles == 2
    found = assistant.chain.invoke(Question.ask("When did the Portside harbour bridge reopen?"))
    assert any("reopened on Thursday" in c.text for c in found.citations), found.text
    assert not (Path(os.environ["ASSISTANT_INDEX_DIR"]) / "manifest.json").exists()


# --- two writers on one server -----------------------------------------------------------------
WAITING = "waiting for another build of"


STREETS = [  # a street of its own for each article of the tests below
    *("Alder", "Ash", "Birch", "Cedar", "Elm", "Fir", "Hazel", "Holly", "Juniper", "Larch"),
    *("Linden", "Maple", "Oak", "Pine", "Poplar", "Rowan", "Spruce", "Willow", "Yew", "Beech"),
    *("Chestnut", "Cypress", "Hawthorn", "Hemlock", "Laurel", "Magnolia", "Myrtle", "Olive"),
]


def written(folder: Path, word: str, n: int, first: int = 0) -> Path:
    """`n` short fictional articles of the `word` council, each on the repair of its own street
    (STREETS from `first` on)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        street = STREETS[first + i]
        body = (
            f"The {word} council approved the repair of {street} Street on Monday. "
            f"Work on {street} Street will start in spring and cost {i + 2} million crowns. "
            f"Residents of {street} Street had asked for it for years."
        )
        (folder / f"{word}-{i:02d}.txt").write_text(body, encoding="utf-8")
    return folder


@pytest.mark.parametrize("step", ["splitting sentences", "embedding chunks", "saving the index"])
def test_a_second_writer_waits_at_every_step_of_the_first_and_nothing_is_lost(
    server: ChromaServer, tmp_path: Path, embedder: Any, step: str
) -> None:
    first_src = written(tmp_path / "first", "Harrow", 12)
    second_src = written(tmp_path / "second", "Ostby", 9, first=12)
    rebuild([SAMPLE], Server(server.url), embedder=embedder, progress=False)
    second_waits = threading.Event()
    reached = threading.Event()

    def second_progress(stage: str, done: int, total: int) -> None:
        if stage.startswith(WAITING):
            second_waits.set()

    with ThreadPoolExecutor(1) as pool:
        second: list[Any] = []

        def first_progress(stage: str, done: int, total: int) -> None:
            if stage == step and not reached.is_set():  # the second writer starts here
                reached.set()
                second.append(
                    pool.submit(
                        rebuild,
                        [second_src],
                        Server(server.url),
                        embedder=embedder,
                        progress=False,
                        on_progress=second_progress,
                    )
                )
                assert second_waits.wait(60), "the second writer did not wait"
                assert not second[0].done()

        first = rebuild(
            [first_src], Server(server.url), embedder=embedder, on_progress=first_progress
        )
        assert reached.is_set()
        other = second[0].result(timeout=300)
    assert (first.added, other.added) == (12, 9)
    where = Server(server.url)
    final = current(where)
    assert final.articles == 1 + 12 + 9 == other.articles
    assert where.segment_ids() == final.kept()  # no segment of either writer left behind
    assistant = get_assistant(settings(chroma_url=server.url))
    assistant.refresh()
    for question, words in (
        ("What will the Larch Street repair cost?", "Harrow council approved the repair of Larch"),
        (
            "What did the Ostby council approve for Spruce Street?",
            "Ostby council approved the repair of Spruce",
        ),
    ):
        found = answer(question, chroma_url=server.url)
        assert any(words in c.text for c in found.citations), found.text
    assert answer(AVDIIVKA, chroma_url=server.url).covered


@pytest.mark.slow
def test_two_indexing_runs_at_once_on_a_server_both_land(
    server: ChromaServer, tmp_path: Path
) -> None:
    sources = [written(tmp_path / "a", "Harrow", 20), written(tmp_path / "b", "Ostby", 5, first=20)]
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "index", str(src), "--chroma-url", server.url],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for src in sources
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    for run, (_, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0 and "Traceback" not in err, err
    assert sorted(out.split(" added")[0] for out, _ in outputs) == ["20", "5"]
    status = cli("status", "--chroma-url", server.url)
    assert status.returncode == 0 and ": 25 articles" in status.stdout, status.stderr
    found = cli(
        "ask", "Which council approved the Hawthorn Street repair?", "--chroma-url", server.url
    )
    assert found.returncode == 0 and "Ostby council approved the repair of Hawthorn" in found.stdout


def lock_record(where: Server, n: int, **meta: Any) -> None:
    """A lock record as another build would have written it."""
    state = where.client.get_or_create_collection("news-manifest", embedding_function=None)
    record = {"lock": n, "held": True, "owner": "someone", "host": "elsewhere", "pid": 1, **meta}
    state.add(ids=[f"lock-{n}"], embeddings=[[0.0]], metadatas=[record])


def test_a_lock_left_by_a_killed_build_is_taken_over(
    server: ChromaServer, tmp_path: Path, embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = written(tmp_path / "a", "Harrow", 3)
    where = Server(server.url)
    # A build of this machine that is gone: taken over at once.
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], **TEXT)
    lock_record(where, 1, host=socket.gethostname(), pid=int(gone.stdout))
    assert rebuild([src], where, embedder=embedder, progress=False).added == 3
    # One of another machine: taken over once it has not been heard from for LEASE seconds.
    monkeypatch.setattr(places, "LEASE", 2.0)
    newest = max(int(m["lock"]) for m in lock_metadata(where))
    lock_record(where, newest + 1)
    told: list[str] = []
    report = rebuild(
        [src, SAMPLE],
        where,
        embedder=embedder,
        progress=False,
        on_progress=lambda s, *_: told.append(s),
    )
    assert report.added == 1 and any(s.startswith(WAITING) for s in told)
    assert current(where).articles == 4


def lock_metadata(where: Server) -> list[dict[str, Any]]:
    state = where.client.get_collection("news-manifest", embedding_function=None)
    return list(state.get(where={"lock": {"$gte": 0}}, include=["metadatas"])["metadatas"])


def test_a_build_whose_lock_was_taken_over_publishes_nothing(
    server: ChromaServer, tmp_path: Path, embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_src = written(tmp_path / "slow", "Harrow", 12)
    other_src = written(tmp_path / "other", "Ostby", 2, first=12)
    rebuild([SAMPLE], Server(server.url), embedder=embedder, progress=False)
    # The first build stops sending heartbeats (as a machine that lost the network would).
    monkeypatch.setattr(places, "HEARTBEAT", 3600.0)
    monkeypatch.setattr(places, "LEASE", 2.0)
    overtaken = threading.Event()

    def stalls(stage: str, done: int, total: int) -> None:
        if stage == "embedding chunks" and not overtaken.is_set():
            rebuild([other_src], Server(server.url), embedder=embedder, progress=False)
            overtaken.set()

    with pytest.raises(IndexProblem, match="another build took over the index"):
        rebuild([slow_src], Server(server.url), embedder=embedder, on_progress=stalls)
    where = Server(server.url)
    assert current(where).articles == 1 + 2  # the overtaking build's, and nothing of the other
    assert answer(
        "What did the Ostby council approve for Pine Street?", chroma_url=server.url
    ).covered


# --- a server that does not answer, or is not Chroma -------------------------------------------
TEXT: Any = {"capture_output": True, "text": True, "timeout": 120}


class Silent:
    """A TCP server on loopback that accepts connections and never answers."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # closed: the test is over
            while True:
                self.held.append(self.socket.accept()[0])

    def close(self) -> None:
        self.socket.close()
        for held in self.held:
            held.close()


def test_a_server_that_never_answers_is_one_line_after_the_deadline(tmp_path: Path) -> None:
    silent = Silent()
    env = {**os.environ, "ASSISTANT_CHROMA_TIMEOUT": "2"}
    try:
        serve = ("serve", "--port", str(free_port()))
        for args in (("status",), ("ask", AVDIIVKA), ("index", str(SAMPLE)), serve):
            done = subprocess.run(  # without a deadline each waited for ever
                [sys.executable, "-m", "assistant.cli", *args, "--chroma-url", silent.url],
                cwd=REPO,
                env=env,
                **TEXT,
            )
            assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr
            assert "does not answer (no answer within 2 s)" in done.stderr
    finally:
        silent.close()


def test_a_server_that_stops_answering_costs_one_deadline_then_answers_again(
    server: ChromaServer, embedder: Any
) -> None:
    rebuild([SAMPLE], Server(server.url), embedder=embedder, progress=False)
    quick = replace(settings(chroma_url=server.url), chroma_timeout=2.0)
    before = answer(AVDIIVKA, settings=quick)
    assert server.process is not None
    server.process.send_signal(signal.SIGSTOP)  # the process is there and answers nothing
    try:
        with pytest.raises(IndexProblem, match="no answer within 2 s"):
            answer("What did the soldiers say about Avdiivka?", settings=quick)
    finally:
        server.process.send_signal(signal.SIGCONT)
    after = answer(AVDIIVKA, settings=quick)
    assert after.text == before.text


def test_a_web_server_or_an_impossible_port_given_as_chroma_is_one_line(tmp_path: Path) -> None:
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: httpx.get(url).status_code == 200)
        done = cli("status", "--chroma-url", url)
        assert done.returncode == 2, done.stderr
        assert done.stderr.splitlines() == [
            f"error: {url} is not a Chroma server (its heartbeat answered HTTP 404, text/html): "
            "check --chroma-url / ASSISTANT_CHROMA_URL"
        ]
    finally:
        web.terminate()
        web.wait()
    done = cli("status", "--chroma-url", "http://127.0.0.1:99999")
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr
    assert "not a Chroma server URL: 'http://127.0.0.1:99999'" in done.stderr
