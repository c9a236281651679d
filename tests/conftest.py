"""Shared fixtures: a small knowledge file for unit tests, and the trained
assistant with a real action server for conversation and quality tests."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bench.processes import free_port

ROOT = Path(__file__).resolve().parent.parent

SMALL_KNOWLEDGE: Dict[str, Any] = {
    "sources": [
        {"id": "alpha", "title": "Alpha Article", "file": "alpha.txt"},
        {"id": "beta", "title": "Beta Article", "file": "beta.txt"},
    ],
    "topics": [
        {
            "id": "pain",
            "question": "Does it hurt?",
            "answer": "A little, says Alpha.",
            "sources": ["alpha"],
            "related": ["sessions", "safety"],
            "follow_ups": {"how_long": "sessions"},
        },
        {
            "id": "sessions",
            "question": "How many sessions?",
            "answer": "Alpha and Beta give different numbers.",
            "sources": ["alpha", "beta"],
            "related": ["pain", "safety"],
            "by_concern": {"scars": {"answer": "For scars, Beta says more.", "sources": ["beta"]}},
        },
        {
            "id": "safety",
            "question": "Is it safe?",
            "answer": "Mostly, says Beta.",
            "sources": ["beta"],
            "related": ["pain", "sessions"],
        },
        {
            "id": "scars",
            "question": "Does it help scars?",
            "answer": "Yes, says Alpha.",
            "sources": ["alpha"],
            "related": ["pain", "sessions"],
        },
    ],
    "replies": {
        "greet": {"text": "Hello there.", "suggest": ["pain", "sessions"]},
        "nlu_fallback": {"text": "Not sure what you meant.", "suggest": ["safety"]},
        "did_you_mean": {"text": "Did you mean?"},
        "report_symptoms": {"text": "Call a doctor."},
        "feedback_not_helpful": {"text": "Sorry. Did you mean?", "choices": ["pain", "safety"]},
        "follow_up_how_long": {"text": "How long for what?", "choices": ["sessions"]},
        "follow_up_after": {"text": "After what?"},
        "follow_up_is_normal": {"text": "Check with a doctor."},
    },
    "disclaimer": "Information only.",
    "topic_prompt": "More:",
    "something_else": "Other",
    "feedback": {"helpful": "Helped", "not_helpful": "Missed"},
    "concerns": {"scars": "scars", "safety": "safety worries"},
    "no_specific_answer": "Nothing specific on {concern}.",
    "unavailable": "Try later.",
}


@pytest.fixture
def write_knowledge(tmp_path: Path) -> Callable[..., Path]:
    """Writes a knowledge document (default: SMALL_KNOWLEDGE) and returns its path."""

    def write(document: Any = None, text: str | None = None) -> Path:
        path = tmp_path / "knowledge.yml"
        body = yaml.safe_dump(SMALL_KNOWLEDGE if document is None else document)
        path.write_text(text if text is not None else body, encoding="utf-8")
        return path

    return write


# The custom actions run as the action server runs them: a rasa_sdk Tracker
# and a CollectingDispatcher.
def tracker_for(
    intent: Optional[str],
    disclaimer_shown: bool = False,
    text: str = "some question",
    **slots: Any,
) -> Tracker:
    latest: Dict[str, Any] = {"text": text, "intent": {"name": intent}}
    return Tracker(
        sender_id="test-user",
        slots={"disclaimer_shown": disclaimer_shown, **slots},
        latest_message=latest if intent else {},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def run(action: Any, tracker: Tracker) -> tuple[List[Dict[str, Any]], List[Any]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, seconds: int) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            pytest.fail(f"{url} server exited; see {log}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"{url} did not answer within {seconds} s; see {log}")
            time.sleep(0.3)


class Assistant:
    """The Rasa server (with endpoints.yml's conversation store, in a scratch
    SQLite file) and the action server, each restartable."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.actions_port, self.rasa_port = free_port(), free_port()
        self.database = folder / "conversations.db"
        self.endpoints = folder / "endpoints.yml"
        store = yaml.safe_load((ROOT / "endpoints.yml").read_text())["tracker_store"]
        endpoints = {
            "action_endpoint": {"url": f"http://127.0.0.1:{self.actions_port}/webhook"},
            "tracker_store": {**store, "db": str(self.database)},
        }
        self.endpoints.write_text(yaml.safe_dump(endpoints))
        self.actions: Optional[subprocess.Popen[bytes]] = None
        self.rasa: Optional[subprocess.Popen[bytes]] = None
        self.env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        self.env["REVIEW_STORE"] = str(folder / "review.db")

    def start_actions(self, **env: str) -> None:
        log = self.folder / "actions.log"
        command = [
            str(Path(sys.executable).parent / "rasa"),
            "run",
            "actions",
            "--port",
            str(self.actions_port),
        ]
        with log.open("a") as out:
            self.actions = subprocess.Popen(
                command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**self.env, **env}
            )
        _wait_until_up(f"http://127.0.0.1:{self.actions_port}/health", self.actions, log, 60)

    def start_rasa(self, **env: str) -> subprocess.Popen[bytes]:
        log = self.folder / "rasa.log"
        command = [str(Path(sys.executable).parent / "rasa"), "run", "--interface", "127.0.0.1"]
        command += ["--port", str(self.rasa_port), "--endpoints", str(self.endpoints)]
        with log.open("a") as out:
            self.rasa = subprocess.Popen(
                command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**self.env, **env}
            )
        return self.rasa

    def wait_for_rasa(self) -> None:
        assert self.rasa is not None
        _wait_until_up(
            f"http://127.0.0.1:{self.rasa_port}/", self.rasa, self.folder / "rasa.log", 120
        )

    @staticmethod
    def stop(process: Optional[subprocess.Popen[bytes]]) -> None:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGCONT)  # in case a test left it paused
            process.terminate()
            process.wait(timeout=30)

    def say(self, sender: str, text: str, **fields: Any) -> Tuple[float, List[str]]:
        body = json.dumps({"sender": sender, "message": text, **fields}).encode()
        url = f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/webhook"
        started = time.monotonic()
        with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=120) as reply:
            texts = [m.get("text", "") for m in json.loads(reply.read())]
        return time.monotonic() - started, texts

    def events(self, sender: str) -> List[Dict[str, Any]]:
        with sqlite3.connect(self.database) as connection:
            rows = connection.execute(
                "SELECT data FROM events WHERE sender_id = ? ORDER BY id", (sender,)
            ).fetchall()
        return [json.loads(data) for (data,) in rows]


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    running = Assistant(tmp_path_factory.mktemp("assistant"))
    try:
        running.start_actions()
        running.start_rasa()
        running.wait_for_rasa()
        yield running
    finally:
        running.stop(running.rasa)
        running.stop(running.actions)


