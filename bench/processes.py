"""Starts a bot's servers on loopback, times how long until it answers, and
reads memory and CPU use from /proc (Linux)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Dict, List, Optional, Sequence, Type

import yaml

RASA = str(Path(sys.executable).parent / "rasa")
READY_TIMEOUT = 180


@dataclass(frozen=True)
class Bot:
    name: str
    folder: Path  # where its servers run
    model: Path
    questions: Sequence[str]  # realistic messages for this bot
    action_server: bool


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def memory_mb(pid: int, field_name: str) -> float:
    """VmRSS (now) or VmHWM (peak) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field_name} not found for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process (all its threads) has used so far."""
    # Fields after the command name, which may hold spaces: utime and stime are
    # the 14th and 15th of /proc/PID/stat.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def post(url: str, sender: str, text: str, timeout: float = 10) -> List[Dict[str, Any]]:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        return list(json.loads(reply.read()))


@dataclass
class Running:
    """A bot's Rasa server (and action server), from start to stop."""

    bot: Bot
    log_dir: Path
    port: int = field(default_factory=free_port)
    processes: List[subprocess.Popen[bytes]] = field(default_factory=list)
    ready_after: float = 0.0
    # This run's endpoints and conversation store, so each run starts empty and
    # nothing is left behind.
    scratch: tempfile.TemporaryDirectory[str] = field(
        default_factory=lambda: tempfile.TemporaryDirectory(prefix="bench-")
    )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/rest/webhook"

    @property
    def rasa_pid(self) -> int:
        return self.processes[-1].pid

    def __enter__(self) -> Running:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        command = [RASA, "run", "--interface", "127.0.0.1", "--port", str(self.port)]
        command += ["--model", str(self.bot.model)]
        started = time.monotonic()
        try:
            if self.bot.action_server:
                actions_port = free_port()
                self._start([RASA, "run", "actions", "--port", str(actions_port)], env, "actions")
                command += ["--endpoints", str(self._endpoints(actions_port))]
            self._start(command, env, "rasa")
            self.ready_after = self._wait_for_first_reply(started)
        except BaseException:
            self.stop()  # `with` does not call __exit__ when entering fails
            raise
        return self

    def __exit__(
        self,
        kind: Optional[Type[BaseException]],
        error: Optional[BaseException],
        trace: Optional[TracebackType],
    ) -> None:
        self.stop()

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.scratch.cleanup()

    def _start(self, command: List[str], env: Dict[str, str], name: str) -> None:
        with (self.log_dir / f"{self.bot.name}-{name}.log").open("w") as log:
            self.processes.append(
                subprocess.Popen(
                    command, cwd=self.bot.folder, stdout=log, stderr=subprocess.STDOUT, env=env
                )
            )

    def _endpoints(self, actions_port: int) -> Path:
        """The project's endpoints, with this run's action server port and its own
        conversation store (not the user's)."""
        endpoints = yaml.safe_load((self.bot.folder / "endpoints.yml").read_text())
        endpoints["action_endpoint"]["url"] = f"http://127.0.0.1:{actions_port}/webhook"
        if "tracker_store" in endpoints:
            endpoints["tracker_store"]["db"] = str(Path(self.scratch.name) / "conversations.db")
        path = Path(self.scratch.name) / "endpoints.yml"
        path.write_text(yaml.safe_dump(endpoints))
        return path

    def _wait_for_first_reply(self, started: float) -> float:
        while time.monotonic() - started < READY_TIMEOUT:
            if any(p.poll() is not None for p in self.processes):
                raise RuntimeError(f"{self.bot.name} stopped while starting; see {self.log_dir}")
            try:
                if post(self.url, "bench-ready", self.bot.questions[0], timeout=5):
                    return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.bot.name} did not answer within {READY_TIMEOUT} s")
