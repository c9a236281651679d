"""`make eval`: held-out accuracy, 5-fold cross-validation and the HINT3 benchmark
against Rasa's default pipeline, written as Markdown plus PNG plots.

Usage: python -m evaluation [--out reports] [--hint3 PATH] [--seeds 1 2 3] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence

from evaluation import heldout, hint3

# Published HINT3 v1 full-train MCC at each platform's best threshold (hellohaptik/HINT3
# results/*.csv at commit 99965c89): the best platform per bot and the paper's Rasa.
PUBLISHED = {
    "sofmattress": {"best platform": ("Dialogflow", 0.638), "paper's Rasa": ("Rasa 1.x", 0.526)},
    "curekart": {"best platform": ("Haptik", 0.603), "paper's Rasa": ("Rasa 1.x", 0.511)},
    "powerplay11": {"best platform": ("Haptik", 0.425), "paper's Rasa": ("Rasa 1.x", 0.340)},
}
PIPELINES = ("ours", "rasa default")


def latest_model() -> str:
    from rasa.model import get_local_model

    return get_local_model(str(heldout.ROOT / "models"))


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only backend (no display here or in CI)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(outcomes: Sequence[heldout.Outcome], path: Path) -> None:
    import numpy
    from sklearn.metrics import confusion_matrix

    plt = pyplot()
    labels = sorted({o.expected for o in outcomes} | {o.predicted for o in outcomes})
    matrix = confusion_matrix(
        [o.expected for o in outcomes], [o.predicted for o in outcomes], labels=labels
    )
    figure, axes = plt.subplots(figsize=(14, 12))
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    axes.set_yticks(range(len(labels)), labels, fontsize=7)
    axes.set_xlabel("predicted")
    axes.set_ylabel("expected")
    axes.set_title("Held-out questions: expected vs predicted intent")
    for (row, column), count in numpy.ndenumerate(matrix):
        if count:
            axes.text(column, row, str(count), ha="center", va="center", fontsize=6)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_confidence(outcomes: Sequence[heldout.Outcome], path: Path) -> None:
    plt = pyplot()

    figure, axes = plt.subplots(figsize=(8, 4.5))
    bins = [i / 20 for i in range(21)]
    axes.hist(
        [
            [o.confidence for o in outcomes if o.correct],
            [o.confidence for o in outcomes if not o.correct],
        ],
        bins=bins,
        stacked=True,
        label=["right", "wrong"],
        color=["#4c9f70", "#d1495b"],
    )
    axes.set_xlabel("confidence of the top intent")
    axes.set_ylabel("held-out questions")
    axes.legend()
    axes.set_title("Held-out questions by confidence")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def heldout_section(out: Path) -> List[str]:
    from rasa.core.agent import Agent

    outcomes = asyncio.run(heldout.predict(Agent.load(latest_model())))
    plot_confusion(outcomes, out / "heldout-confusion.png")
    plot_confidence(outcomes, out / "heldout-confidence.png")
    groups = {
        "in-scope answered right": heldout.in_scope(outcomes),
        "out-of-scope declined": heldout.of_intent(outcomes, "out_of_scope"),
        "symptom reports recognised": heldout.of_intent(outcomes, "report_symptoms"),
        "chitchat recognised": heldout.chitchat(outcomes),
    }
    lines = ["## Held-out questions", "", "| measure | rate | questions |", "|---|---|---|"]
    lines += [f"| {name} | {heldout.rate(g):.1%} | {len(g)} |" for name, g in groups.items()]
    lines += ["", "| intent | accuracy |", "|---|---|"]
    lines += [f"| {i} | {r:.0%} |" for i, r in heldout.per_intent(outcomes).items()]
    lines += ["", "![confusion matrix](heldout-confusion.png)", ""]
    lines += ["![confidence histogram](heldout-confidence.png)", "", "Misses:", ""]
    lines += [
        f"- `{o.text}`: expected {o.expected}, got {o.predicted} ({o.confidence:.2f})"
        for o in outcomes
        if not o.correct
    ]
    return lines + [""]


def cross_validation_section(out: Path, folds: int) -> List[str]:
    from rasa.nlu.test import cross_validate
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(heldout.ROOT / "data" / "nlu"))
    config = str(heldout.ROOT / "config.yml")
    intents, _, _ = asyncio.run(
        cross_validate(data, folds, config, str(out / "cross-validation"), disable_plotting=True)
    )
    lines = [f"## {folds}-fold cross-validation over the training data", ""]
    lines += ["| metric | mean | spread (min-max) |", "|---|---|---|"]
    for metric, values in intents.test.items():
        lines.append(
            f"| {metric} | {statistics.mean(values):.3f} | {min(values):.3f}-{max(values):.3f} |"
        )
    return lines + [""]


def hint3_section(data: Path, bots: Sequence[str], seeds: Sequence[int]) -> List[str]:
    results: Dict[str, Dict[str, List[Dict[str, Any]]]] = {}
    for bot in bots:
        for pipeline in PIPELINES:
            for seed in seeds:
                started = time.monotonic()
                result = hint3.evaluate(data, bot, pipeline, seed)
                print(
                    f"HINT3 {bot} {pipeline} seed {seed}: best MCC {result['best']['mcc']:.3f}"
                    f" (t={result['best_threshold']}), as deployed {result['deployed']['mcc']:.3f}"
                    f" [{time.monotonic() - started:.0f} s]",
                    flush=True,
                )
                results.setdefault(bot, {}).setdefault(pipeline, []).append(result)
    lines = [
        "## HINT3 v1, full train",
        "",
        f"Seeds {', '.join(map(str, seeds))}; medians, with the spread over seeds in brackets. "
        "'best' is the threshold (0.1-0.9) with the best MCC on the test set, as the paper "
        "picks it; 'as deployed' uses each pipeline's own FallbackClassifier settings.",
        "",
    ]
    for bot in bots:
        lines += [
            f"### {bot}",
            "",
            "| system | pick | t | accuracy | in-scope | OOS recall | MCC |",
        ]
        lines += ["|---|---|---|---|---|---|---|"]
        for label, (platform, mcc) in PUBLISHED[bot].items():
            lines.append(f"| {platform} ({label}, published) | best | | | | | {mcc:.3f} |")
        for pipeline in PIPELINES:
            runs = results[bot][pipeline]
            for pick in ("best", "deployed"):
                cells = []
                for metric in ("accuracy", "in_scope", "oos_recall", "mcc"):
                    values = [r[pick][metric] for r in runs]
                    cells.append(
                        f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"
                    )
                thresholds = (
                    sorted({str(r["best_threshold"]) for r in runs})
                    if pick == "best"
                    else ["fallback"]
                )
                lines.append(
                    f"| {pipeline} | {pick} | {'/'.join(thresholds)} | " + " | ".join(cells) + " |"
                )
        lines.append("")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=heldout.ROOT / "reports")
    parser.add_argument(
        "--hint3", type=Path, default=Path(os.environ.get("HINT3_DATA", hint3.DEFAULT_DATA))
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="CI check of the harness: one small bot, one seed, no CV",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    lines = ["# Answer quality report", ""]
    lines += heldout_section(args.out)
    if not args.smoke:
        lines += cross_validation_section(args.out, args.folds)
    if (args.hint3 / "v1").is_dir():
        bots = ["sofmattress"] if args.smoke else list(hint3.BOTS)
        seeds = args.seeds[:1] if args.smoke else args.seeds
        lines += hint3_section(args.hint3, bots, seeds)
    else:
        message = (
            f"HINT3 data not found at {args.hint3}; the public data set is at "
            f"{hint3.PUBLIC_SOURCE} (point --hint3 or HINT3_DATA at its folder)."
        )
        print(message)
        lines += ["## HINT3", "", message, ""]
    report = args.out / "quality.md"
    report.write_text("\n".join(lines))
    print(f"Report written to {report}")


if __name__ == "__main__":
    main()
