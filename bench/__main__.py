"""`make bench`: the assistant against a vanilla `rasa init` bot, on loopback in
the same run: time to first reply, latency and throughput at 1 and 20 users,
each server's CPU per message, memory, training time, and our model's
in-process parse time as the floor.

Usage: python -m bench [--out reports] [--reps 3] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Sequence

import yaml

from bench.load import run_load
from bench.processes import RASA, Bot, Running, cpu_seconds, memory_mb, post

ROOT = Path(__file__).resolve().parent.parent
VANILLA = ROOT / "build" / "bench" / "vanilla"
LOGS = ROOT / "build" / "bench" / "logs"
TARGETS = {
    "ready (s)": "≤ 15",
    "1 user p50 (ms)": "≤ 20",
    "20 users p99 (ms)": "≤ 250",
    "20 users throughput (msg/s)": "≥ 2x vanilla",
    "Rasa server RSS after warm-up (MB)": "≤ 800",
    "training (s)": "≤ 120",
}


def latest_model(folder: Path) -> Path:
    return max((folder / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)


def examples(path: Path, keep: Callable[[str], bool]) -> List[str]:
    found = []
    for item in yaml.safe_load(path.read_text())["nlu"]:
        if keep(item["intent"]):
            found += [line[2:].strip() for line in item["examples"].splitlines() if line.strip()]
    return found


def bots() -> List[Bot]:
    if not (VANILLA / "models").is_dir():
        print("Creating and training the vanilla bot (rasa init)…", flush=True)
        VANILLA.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [RASA, "init", "--no-prompt", "--init-dir", str(VANILLA)],
            check=True,
            capture_output=True,
        )
    held_out = ROOT / "tests" / "nlu_heldout.yml"
    return [
        Bot(
            "ours",
            ROOT,
            latest_model(ROOT),
            examples(held_out, lambda i: i.startswith("faq_")),
            True,
        ),
        Bot(
            "vanilla",
            VANILLA,
            latest_model(VANILLA),
            examples(VANILLA / "data" / "nlu.yml", bool),
            False,
        ),
    ]


def training_seconds(bot: Bot) -> float:
    """`rasa train` from a clean models folder and an empty cache."""
    with tempfile.TemporaryDirectory(prefix="bench-train-") as scratch:
        env = {**os.environ, "RASA_CACHE_DIRECTORY": str(Path(scratch) / "cache")}
        started = time.monotonic()
        subprocess.run(
            [RASA, "train", "--out", str(Path(scratch) / "models")],
            cwd=bot.folder,
            env=env,
            check=True,
            capture_output=True,
        )
        return time.monotonic() - started


def serve_and_load(bot: Bot, one_user: int, per_user: int) -> Dict[str, float]:
    with Running(bot, LOGS) as running:
        run_load(running.url, bot.questions, 1, 20)  # warm-up
        sample: Dict[str, float] = {
            "ready (s)": running.ready_after,
            "Rasa server RSS after warm-up (MB)": memory_mb(running.rasa_pid, "VmRSS"),
        }
        servers = {"Rasa server": running.rasa_pid}
        if bot.action_server:
            servers["action server"] = running.processes[0].pid
            sample["action server RSS (MB)"] = memory_mb(servers["action server"], "VmRSS")
        for users, count in ((1, one_user), (20, per_user)):
            cpu_before = {name: cpu_seconds(pid) for name, pid in servers.items()}
            result = run_load(running.url, bot.questions, users, count)
            if result.errors:
                raise RuntimeError(f"{bot.name}: {result.errors} failed requests at {users} users")
            label = "1 user" if users == 1 else f"{users} users"
            for name, value in result.percentiles().items():
                sample[f"{label} {name} (ms)"] = value
            sample[f"{label} throughput (msg/s)"] = result.throughput
            # The CPU a message costs each server, and how busy the load kept
            # it: a server near 100 % of a core is what limits throughput.
            for name, pid in servers.items():
                used = cpu_seconds(pid) - cpu_before[name]
                sample[f"{label} {name} CPU per message (ms)"] = used / len(result.latencies) * 1000
                sample[f"{label} {name} CPU use (% of a core)"] = used / result.elapsed * 100
        sample["Rasa server peak RSS (MB)"] = memory_mb(running.rasa_pid, "VmHWM")
        assert post(running.url, "bench-check", bot.questions[0])
    return sample


def parse_floor_ms(bot: Bot) -> float:
    """Median in-process `Agent.parse_message` time: NLU alone, no HTTP, no actions."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(bot.model))

    async def timings() -> List[float]:
        found = []
        for text in list(bot.questions) * 2:
            started = time.perf_counter()
            await agent.parse_message(text)
            found.append((time.perf_counter() - started) * 1000)
        return found

    return statistics.median(asyncio.run(timings()))


