"""Ablation of the few-shot GAN training levers at k real images per class (digits 8×8).

One seeded draw of k images per class from the training side of `digits`; for each lever a GAN
is trained on those images (defaults plus the lever), 100 samples per class are drawn, and the
same classifier (equal gradient steps) is scored on the untouched 30 % test split trained on
real + classical, real + GAN + classical, and GAN only (train on synthetic, test on real).

Usage: python bench/gan_levers.py [--per-class 10] [--seeds 2] [--levers "default;lecam=0.3;..."]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from augmentation_gain import parse_options  # bench/ is on sys.path when this script runs

import gan_augment as ga

LEVERS = ("default;ada_target=0.6;lecam=0.3;discriminators=2;discriminators=2,aggregation=softmax;"
          "r1=1.0;bcr=10.0")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-class", type=int, default=10)
    p.add_argument("--seeds", type=int, default=2, help="classifier seeds")
    p.add_argument("--synthetic-per-class", type=int, default=100)
    p.add_argument("--levers", default=LEVERS)
    args = p.parse_args()
    digits = ga.load_dataset("digits")
    pool, test = digits.split(0.3, seed=0)
    small = pool.subsample(per_class=args.per_class, seed=0)
    labels = np.repeat(np.arange(10), args.synthetic_per_class)
    print("| lever | GAN s | real+classical | real+GAN+classical | GAN only |\n|---|---:|---:|---:|---:|", flush=True)
    for lever in args.levers.split(";"):
        options = {} if lever == "default" else parse_options(lever)
        start = time.perf_counter()
        gan = ga.train_gan(small, seed=0, verbose=0, **options)
        seconds = time.perf_counter() - start
        synthetic = gan.sample(labels=labels, seed=1)
        report = ga.evaluate_downstream(small, test, synthetic, seeds=args.seeds,
                                        settings=["real+classical", "real+synthetic+classical", "synthetic-only"])
        cell = {r["setting"]: f"{r['accuracy_mean']:.3f} ± {r['accuracy_std']:.3f}" for r in report.rows}
        print(f"| {lever} | {seconds:.0f} | {cell['real+classical']} | {cell['real+synthetic+classical']} | "
              f"{cell['synthetic-only']} |", flush=True)


if __name__ == "__main__":
    main()
