"""How to use a few-shot GAN's samples: which to keep (generation order or coverage of the real
neighbourhoods) and when to show them to the classifier (mixed in throughout, or pre-train on
real + classical + GAN and fine-tune on real + classical).

For each size k and GAN seed s: k real digits per class (seeded, from the training side; the
30 % test split is untouched), a GAN with the defaults, ``--candidates`` × the amount generated
per class; the same CNN with the same 600 gradient steps of 32 in every setting:

* ``real+classical``: the baseline to beat;
* ``+GAN first`` / ``+GAN coverage``: real + classical + ``amount`` GAN samples per class, the
  first ones generated or those `select_per_class(how="coverage")` keeps;
* ``… fine-tune``: the same sets for the first 400 steps, then 200 steps on real + classical.

Accuracy on the test split, mean ± std over the GAN seeds × ``--classifier-seeds``.

Usage:
    python bench/sample_use.py [--per-class 10 20] [--seeds 2] [--classifier-seeds 2]
                               [--amount-ratio 1 5] [--candidates 5]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

import gan_augment as ga
from gan_augment.downstream import training_set
from gan_augment.selection import select_per_class

PRETRAIN_STEPS, FINETUNE_STEPS = 400, 200


def score(parts: list[tuple[ga.Dataset, int]], test: ga.Dataset, seed: int) -> float:
    """Train one CNN on each (data, steps) in turn; its accuracy on ``test``."""
    import keras

    from gan_augment.models.classifier import build_classifier_cnn, fit_classifier

    keras.utils.set_random_seed(seed)
    model = build_classifier_cnn(test.shape, test.num_classes)
    for data, steps in parts:
        fit_classifier(model, data.x, data.y, seed=seed, steps=steps)
    predicted = np.argmax(model.predict(test.x, batch_size=256, verbose=0), axis=1)
    return float(np.mean(predicted == test.y))


def one_gan(pool: ga.Dataset, test: ga.Dataset, k: int, seed: int, args) -> dict[str, list[float]]:
    small = pool.subsample(per_class=k, seed=seed)
    start = time.perf_counter()
    gan = ga.train_gan(small, seed=seed, verbose=0)
    print(f"  k={k} seed={seed}: GAN {time.perf_counter() - start:.0f} s ({gan.stop_reason})", flush=True)
    out: dict[str, list[float]] = {"real+classical": []}
    seeds = [100 * seed + c for c in range(args.classifier_seeds)]
    for cs in seeds:
        out["real+classical"].append(score([(training_set("real+classical", small, None, seed=cs)[0], 600)], test, cs))
    for ratio in args.amount_ratio:
        amount = int(ratio * k)
        plan = np.full(small.num_classes, amount)
        candidates = gan.sample(labels=np.repeat(np.arange(small.num_classes), args.candidates * amount),
                                seed=seed + 1)
        chosen = {how: select_per_class(candidates, small, plan, how=how, seed=seed)
                  for how in ("first", "coverage")}
        for cs in seeds:
            base, _ = training_set("real+classical", small, None, seed=cs)
            for how, synthetic in chosen.items():
                mixed, _ = training_set("real+synthetic+classical", small, synthetic, seed=cs)
                out.setdefault(f"{ratio:g}× +GAN {how}", []).append(score([(mixed, 600)], test, cs))
                out.setdefault(f"{ratio:g}× +GAN {how}, fine-tune", []).append(
                    score([(mixed, PRETRAIN_STEPS), (base, FINETUNE_STEPS)], test, cs))
        print("    " + ", ".join(f"{key} {np.mean(v):.3f}" for key, v in out.items()), flush=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-class", type=int, nargs="+", default=[10, 20])
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--classifier-seeds", type=int, default=2)
    p.add_argument("--amount-ratio", type=float, nargs="+", default=[1.0, 5.0])
    p.add_argument("--candidates", type=int, default=5)
    args = p.parse_args()
    print(f"CPU cores: {os.cpu_count()}; {vars(args)}", flush=True)
    digits = ga.load_dataset("digits")
    pool, test = digits.split(0.3, seed=0)
    lines = ["| k / class | setting | accuracy | vs real + classical |", "|---:|---|---:|---:|"]
    for k in args.per_class:
        merged: dict[str, list[float]] = {}
        for s in range(args.seeds):
            for key, values in one_gan(pool, test, k, s, args).items():
                merged.setdefault(key, []).extend(values)
        base = np.array(merged["real+classical"])
        for key, values in merged.items():
            v = np.array(values)
            delta = v - base  # paired: same GAN seed, same classifier seed
            lines.append(f"| {k} | {key} | {v.mean():.3f} ± {v.std(ddof=1):.3f} | {delta.mean():+.3f} |")
        print("\n".join(lines[-len(merged):]), flush=True)
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
