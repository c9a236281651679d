"""The benchmarks and the scaled-out tests leave nothing in the temporary
directory after a clean run (each stack folder holds a PostgreSQL cluster of
about 50 MB), and stop every server they started when starting fails."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import List

import pytest

from bench.processes import Bot, Running
from bench.scale import scratch_stack
from deploy.stack import Stack

ROOT = Path(__file__).resolve().parent.parent


def test_a_scratch_stack_is_removed_after_a_clean_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Stack, "up", lambda self: self.folder.joinpath("data").write_text("x"))
    monkeypatch.setattr(Stack, "down", lambda self: None)
    with scratch_stack(1, "scratch-test-") as stack:
        folder = stack.folder
        assert (folder / "data").exists()
    assert not folder.exists()


def test_a_failed_scratch_stack_keeps_its_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    stopped: List[Path] = []
    monkeypatch.setattr(Stack, "up", lambda self: None)
    monkeypatch.setattr(Stack, "down", lambda self: stopped.append(self.folder))
    with pytest.raises(RuntimeError), scratch_stack(1, "scratch-test-") as stack:
        raise RuntimeError("a check failed")
    assert stopped == [stack.folder]
    assert stack.folder.is_dir()
    shutil.rmtree(stack.folder)


def test_a_bot_that_fails_to_start_leaves_no_server_and_no_scratch_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def start(self: Running, command: List[str], env: object, name: str) -> None:
        self.processes.append(subprocess.Popen(["sleep", "60"]))

    def never_ready(self: Running, started: float) -> float:
        raise RuntimeError("did not answer")

    monkeypatch.setattr(Running, "_start", start)
    monkeypatch.setattr(Running, "_wait_for_first_reply", never_ready)
    bot = Bot("ours", ROOT, ROOT / "models" / "none.tar.gz", ["hi"], action_server=True)
    running = Running(bot, tmp_path)
    with pytest.raises(RuntimeError), running:
        pass
    assert len(running.processes) == 2
    assert all(process.poll() is not None for process in running.processes)
    assert not Path(running.scratch.name).exists()
