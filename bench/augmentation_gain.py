"""Does GAN augmentation help a classifier when real data is scarce — and does the utility gate
publish only what helps?

For each size k (real images per class) and seed s: k images per class are drawn (seeded) from
the training side of `digits` (70 %; the other 30 % is the untouched test split); `augment()`
runs as a user would run it (holdout for the utility gate, GAN on the rest, validation and
curation, the gate choosing amount and synthetic loss weight) with ``on_no_gain="ignore"`` so the
GAN samples come back even when the gate refuses them; then `evaluate_downstream` trains the same
classifier with the same number of gradient steps on every setting and scores it on the test
split. "published" is the setting `augment()` would publish by default (``on_no_gain=
"classical"``): the gate's choice if it passed, else the best baseline it measured. Also per
size: `augment` seconds, GAN training seconds and what ended the GAN's training.

Usage:
    python bench/augmentation_gain.py [--per-class 5 10 20 50] [--seeds 3] [--image-size 8]
                                      [--gan-options "lecam=0.3,discriminators=2"]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

import gan_augment as ga

ROWS = ("real", "real+classical", "real+synthetic", "real+synthetic+classical", "synthetic-only",
        "published")


def parse_options(text: str) -> dict:
    """``"a=1,b=0.5,c=None,d=x"`` -> {"a": 1, "b": 0.5, "c": None, "d": "x"}."""
    out: dict = {}
    for item in filter(None, text.split(",")):
        key, value = item.split("=")
        for cast in (int, float):
            try:
                out[key] = cast(value)
                break
            except ValueError:
                continue
        else:
            out[key] = None if value == "None" else value
    return out


def one_run(pool: ga.Dataset, test: ga.Dataset, k: int, seed: int, args, gan_options: dict) -> dict:
    small = pool.subsample(per_class=k, seed=seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aug = ga.augment(small, seed=seed, on_fail="ignore", on_no_gain="ignore", verbose=0,
                         utility_seeds=args.utility_seeds, **gan_options)
    seconds = time.perf_counter() - start
    gate = aug.utility
    report = ga.evaluate_downstream(small, test, aug.synthetic, classifier=args.classifier, seeds=[seed],
                                    synthetic_weight=aug.synthetic_weight)
    scores = {r["setting"]: r["accuracy_mean"] for r in report.rows}
    published = gate.chosen["setting"] if gate.passed else gate.best_baseline["setting"]
    scores["published"] = scores[published]
    failed = [c.name for c in aug.report.failed()] if aug.report is not None else []
    print(f"  k={k} seed={seed}: augment {seconds:.0f} s (GAN {aug.gan.train_seconds:.0f} s, "
          f"{aug.gan.stop_reason}); gate {'PASSED' if gate.passed else 'refused'} "
          f"({gate.verdict()}); published={published}; failed validation gates: {failed or 'none'}; "
          + ", ".join(f"{s}={v:.3f}" for s, v in scores.items()), flush=True)
    return {"scores": scores, "seconds": seconds, "gan_seconds": aug.gan.train_seconds,
            "stop": aug.gan.stop_reason.split(" (")[0], "passed": gate.passed, "published": published,
            "epochs": len(aug.gan.history.get("d_loss", [])), "failed": failed}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-class", type=int, nargs="+", default=[5, 10, 20, 50])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--image-size", type=int, default=8)
    p.add_argument("--classifier", default="cnn")
    p.add_argument("--utility-seeds", type=int, default=2)
    p.add_argument("--gan-options", default="", help="train_gan options, e.g. 'lecam=0.3,ada_target=0.6'")
    args = p.parse_args()
    gan_options = parse_options(args.gan_options)
    print(f"CPU cores: {os.cpu_count()}; image size {args.image_size}; classifier={args.classifier}; "
          f"seeds={args.seeds}; GAN options={gan_options or 'defaults'}", flush=True)
    digits = ga.load_dataset("digits", **({} if args.image_size == 8 else {"image_size": args.image_size}))
    pool, test = digits.split(0.3, seed=0)
    table = []
    for k in args.per_class:
        runs = [one_run(pool, test, k, s, args, gan_options) for s in range(args.seeds)]
        row = {"k": k}
        for name in ROWS:
            values = np.array([r["scores"].get(name, np.nan) for r in runs])
            row[name] = f"{np.nanmean(values):.3f} ± {np.nanstd(values, ddof=1) if len(values) > 1 else 0:.3f}"
        row["gate passed"] = f"{sum(r['passed'] for r in runs)}/{len(runs)}"
        row["augment s"] = f"{np.mean([r['seconds'] for r in runs]):.0f}"
        row["GAN s"] = f"{np.mean([r['gan_seconds'] for r in runs]):.0f}"
        row["GAN stopped by"] = "; ".join(sorted({r["stop"] for r in runs}))
        gain = np.mean([r["scores"]["real+synthetic+classical"] - r["scores"]["real+classical"] for r in runs])
        row["GAN+classical − classical"] = f"{gain:+.3f}"
        table.append(row)
        print(f"== k={k}: " + ", ".join(f"{key}: {value}" for key, value in row.items()), flush=True)
    keys = list(table[0])
    print("\n| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
    for row in table:
        print("| " + " | ".join(str(row[key]) for key in keys) + " |")


if __name__ == "__main__":
    main()
