"""Seconds for `validate()` at 1k, 10k and 50k synthetic samples (how it grows), and for
curation's per-sample rules alone (`ValidationReport.acceptor`, what `augment`'s top-up rounds
run on new samples; they ran a whole `validate()` per round before).

The domain encoder is trained once and cached before timing (its cost is reported separately),
so the figures are the cost of validating a new batch of samples against known real data.

Usage: python bench/validation_cost.py [--sizes 1000 10000 50000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gan_augment as ga
from gan_augment.validation import fit_domain_encoder


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    p.add_argument("--epochs", type=int, default=60, help="GAN training epochs for the samples")
    args = p.parse_args()
    print(f"CPU cores visible: {os.cpu_count()}")
    digits = ga.load_dataset("digits")
    train, reference = digits.split(0.2, seed=0)
    cache = tempfile.mkdtemp(prefix="gan_augment_bench_")
    t = time.perf_counter()
    fit_domain_encoder(train, cache_dir=cache)
    print(f"domain encoder training (once, then cached): {time.perf_counter() - t:.1f} s")
    gan = ga.train_gan(train, epochs=args.epochs, seed=0, verbose=0)
    ga.validate(train, gan.sample(200, seed=0), reference=reference, cache_dir=cache)  # warm imports
    print(f"{'synthetic n':>12}{'validate s':>12}{'passed':>8}{'accepted':>10}{'acceptor s':>12}{'same mask':>11}")
    for n in args.sizes:
        samples = gan.sample(n, seed=1)
        t = time.perf_counter()
        report = ga.validate(train, samples, reference=reference, cache_dir=cache)
        seconds = time.perf_counter() - t
        t = time.perf_counter()
        mask = report.acceptor(samples)
        accept_s = time.perf_counter() - t
        print(f"{n:>12}{seconds:>12.1f}{report.passed!s:>8}{int(report.accepted.sum()):>10}{accept_s:>12.2f}"
              f"{bool((mask == report.accepted).all())!s:>11}", flush=True)


if __name__ == "__main__":
    main()
