"""Imbalanced images: several digit classes cut to a few training images — does filling them up
with GAN samples help the rare classes, and what does the utility gate publish?

Stratified 70/30 split of `digits` (the 30 % is the untouched test set, natural class mix); in
the 70 % the classes ``--rare`` are cut to ``--rare-count`` images each (seeded). `augment()`
runs with its defaults except ``on_no_gain="ignore"`` (so the GAN samples come back even when
the gate refuses them; "published" is what the default would publish) and fills the rare
classes up to the largest. The same CNN (equal gradient steps) is scored by macro-F1 on the
test set, mean ± std over seeds.

Usage: python bench/imbalanced_images.py [--rare 3 5 8] [--rare-count 10] [--seeds 3]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

import gan_augment as ga

ROWS = ("real", "real+classical", "real+synthetic", "real+synthetic+classical", "published")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rare", type=int, nargs="+", default=[3, 5, 8])
    p.add_argument("--rare-count", type=int, default=10)
    p.add_argument("--seeds", type=int, default=3)
    args = p.parse_args()
    digits = ga.load_dataset("digits")
    scores: dict[str, list[float]] = {name: [] for name in ROWS}
    for seed in range(args.seeds):
        pool, test = digits.split(0.3, seed=seed)
        rng = np.random.default_rng(seed)
        keep = np.concatenate([rng.permutation(np.flatnonzero(pool.y == c))[: args.rare_count]
                               if c in args.rare else np.flatnonzero(pool.y == c) for c in range(10)])
        train = pool.take(np.sort(keep))
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            aug = ga.augment(train, seed=seed, on_fail="ignore", on_no_gain="ignore", verbose=0)
        seconds = time.perf_counter() - start
        gate = aug.utility
        report = ga.evaluate_downstream(train, test, aug.synthetic, seeds=[seed],
                                        synthetic_weight=aug.synthetic_weight,
                                        settings=list(ROWS[:-1]))
        f1 = {r["setting"]: r["macro_f1_mean"] for r in report.rows}
        f1["published"] = f1[gate.chosen["setting"] if gate.passed else gate.best_baseline["setting"]]
        for name in ROWS:
            scores[name].append(f1[name])
        print(f"seed {seed}: augment {seconds:.0f} s, {aug.n_synthetic} synthetic "
              f"({aug.class_counts()['synthetic'].tolist()}), gate: {gate.verdict()}\n  "
              + ", ".join(f"{k}={v:.3f}" for k, v in f1.items()), flush=True)
    print("\n| setting | macro-F1 (mean ± std) |\n|---|---:|")
    for name in ROWS:
        v = np.array(scores[name])
        print(f"| {name} | {v.mean():.3f} ± {v.std(ddof=1) if len(v) > 1 else 0:.3f} |")


if __name__ == "__main__":
    main()
