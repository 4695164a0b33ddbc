"""How well does the SRGAN upscale, against bicubic resizing and its own MSE-only SRResNet?

Two offline cases, each with held-out whole images nothing was trained on:

* photos: `train_srgan("sample_photos")` — 64×64 tiles of the two training photographs inside
  scikit-learn (china, flower); scored on every tile of the held-out photograph (grace_hopper,
  inside matplotlib).
* glyphs: rendered digit glyphs at 32×32 (`load_dataset("rendered_digits", image_size=32)`,
  seed 0) reduced to 8×8; scored on other renderings (seed 1).

Per case and scale: PSNR / SSIM against the originals and, in an independent random feature
network, the Fréchet distance and a two-sample test AUC to the originals (`evaluate_upscaler`)
for bicubic, SRResNet (the MSE-only phase) and SRGAN; training seconds; images/s upscaled.

Downstream (glyphs): a CNN (the package's downstream CNN, fixed steps) is trained on real 32×32
glyphs and tested on held-out glyphs that were reduced to 8×8 and brought back by each method
(and on the originals, the ceiling).

Targets (issue 13): SRResNet ×4 PSNR ≥ bicubic + 1.5 dB on held-out images; SRGAN FD lower
than both bicubic's and SRResNet's, with PSNR ≥ bicubic.

Usage (from bench/):
    python super_resolution.py [--steps 3000] [--scale 4] [--cases photos glyphs] [--quick]
                               [--feature-weight W] [--adversarial-weight W] [--width W] [--blocks B]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import numpy as np

import gan_augment as ga
from gan_augment._quiet import filter_native_stderr

filter_native_stderr()  # before TensorFlow loads: drop its C++ start-up lines from stderr

from gan_augment.logs import progress
from gan_augment.models.classifier import TARGET_STEPS, build_classifier_cnn, fit_classifier
from gan_augment.super_resolution import METHODS, degrade, train_srgan


def case_data(case: str, args) -> tuple[ga.Dataset | str, ga.Dataset | None]:
    if case == "photos":
        return "sample_photos", None  # train_srgan holds out the test photograph itself
    train = ga.load_dataset("rendered_digits", image_size=32, per_class=args.glyphs_per_class, seed=0)
    held_out = ga.load_dataset("rendered_digits", image_size=32, per_class=max(10, args.glyphs_per_class // 5),
                               seed=1)
    return train, held_out


def downstream(upscaler, train: ga.Dataset, test: ga.Dataset, args) -> dict[str, list[float]]:
    """Accuracy of a CNN trained on real high-resolution glyphs, on test glyphs reduced and
    brought back by each method (and on the originals)."""
    import keras

    lr = degrade(test.x, upscaler.scale)
    versions = {"original": test.x, **{m: upscaler.upscale_images(lr, method=m) for m in METHODS}}
    out: dict[str, list[float]] = {k: [] for k in versions}
    for s in range(args.seeds):
        keras.utils.set_random_seed(s)
        cnn = build_classifier_cnn(train.shape, train.num_classes, name="judge")
        fit_classifier(cnn, train.x, train.y, seed=s, steps=args.classifier_steps)
        for k, x in versions.items():
            out[k].append(float(np.mean(cnn.predict(x, verbose=0, batch_size=256).argmax(1) == test.y)))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=3000, help="generator steps (both phases)")
    p.add_argument("--scale", type=int, default=4)
    p.add_argument("--cases", nargs="+", default=["photos", "glyphs"], choices=["photos", "glyphs"])
    p.add_argument("--glyphs-per-class", type=int, default=200)
    p.add_argument("--seeds", type=int, default=2, help="classifier seeds of the downstream check")
    p.add_argument("--classifier-steps", type=int, default=TARGET_STEPS)
    for name in ("feature-weight", "adversarial-weight", "learning-rate", "pretrain-share"):
        p.add_argument(f"--{name}", type=float, default=None)
    for name in ("width", "blocks", "batch-size", "patch"):
        p.add_argument(f"--{name}", type=int, default=None)
    p.add_argument("--feature", default=None, choices=["random", "classifier", "none"])
    p.add_argument("--quick", action="store_true", help="a tiny configuration (~1 minute) to check the script")
    args = p.parse_args()
    if args.quick:
        args.steps, args.glyphs_per_class, args.seeds, args.classifier_steps = 60, 10, 1, 30
    options = {k: getattr(args, k) for k in ("feature_weight", "adversarial_weight", "learning_rate", "width",
                                             "blocks", "batch_size", "patch", "feature")
               if getattr(args, k) is not None}
    if args.pretrain_share is not None:
        options["pretrain_steps"] = round(args.pretrain_share * args.steps)
    print(f"CPU cores: {os.cpu_count()}; x{args.scale}, {args.steps} steps, options {options or 'defaults'}"
          + (" (--quick)" if args.quick else ""), flush=True)

    summary = []
    for case in args.cases:
        hr, held_out = case_data(case, args)
        start = time.perf_counter()
        up = train_srgan(hr, args.scale, holdout=held_out, steps=args.steps, seed=0, verbose=0, **options)
        wall = time.perf_counter() - start
        fit = float(sum(up.history.get("train_seconds", [wall])))
        report = up.evaluate()
        lr = degrade(up.holdout.x[:, : up.holdout.shape[0] - up.holdout.shape[0] % args.scale,
                                  : up.holdout.shape[1] - up.holdout.shape[1] % args.scale], args.scale)
        up.upscale_images(lr[:8])  # warm-up
        t = time.perf_counter()
        up.upscale_images(lr)
        per_s = len(lr) / (time.perf_counter() - t)
        print(f"\n## {case}: {len(up.holdout)} held-out images of {up.holdout.shape}; train {fit:.0f} s "
              f"(wall {wall:.0f} s), {up.steps_taken} steps; SRGAN upscales {per_s:.0f} images/s", flush=True)
        print(report.table(), flush=True)
        rows = report.rows
        summary.append((case, rows, fit, per_s))
        if case == "glyphs":
            acc = downstream(up, hr, held_out, args)
            print("Downstream (CNN trained on real 32x32 glyphs; test glyphs reduced to "
                  f"{32 // args.scale}x{32 // args.scale} and brought back): "
                  + ", ".join(f"{k} {np.mean(v):.3f}" for k, v in acc.items()), flush=True)
        progress(f"{case} done")

    print("\n## Targets")
    for case, rows, _, _ in summary:
        b, r, g = rows["bicubic"], rows["srresnet"], rows["srgan"]
        gain = r["psnr"] - b["psnr"]
        print(f"- {case}: SRResNet PSNR {r['psnr']:.2f} vs bicubic {b['psnr']:.2f} dB: {gain:+.2f} dB "
              f"({'MET' if gain >= 1.5 else 'NOT MET'}, target +1.5); SRGAN FD {g['fd']:.3f} vs bicubic "
              f"{b['fd']:.3f}, SRResNet {r['fd']:.3f}, PSNR {g['psnr']:.2f} "
              f"({'MET' if g['fd'] < min(b['fd'], r['fd']) and g['psnr'] >= b['psnr'] else 'NOT MET'})")


if __name__ == "__main__":
    main()
