"""How long should a GAN train on a few images per class? A fixed budget against the
``early_stop`` criterion (Fréchet distance of the samples to the real data in a PCA space of the
real data; stop after ``early_stop_patience`` checks without a 3 % improvement, keep the best
generator).

For each size k (real images per class) and seed s: k images per class drawn (seeded) from the
training side of `digits` (70 %; the other 30 % is the untouched test split); one GAN with
``early_stop=False`` (the fixed default budget, ~4000 generator steps) and one with
``early_stop=True``; for each: GAN seconds, epochs, the stop reason, the Fréchet distance of
1000 samples to the *test* split in the same PCA space (unseen data), and two downstream scores
with the same CNN and 600 gradient steps: GAN only (train on 100 synthetic per class, test on
real) and real + GAN + classical (100 per class) against real + classical.

``--budget 2 --modes fixed`` trains twice the default number of epochs instead.

Usage:
    python bench/training_length.py [--per-class 5 10 20 50] [--seeds 2] [--image-size 8]
                                    [--budget 1.0] [--modes fixed early_stop]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

import gan_augment as ga
from gan_augment.validation.metrics import frechet_distance


def unseen_fd(train: ga.Dataset, test: ga.Dataset, samples: ga.Dataset, dims: int = 16) -> float:
    """Fréchet distance of ``samples`` to ``test`` in the PCA space of ``train``'s pixels."""
    flat = lambda d: d.x.reshape(len(d), -1).astype(np.float64)
    mean = flat(train).mean(axis=0)
    basis = np.linalg.svd(flat(train) - mean, full_matrices=False)[2][: min(dims, len(train) - 1)].T
    return frechet_distance((flat(test) - mean) @ basis, (flat(samples) - mean) @ basis)


def one_run(pool: ga.Dataset, test: ga.Dataset, k: int, seed: int, early_stop: bool, budget: float = 1.0) -> dict:
    from gan_augment.training import default_options

    small = pool.subsample(per_class=k, seed=seed)
    epochs = round(budget * default_options(small).epochs)
    start = time.perf_counter()
    gan = ga.train_gan(small, seed=seed, epochs=epochs, early_stop=early_stop, verbose=0)
    seconds = time.perf_counter() - start
    samples = gan.sample(100 * small.num_classes, seed=seed + 1)
    report = ga.evaluate_downstream(small, test, samples, classifier="cnn", seeds=[seed],
                                    settings=["real+classical", "real+synthetic+classical", "synthetic-only"])
    scores = {r["setting"]: r["accuracy_mean"] for r in report.rows}
    row = {"seconds": seconds, "epochs": len(gan.history["d_loss"]), "fd_unseen": unseen_fd(small, test, samples),
           "gan_only": scores["synthetic-only"],
           "gain": scores["real+synthetic+classical"] - scores["real+classical"], "reason": gan.stop_reason}
    print(f"  k={k} seed={seed} early_stop={early_stop}: {seconds:.0f} s, {row['epochs']} epochs, "
          f"FD(unseen) {row['fd_unseen']:.3f}, GAN only {row['gan_only']:.3f}, "
          f"GAN+classical − classical {row['gain']:+.3f}; {gan.stop_reason}", flush=True)
    return row


def stat(runs: list[dict], key: str) -> str:
    values = [r[key] for r in runs]
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=min(1, len(values) - 1)):.3f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-class", type=int, nargs="+", default=[5, 10, 20, 50])
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--image-size", type=int, default=8)
    p.add_argument("--budget", type=float, default=1.0, help="multiple of the default number of epochs")
    p.add_argument("--modes", nargs="+", choices=["fixed", "early_stop"], default=["fixed", "early_stop"])
    args = p.parse_args()
    print(f"CPU cores: {os.cpu_count()}; image size {args.image_size}; seeds={args.seeds}", flush=True)
    digits = ga.load_dataset("digits", **({} if args.image_size == 8 else {"image_size": args.image_size}))
    pool, test = digits.split(0.3, seed=0)
    lines = ["| k / class | training | GAN s | epochs | FD to unseen | GAN only | GAN+classical − classical |",
             "|---:|---|---:|---:|---:|---:|---:|"]
    for k in args.per_class:
        for early_stop in [mode == "early_stop" for mode in args.modes]:
            runs = [one_run(pool, test, k, s, early_stop, args.budget) for s in range(args.seeds)]
            lines.append(f"| {k} | {'early_stop' if early_stop else 'fixed'} | "
                         f"{np.mean([r['seconds'] for r in runs]):.0f} | {np.mean([r['epochs'] for r in runs]):.0f} | "
                         f"{stat(runs, 'fd_unseen')} | {stat(runs, 'gan_only')} | {stat(runs, 'gain')} |")
            print(lines[-1], flush=True)
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
