"""Does GAN augmentation help a classifier when real data is scarce?

On `digits` with 5, 10 and 20 real samples per class, trains the GAN only on those few samples,
then compares downstream test accuracy (mean ± std over seeds, on a fixed untouched real test
split) of: real only, real + classical augmentation (shifts, small rotations), real + GAN samples
(curated), and GAN samples only.

Usage: python bench/augmentation_gain.py [--per-class 5 10 20] [--seeds 3] [--classifier cnn]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gan_augment as ga


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-class", type=int, nargs="+", default=[5, 10, 20])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--classifier", default="cnn")
    p.add_argument("--synthetic-per-class", type=int, default=100)
    p.add_argument("--epochs", type=int, default=None, help="GAN epochs (default: train_gan's)")
    p.add_argument("--gan-options", default="", help="extra train_gan options, e.g. 'diffaugment=None'")
    args = p.parse_args()
    extra = {}
    for item in filter(None, args.gan_options.split(",")):
        k, v = item.split("=")
        extra[k] = None if v == "None" else (v if not v.replace(".", "").isdigit() else float(v) if "." in v else int(v))
    print(f"CPU cores visible: {os.cpu_count()}; classifier={args.classifier}; seeds={args.seeds}; "
          f"gan options={extra or 'defaults'}")
    digits = ga.load_dataset("digits")
    pool, test = digits.split(0.3, seed=0)
    lines = []
    for k in args.per_class:
        small = pool.subsample(per_class=k, seed=0)
        t = time.perf_counter()
        aug = ga.augment(small, per_class=k + args.synthetic_per_class, seed=0, epochs=args.epochs,
                         on_fail="warn", verbose=0, **extra)
        gan_s = time.perf_counter() - t
        report = ga.evaluate_downstream(small, test, aug.synthetic, classifier=args.classifier,
                                        seeds=args.seeds)
        print(f"\n== {k} real samples per class (GAN + validation {gan_s:.0f} s; "
              f"{aug.n_synthetic} synthetic kept, {aug.dropped} rejected; "
              f"gates {'passed' if aug.report.passed else 'FAILED: ' + ', '.join(c.name for c in aug.report.failed())}) ==")
        print(report.to_markdown())
        gain, classical = report.gain("real+synthetic", over="real"), report.gain("real+classical", over="real")
        verdict = "beats" if report.beats_classical() else "does NOT beat"
        lines.append(f"{k:>3}/class: real+GAN {gain:+.3f} vs real+classical {classical:+.3f} over real-only "
                     f"-> GAN augmentation {verdict} classical augmentation")
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
