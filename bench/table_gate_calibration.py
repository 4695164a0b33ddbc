"""Do the table gates pass *real* data? Real-vs-real calibration on many real tables.

A gate that fails a real holdout of the same size would refuse a perfect generator. For every
table and seed: the rows are split 60 / 20 / 20 (train / reference / "synthetic" stand-in, all
real, stratified), and `validate(train, stand_in, reference=reference)` runs every table gate;
the table shows, per gate, in how many seeds a real stand-in passed (``?``: undecided, too few
rows), and for a gate that failed, its value against its threshold.

Tables come from packages installed here (`bench/real_tables.py`), written to CSV and read back
with `load_dataset(path, target=...)`, the way a user brings a table.

With ``--augment``, each table instead goes through `augment(data, seed=s)` with its defaults
(``on_fail="ignore"`` so the run finishes and shows every failed gate): the gates that fail on
the GAN's samples, and what the utility gate decided — the question a user with a CSV asks.

Usage:
    python bench/table_gate_calibration.py [--seeds 3] [--tables penguins,fair,...] [--augment]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import numpy as np
from real_tables import TABLES, load

import gan_augment as ga
from gan_augment.validation.gates import TABLE_GATES


def calibrate(name: str, seeds: int, folder: Path) -> dict:
    data = load(name, folder)
    results: dict[str, list] = {gate: [] for gate in TABLE_GATES}
    start = time.perf_counter()
    for seed in range(seeds):
        train, rest = data.split(0.4, seed=seed)
        reference, stand_in = rest.split(0.5, seed=seed + 100)
        report = ga.validate(train, stand_in, reference=reference, seed=seed)
        for check in report.checks:
            if check.name in results:
                results[check.name].append(check)
    return {"name": name, "rows": len(data), "columns": data.frame.shape[1], "classes": data.num_classes,
            "results": results, "seconds": (time.perf_counter() - start) / seeds}


def augment_table(name: str, seeds: int, folder: Path) -> str:
    """One Markdown row: per seed, the gates `augment()`'s samples failed and the utility verdict."""
    data = load(name, folder)
    outcomes, seconds = [], []
    for seed in range(seeds):
        start = time.perf_counter()
        aug = ga.augment(data, seed=seed, on_fail="ignore", verbose=0)
        seconds.append(time.perf_counter() - start)
        failed = [c.name for c in aug.report.failed()] if aug.report is not None else []
        gate = aug.utility
        verdict = "no plan" if gate is None else ("GAN published" if gate.passed else f"{gate.best_baseline['setting']}")
        outcomes.append(f"{', '.join(failed) or 'all pass'} → {verdict}")
    counts = data.class_counts()
    return (f"| {name} | {len(data)} | {data.frame.shape[1]} | {counts.min()}–{counts.max()} | "
            + " <br> ".join(outcomes) + f" | {np.mean(seconds):.0f} |")


def cell(checks: list) -> str:
    if not checks:
        return "–"
    undecided = sum(bool(c.undecided) for c in checks)
    failed = [c for c in checks if not c.passed]
    text = f"{len(checks) - len(failed)}/{len(checks)}" + (f" ({undecided}?)" if undecided else "")
    if failed:
        worst = failed[0]
        text += f" ✗ {worst.value:.3g} vs {worst.threshold:.3g}" if worst.threshold is not None else " ✗"
    return text


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--tables", default=",".join(TABLES))
    p.add_argument("--augment", action="store_true", help="run augment() with defaults on each table")
    args = p.parse_args()
    if args.augment:
        lines = ["| table | rows | cols | class sizes | failed gates → published (per seed) | augment s |",
                 "|---|---:|---:|---|---|---:|"]
        with tempfile.TemporaryDirectory() as tmp:
            for name in args.tables.split(","):
                try:
                    lines.append(augment_table(name, args.seeds, Path(tmp)))
                except ModuleNotFoundError as exc:
                    print(f"{name}: skipped ({exc}; pip install -e '.[bench]')", flush=True)
                    continue
                print(lines[-1], flush=True)
        print("\n" + "\n".join(lines))
        return
    header = ["table", "rows", "cols", "classes", *TABLE_GATES, "s / validate"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.tables.split(","):
            try:
                row = calibrate(name, args.seeds, Path(tmp))
            except ModuleNotFoundError as exc:
                print(f"{name}: skipped ({exc}; pip install -e '.[bench]')", flush=True)
                continue
            lines.append(f"| {name} | {row['rows']} | {row['columns']} | {row['classes']} | "
                         + " | ".join(cell(row["results"][g]) for g in TABLE_GATES) + f" | {row['seconds']:.1f} |")
            print(lines[-1], flush=True)
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
