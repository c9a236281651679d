"""`make bench-scale`: the scaled-out stack (deploy/) with 1 Rasa replica against
2, same run, same load through nginx: throughput and latency at 20 users.

Usage: python -m bench.scale [--out reports] [--smoke]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List

from bench.__main__ import ROOT, examples
from bench.load import run_load
from bench.processes import free_port
from deploy.stack import Settings, Stack

USERS = 20


@contextmanager
def scratch_stack(replicas: int, prefix: str) -> Iterator[Stack]:
    """The stack with `replicas` Rasa and action servers on free ports, its data
    in a new folder in the system's temporary directory (PostgreSQL's user must
    reach it, which pytest's private temporary folders forbid). The folder is
    removed when the block ends and kept, with its logs, when the block fails."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    ports = [free_port() for _ in range(4 + 2 * replicas)]
    settings = Settings(
        folder,
        rasa_ports=tuple(ports[4 : 4 + replicas]),
        actions_ports=tuple(ports[4 + replicas :]),
        balancer_port=ports[0],
        actions_balancer_port=ports[1],
        db_port=ports[2],
        redis_port=ports[3],
    )
    stack = Stack(settings, extra_env={"REVIEW_STORE": str(folder / "review.db")})
    try:
        stack.up()
        yield stack
    except BaseException:
        print(f"The stack's data and logs are kept in {folder}", file=sys.stderr)
        raise
    finally:
        stack.down()
    shutil.rmtree(folder)


def measure(replicas: int, questions: List[str], per_user: int) -> Dict[str, float]:
    with scratch_stack(replicas, f"bench-scale-{replicas}-") as stack:
        url = f"{stack.settings.url}/webhooks/rest/webhook"
        run_load(url, questions, 2, 10)  # warm-up
        result = run_load(url, questions, USERS, per_user)
    if result.errors:
        raise RuntimeError(f"{result.errors} failed requests with {replicas} replica(s)")
    latency = {f"{name} (ms)": value for name, value in result.percentiles().items()}
    return {"throughput (msg/s)": result.throughput, **latency}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    parser.add_argument("--smoke", action="store_true", help="CI check: a short load")
    args = parser.parse_args()
    per_user = 3 if args.smoke else 25
    questions = examples(ROOT / "tests" / "nlu_heldout.yml", lambda i: i.startswith("faq_"))
    results = {n: measure(n, questions, per_user) for n in (1, 2)}

    one, two = results[1], results[2]
    lines = [
        "# Scaling out: 1 Rasa replica against 2",
        "",
        f"The `make scale-up` stack (nginx, PostgreSQL, Redis lock store; as many action "
        f"servers as Rasa replicas) on this machine, loopback; {USERS} users sending "
        f"{per_user} messages each, all at once, through nginx.",
        "",
        "| | 1 replica | 2 replicas | ratio |",
        "|---|---|---|---|",
    ]
    for name in one:
        lines.append(
            f"| {name} | {one[name]:.1f} | {two[name]:.1f} | {two[name] / one[name]:.2f} |"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    report = args.out / "bench-scale.md"
    report.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[4:]))
    print(f"\nReport written to {report}")


if __name__ == "__main__":
    main()