@pytest.fixture(scope="session")
def review_store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the test action server records unanswered questions (not the project's store)."""
    return tmp_path_factory.mktemp("review") / "review.db"


@pytest.fixture(scope="session")
def action_server_url(review_store_path: Path) -> Iterator[str]:
    """A real action server (`rasa run actions`) on a free port, for the session."""
    port = free_port()
    log = ROOT / "build" / "logs" / "test-actions.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "REVIEW_STORE": str(review_store_path)},
        )
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/health", server, log, 60)
        yield f"http://127.0.0.1:{port}/webhook"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="session")
async def agent(action_server_url: str) -> AsyncIterator[Any]:
    """The latest trained model from models/, wired to the test action server."""
    from rasa.core.agent import load_agent
    from rasa.core.utils import AvailableEndpoints
    from rasa.model import get_local_model
    from rasa.utils.endpoints import EndpointConfig

    try:
        model_path = get_local_model(str(ROOT / "models"))
    except Exception as error:  # Rasa raises ModelNotFound
        pytest.fail(f"no trained model ({error}); run `make train` first")
    endpoints = AvailableEndpoints(action=EndpointConfig(url=action_server_url))
    yield await load_agent(model_path=model_path, endpoints=endpoints)


@pytest.fixture(scope="session")
def web_urls(
    action_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Dict[str, str]]:
    """`rasa run` (REST channel, CORS for the page only) and the demo page, as in `make web`."""
    rasa_port, page_port = free_port(), free_port()
    page = f"http://127.0.0.1:{page_port}"
    endpoints = tmp_path_factory.mktemp("web") / "endpoints.yml"
    endpoints.write_text(f"action_endpoint:\n  url: {action_server_url}\n")
    log = ROOT / "build" / "logs" / "test-rasa.log"
    rasa_bin = Path(sys.executable).parent / "rasa"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "RASA_URL": f"http://127.0.0.1:{rasa_port}"}
    with log.open("w") as out:
        rasa = subprocess.Popen(
            [
                str(rasa_bin),
                "run",
                "--interface",
                "127.0.0.1",
                "--port",
                str(rasa_port),
                "--cors",
                page,
                "--endpoints",
                str(endpoints),
                "--credentials",
                "credentials.yml",
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    server = subprocess.Popen(
        [sys.executable, "scripts/serve_web.py", str(page_port)], cwd=ROOT, env=env
    )
    try:
        _wait_until_up(f"http://127.0.0.1:{rasa_port}/", rasa, log, 120)
        _wait_until_up(page, server, log, 30)
        yield {"page": page, "rasa": f"http://127.0.0.1:{rasa_port}"}
    finally:
        for process in (rasa, server):
            process.terminate()
            process.wait(timeout=20)
