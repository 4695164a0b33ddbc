"""Does filling a rare class up with GAN rows help a classifier on an imbalanced table?

The use case tables are augmented for (fraud, churn, rare diagnoses): one class has only a few
training rows. For every data set and seed: a stratified 70/30 split of the real rows (the 30 %
is the test set, never trained on, with its natural class mix), then the rare class's training
rows are subsampled to ``--rare`` rows (default 10). `gan_augment.augment` trains the tabular GAN
on that imbalanced training set and fills every class up to the largest one (validated and
curated; a failed gate is reported, the curated rows are kept). `evaluate_downstream` then trains
the same classifier on real only, real + classical augmentation (SMOTE-like interpolation between
same-class neighbours, every class), real + GAN rows and GAN rows only, and scores macro-F1 and
accuracy on the untouched test set. Macro-F1 is the figure that shows the rare class.

Usage:
    python bench/imbalanced_tables.py [--seeds 3] [--rare 10] [--datasets breast_cancer,wine,penguins]
        [--classifiers hgb,logreg] [--set OPTION=VALUE ...]
"""

from __future__ import annotations

import argparse
import ast
import os
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import numpy as np
import pandas as pd

import gan_augment as ga
from gan_augment.downstream import evaluate_downstream


def imbalanced_split(name: str, rare: int, seed: int) -> tuple[ga.Dataset, ga.Dataset, int]:
    """(train with its rarest class cut to ``rare`` rows, untouched test, the rare class)."""
    data = ga.load_dataset(name)
    train, test = data.split(0.3, seed=seed)
    counts = train.class_counts()
    rare_class = int(np.argmin(counts))
    rng = np.random.default_rng(seed)
    members = np.flatnonzero(train.y == rare_class)
    keep = np.concatenate([np.flatnonzero(train.y != rare_class),
                           rng.choice(members, size=min(rare, len(members)), replace=False)])
    return train.take(np.sort(keep)), test, rare_class


def run(name: str, seed: int, rare: int, classifiers: list[str], options: dict) -> list[dict]:
    train, test, rare_class = imbalanced_split(name, rare, seed)
    start = time.perf_counter()
    aug = ga.augment(train, seed=seed, on_fail="warn", verbose=0, **options)
    seconds = time.perf_counter() - start
    rows = []
    for clf in classifiers:
        report = evaluate_downstream(train, test, aug.synthetic, classifier=clf, seeds=[seed])
        for r in report.rows:
            rows.append({"dataset": name, "seed": seed, "classifier": clf, "setting": r["setting"],
                         "macro_f1": r["macro_f1_mean"], "accuracy": r["accuracy_mean"],
                         "n_train": r["n_train"]})
    print(f"{name} seed {seed}: rare class {train.class_names[rare_class]!r} "
          f"({int(train.class_counts()[rare_class])} rows), augment {seconds:.0f} s, "
          f"{aug.n_synthetic} synthetic rows kept, {aug.dropped} rejected, gates "
          f"{'passed' if aug.report.passed else 'FAILED: ' + ', '.join(c.name for c in aug.report.failed())}",
          flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--rare", type=int, default=10, help="training rows left in the rarest class")
    parser.add_argument("--datasets", default="breast_cancer,wine,penguins")
    parser.add_argument("--classifiers", default="hgb,logreg")
    parser.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE",
                        help="a train_gan option (Python literal), e.g. --set d_steps=1")
    args = parser.parse_args()
    options = {k: ast.literal_eval(v) for k, v in (item.split("=", 1) for item in args.set)}
    print(f"{os.cpu_count()} CPU cores; rare class cut to {args.rare} training rows; "
          f"train_gan options: {options or 'defaults'}", flush=True)
    records = []
    for name in args.datasets.split(","):
        for seed in range(args.seeds):
            records += run(name, seed, args.rare, args.classifiers.split(","), options)
    frame = pd.DataFrame(records)
    table = frame.groupby(["dataset", "classifier", "setting"], sort=False)["macro_f1"].agg(["mean", "std"])
    table["macro-F1"] = [f"{m:.3f} ± {s:.3f}" for m, s in zip(table["mean"], table["std"].fillna(0.0))]
    print()
    print(table["macro-F1"].unstack("setting").to_markdown())


if __name__ == "__main__":
    main()