def cell(values: Sequence[float]) -> str:
    middle = statistics.median(values)
    if len(values) == 1:
        return f"{middle:.1f}"
    return f"{middle:.1f} [{min(values):.1f}–{max(values):.1f}]"


def table(samples: Dict[str, List[Dict[str, float]]]) -> List[str]:
    metrics = list(dict.fromkeys(k for runs in samples.values() for run in runs for k in run))
    lines = ["| metric | ours | vanilla | ours / vanilla | target |", "|---|---|---|---|---|"]
    for metric in metrics:
        values = {
            bot: [run[metric] for run in runs if metric in run] for bot, runs in samples.items()
        }
        ratio = (
            f"{statistics.median(values['ours']) / statistics.median(values['vanilla']):.2f}"
            if values["ours"] and values["vanilla"]
            else ""
        )
        ours = cell(values["ours"]) if values["ours"] else "–"
        vanilla = cell(values["vanilla"]) if values["vanilla"] else "–"
        lines.append(f"| {metric} | {ours} | {vanilla} | {ratio} | {TARGETS.get(metric, '')} |")
    return lines


def plot(samples: Dict[str, List[Dict[str, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{users} {p}" for users in ("1 user", "20 users") for p in ("p50", "p95", "p99")]
    figure, axes = plt.subplots(figsize=(9, 4.5))
    width = 0.38
    for offset, bot in ((-width / 2, "ours"), (width / 2, "vanilla")):
        medians = [statistics.median(r[f"{label} (ms)"] for r in samples[bot]) for label in labels]
        axes.bar([i + offset for i in range(len(labels))], medians, width, label=bot)
    axes.set_xticks(range(len(labels)), labels)
    axes.set_ylabel("latency (ms), median over repetitions")
    axes.set_title("Reply latency through REST on loopback")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="CI check: one short repetition")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    # Rasa's structured log prints every parse at debug level unless configured.
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    reps, one_user, per_user = (1, 10, 2) if args.smoke else (args.reps, 200, 25)

    samples: Dict[str, List[Dict[str, float]]] = {"ours": [], "vanilla": []}
    ours, vanilla = bots()
    for rep in range(reps):
        for bot in (ours, vanilla):
            print(f"repetition {rep + 1}/{reps}: {bot.name}…", flush=True)
            samples[bot.name].append(serve_and_load(bot, one_user, per_user))
    if not args.smoke:
        for bot in (ours, vanilla):
            print(f"training {bot.name} from scratch…", flush=True)
            samples[bot.name][0]["training (s)"] = training_seconds(bot)
    samples["ours"][0]["in-process parse, median (ms)"] = parse_floor_ms(ours)

    lines = ["# Speed and footprint: ours vs a vanilla `rasa init` bot", ""]
    lines += [
        f"Same machine, same run, loopback. {reps} repetition(s), each with freshly started "
        f"servers; medians with [min–max]. 1 user: {one_user} messages in a row; 20 users: "
        f"{per_user} messages each, all at once. Ours runs with its action server and SQLite "
        "conversation store; vanilla is `rasa init` as generated (no custom actions). "
        "Training: `rasa train` from an empty models folder and cache (once).",
        "",
    ]
    lines += table(samples) + ["", "![latency](bench-latency.png)", ""]
    plot(samples, args.out / "bench-latency.png")
    report = args.out / "bench.md"
    report.write_text("\n".join(lines))
    print("\n".join(lines[4:-3]))
    print(f"\nReport written to {report}")


if __name__ == "__main__":
    main()
