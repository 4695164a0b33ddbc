"""Does CycleGAN translation turn rendered digits into useful training data for handwritten ones?

Source domain A: ``rendered_digits`` (digits 0-9 drawn with fonts, jittered; 8×8, labelled).
Target domain B: scikit-learn's handwritten ``digits`` (8×8).

For every CycleGAN run g (``--cyclegan-seeds``): ``digits`` is split 70 / 30 (seed g) into a
target-train side and a test split that nothing is trained or tuned on. `train_cyclegan` learns
A → B with the target-train side as domain B (its labels used only by the frozen classifier of
the semantic-consistency term, ``--semantic-weight``) and translates every rendered digit (labels
carried). Then, for every classifier seed s (``--seeds``), the same CNN
(`evaluate_downstream`'s ``"cnn"``) with the same number of gradient steps (``--classifier-steps``)
is trained on

  (a) the raw rendered digits,
  (b) the translated rendered digits,
  (c) ``--per-class`` real digits per class drawn (seed s) from the target-train side,
  (d) (c) + the translated digits,
  (e) (c) + classical augmentation (`classical_augment`: shifts and rotations, 4 copies),
  (f) (c) + translated + classical (an extra row: both),

and scored on the real test split. Mean ± std are over all (g, s) runs.

Also per CycleGAN run:

* label preservation: the share of translated digits whose carried label a judge CNN predicts;
  the judge is the same CNN with the same steps, trained on the *full* real target-train side
  (labels used here only), mean over the classifier seeds. The same judge on the raw rendered
  digits and on the real test split is shown for reference.
* label agreement without target labels (`TrainedTranslator.label_agreement`): the share of
  rendered digits whose class a classifier of the source domain predicts the same before and
  after translation.
* FD: Fréchet distance (`frechet_distance`) in the feature space of the domain encoder fitted on
  the target-train side (`fit_domain_encoder`) between the real test digits and, at the same
  count and class mix, the raw rendered digits, their translations (the same source images), and
  real target-train digits (the real-vs-real floor).
* CycleGAN training seconds (``fit`` only) and translation throughput (images/s, after one
  warm-up call).

Targets (issue 12): (b) ≥ (a) + 10 points and label preservation ≥ 0.90; (d) beats (e).

Usage (from bench/):
    python translation.py [--steps 3000] [--seeds 3] [--cyclegan-seeds 1] [--per-class 10]
                          [--source-per-class 500] [--classifier-steps 600] [--identity-weight W]
                          [--cycle-weight W] [--semantic-weight W] [--no-ema] [--quick]
"""

from __future__ import annotations

import argparse
import math
import os
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import numpy as np

import gan_augment as ga
from gan_augment._quiet import filter_native_stderr

filter_native_stderr()  # before TensorFlow loads: drop its C++ start-up lines from stderr

from gan_augment.downstream import evaluate_downstream
from gan_augment.logs import progress
from gan_augment.models.classifier import TARGET_STEPS, build_classifier_cnn, fit_classifier
from gan_augment.translation import TRANSLATION_BATCH, train_cyclegan
from gan_augment.validation.features import fit_domain_encoder
from gan_augment.validation.metrics import frechet_distance

#: Rows of the accuracy table: (label, training data, which run and which setting of it).
ROWS = (
    ("(a)", "raw rendered digits", "raw", "synthetic-only"),
    ("(b)", "translated rendered digits", "translated", "synthetic-only"),
    ("(c)", "{k} real per class", "translated", "real"),
    ("(d)", "(c) + translated", "translated", "real+synthetic"),
    ("(e)", "(c) + classical augmentation", "translated", "real+classical"),
    ("(f)", "(c) + translated + classical", "translated", "real+synthetic+classical"),
)


def mean_std(values: list[float]) -> tuple[float, float]:
    v = np.asarray(values, np.float64)
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0


def fmt(values: list[float], digits: int = 3) -> str:
    m, s = mean_std(values)
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def matched_picks(*parts: ga.Dataset, seed: int) -> list[np.ndarray]:
    """Indices into each of ``parts``, the same count per class in all (the smallest one's;
    drawn at random without replacement, seeded): equal counts and class mix for FD."""
    rng = np.random.default_rng([seed, 0xFD])
    counts = np.min([part.class_counts() for part in parts], axis=0)
    return [np.concatenate([rng.choice(np.flatnonzero(part.y == c), int(counts[c]), replace=False)
                            for c in range(len(counts))]) for part in parts]


def judge(train: ga.Dataset, checks: dict[str, ga.Dataset], seed: int, steps: int) -> dict[str, float]:
    """Accuracy on each of ``checks`` of the downstream CNN (same builder, same fixed-step fit as
    `evaluate_downstream`'s ``"cnn"``) trained on ``train``: one fit, several scorings."""
    import keras

    keras.utils.set_random_seed(seed)
    model = build_classifier_cnn(train.shape, train.num_classes, name="judge_cnn")
    fit_classifier(model, train.x, train.y, seed=seed, steps=steps)
    return {name: float(np.mean(model.predict(data.x, batch_size=256, verbose=0).argmax(1) == data.y))
            for name, data in checks.items()}


def one_cyclegan(g: int, digits: ga.Dataset, source: ga.Dataset, args, options: dict) -> dict:
    target_train, test = digits.split(0.3, seed=g)
    batch = args.batch_size or TRANSLATION_BATCH
    steps_per_epoch = max(1, max(len(source), len(target_train)) // batch)
    epochs = max(1, math.ceil(args.steps / steps_per_epoch))
    progress(f"[g={g}] CycleGAN {len(source)} rendered → {len(target_train)} handwritten, "
             f"{epochs} epochs × {steps_per_epoch} steps of {batch}, options={options or 'defaults'}")
    start = time.perf_counter()
    translator = train_cyclegan(source, target_train, epochs=epochs, batch_size=batch, seed=g,
                                verbose=1 if args.verbose else 0, **options)
    wall = time.perf_counter() - start
    fit_seconds = float(sum(translator.history.get("train_seconds", [wall])))

    translator.translate(source.take(np.arange(min(64, len(source)))), use_ema=args.ema)  # warm-up
    start = time.perf_counter()
    translated = translator.translate(source, use_ema=args.ema)
    images_per_s = len(source) / (time.perf_counter() - start)
    change = float(np.abs(translated.x - source.x).mean())
    progress(f"[g={g}] CycleGAN: {translator.steps_taken} steps, fit {fit_seconds:.0f} s (wall {wall:.0f} s); "
             f"translation {images_per_s:.0f} images/s; mean |G(a) − a| {change:.3f}")

    # Label preservation: a CNN trained on the full real target-train side judges the carried labels.
    judged = [judge(target_train, {"translated": translated, "raw": source, "test": test}, s,
                    args.classifier_steps) for s in range(args.seeds)]
    preservation = {k: float(np.mean([j[k] for j in judged])) for k in judged[0]}
    progress(f"[g={g}] judge CNN (trained on all {len(target_train)} real target-train digits): "
             f"translated {preservation['translated']:.3f}, raw {preservation['raw']:.3f}, "
             f"real test {preservation['test']:.3f}")
    agreement = translator.label_agreement(source, seed=g)
    progress(f"[g={g}] label agreement without target labels (source classifier before/after): {agreement:.3f}")

    # FD in the domain encoder's features, real test vs the same count and class mix of each.
    encoder = fit_domain_encoder(target_train, seed=g, cache_dir=False)
    test_picks, picks, real_picks = matched_picks(test, source, target_train, seed=g)
    f_test = encoder.features(test.x[test_picks])
    fd = {"real train": frechet_distance(f_test, encoder.features(target_train.x[real_picks])),
          "raw": frechet_distance(f_test, encoder.features(source.x[picks])),
          "translated": frechet_distance(f_test, encoder.features(translated.x[picks]))}
    progress(f"[g={g}] FD to {len(test_picks)} real test digits (domain encoder, held-out accuracy "
             f"{encoder.accuracy:.3f}): real train {fd['real train']:.2f}, raw {fd['raw']:.2f}, "
             f"translated {fd['translated']:.2f}")

    # Downstream: the same CNN, the same steps, every setting; scored on the real test split.
    scores: dict[str, list[float]] = {label: [] for label, *_ in ROWS}
    f1s: dict[str, list[float]] = {label: [] for label, *_ in ROWS}
    n_train: dict[str, int] = {}
    for s in range(args.seeds):
        small = target_train.subsample(per_class=args.per_class, seed=s)
        added = translated if args.translated_per_class is None else \
            translated.subsample(per_class=args.translated_per_class, seed=s)
        reports = {
            "translated": evaluate_downstream(
                small, test, added, classifier="cnn", seeds=[s], steps=args.classifier_steps,
                synthetic_weight=args.synthetic_weight,
                settings=["real", "real+classical", "real+synthetic", "real+synthetic+classical"]),
            "raw": evaluate_downstream(small, test, source, classifier="cnn", seeds=[s],
                                       steps=args.classifier_steps, settings=["synthetic-only"]),
        }
        only = evaluate_downstream(small, test, translated, classifier="cnn", seeds=[s],
                                   steps=args.classifier_steps, settings=["synthetic-only"])
        reports["translated"].rows.extend(only.rows)
        for label, _, which, setting in ROWS:
            row = reports[which].row(setting)
            scores[label].append(row["accuracy_mean"])
            f1s[label].append(row["macro_f1_mean"])
            n_train[label] = row["n_train"]
        progress(f"[g={g} s={s}] accuracy on real test: "
                 + ", ".join(f"{label} {scores[label][-1]:.3f}" for label, *_ in ROWS))
    return {"scores": scores, "f1": f1s, "n_train": n_train, "fd": fd, "preservation": preservation,
            "agreement": agreement,
            "fit_seconds": fit_seconds, "wall_seconds": wall, "images_per_s": images_per_s, "change": change,
            "steps": translator.steps_taken, "n_test": len(test), "n_fd": len(test_picks), "encoder_accuracy": encoder.accuracy}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=3000, help="CycleGAN generator steps (rounded up to whole epochs)")
    p.add_argument("--seeds", type=int, default=3, help="classifier seeds (and draws of the real per-class set)")
    p.add_argument("--cyclegan-seeds", type=int, default=1, help="CycleGAN runs (each with its own digits split)")
    p.add_argument("--per-class", type=int, default=10, help="real digits per class for (c), (d), (e), (f)")
    p.add_argument("--source-per-class", type=int, default=500, help="rendered digits per class")
    p.add_argument("--classifier-steps", type=int, default=TARGET_STEPS,
                   help="gradient steps of every classifier (the same for every setting)")
    p.add_argument("--translated-per-class", type=int, default=None,
                   help="translated digits per class added in (d)/(f) (default: all)")
    p.add_argument("--synthetic-weight", type=float, default=1.0, help="loss weight of a translated digit in (d)/(f)")
    p.add_argument("--batch-size", type=int, default=None, help=f"CycleGAN batch size (default {TRANSLATION_BATCH})")
    p.add_argument("--cycle-weight", type=float, default=None)
    p.add_argument("--identity-weight", type=float, default=None)
    p.add_argument("--semantic-weight", type=float, default=None,
                   help="weight of CyCADA's semantic-consistency term (0: off; default train_cyclegan's)")
    p.add_argument("--semantic-target-labels", action="store_true",
                   help="train the semantic term's classifier on the target-train labels too")
    p.add_argument("--width", type=int, default=None)
    p.add_argument("--blocks", type=int, default=None)
    p.add_argument("--no-ema", dest="ema", action="store_false", help="translate with the raw generator, not its EMA")
    p.add_argument("--verbose", action="store_true", help="CycleGAN per-epoch progress")
    p.add_argument("--quick", action="store_true", help="a tiny configuration (~1 minute) to check the script")
    args = p.parse_args()
    if args.quick:
        args.steps, args.seeds, args.cyclegan_seeds = 60, 1, 1
        args.source_per_class, args.classifier_steps = 30, 60
    options = {k: getattr(args, k) for k in ("cycle_weight", "identity_weight", "semantic_weight", "width", "blocks")
               if getattr(args, k) is not None}
    if args.semantic_target_labels:
        options["semantic_target_labels"] = True

    print(f"CPU cores: {os.cpu_count()}; CycleGAN steps {args.steps}, runs {args.cyclegan_seeds}, "
          f"options {options or 'defaults'}, translate with {'EMA' if args.ema else 'raw'} generator; "
          f"classifier: cnn, {args.classifier_steps} steps of 32, seeds {args.seeds}; real per class "
          f"{args.per_class}; rendered per class {args.source_per_class}" + (" (--quick)" if args.quick else ""),
          flush=True)
    digits = ga.load_dataset("digits")
    source = ga.load_dataset("rendered_digits", per_class=args.source_per_class, seed=0)
    runs = [one_cyclegan(g, digits, source, args, options) for g in range(args.cyclegan_seeds)]

    def pooled(key: str, label: str) -> list[float]:
        return [v for r in runs for v in r[key][label]]

    n = len(runs) * args.seeds
    print(f"\n### Accuracy on real handwritten test digits (n_test={runs[0]['n_test']}; same CNN, "
          f"{args.classifier_steps} gradient steps of 32 in every setting; mean ± std over {len(runs)} "
          f"CycleGAN run(s) × {args.seeds} classifier seed(s) = {n} runs)\n")
    print("| setting | training data | n_train | accuracy | macro-F1 |\n|---|---|---:|---:|---:|")
    for label, what, *_ in ROWS:
        print(f"| {label} | {what.format(k=args.per_class)} | {runs[0]['n_train'][label]} | "
              f"{fmt(pooled('scores', label))} | {fmt(pooled('f1', label))} |")

    print(f"\n### Domain figures (per CycleGAN run: mean ± std over {len(runs)})\n")
    print("| figure | value |\n|---|---:|")
    for name in ("real train", "raw", "translated"):
        what = {"real train": "real target-train digits (floor)", "raw": "raw rendered digits",
                "translated": "translated rendered digits"}[name]
        print(f"| FD to {runs[0]['n_fd']} real test digits: {what} | {fmt([r['fd'][name] for r in runs], 2)} |")
    print(f"| mean pixel change \\|G(a) − a\\| (pixels in [0, 1]) | {fmt([r['change'] for r in runs])} |")
    print(f"| label preservation: translated (judge: CNN on all real target-train digits) | "
          f"{fmt([r['preservation']['translated'] for r in runs])} |")
    print(f"| same judge on raw rendered digits | {fmt([r['preservation']['raw'] for r in runs])} |")
    print(f"| label agreement without target labels (source classifier before/after) | "
          f"{fmt([r['agreement'] for r in runs])} |")
    print(f"| same judge on the real test split | {fmt([r['preservation']['test'] for r in runs])} |")
    print(f"| domain encoder held-out accuracy (FD features) | {fmt([r['encoder_accuracy'] for r in runs])} |")
    print(f"| CycleGAN steps | {runs[0]['steps']} |")
    print(f"| CycleGAN training seconds (fit; wall incl. build) | {fmt([r['fit_seconds'] for r in runs], 0)} "
          f"({fmt([r['wall_seconds'] for r in runs], 0)}) |")
    print(f"| translation images/s ({len(source)} images) | {fmt([r['images_per_s'] for r in runs], 0)} |")

    a, b = mean_std(pooled("scores", "(a)"))[0], mean_std(pooled("scores", "(b)"))[0]
    d, e = mean_std(pooled("scores", "(d)"))[0], mean_std(pooled("scores", "(e)"))[0]
    keep = float(np.mean([r["preservation"]["translated"] for r in runs]))
    first = (b - a) >= 0.10 and keep >= 0.90
    print(f"\n- Target 1 (translated-only ≥ raw-only + 10 points, label preservation ≥ 0.90): "
          f"{'MET' if first else 'NOT MET'} — (b) {b:.3f} vs (a) {a:.3f}: {100 * (b - a):+.1f} points; "
          f"label preservation {keep:.3f}.")
    print(f"- Target 2 ({args.per_class} real per class + translated beats {args.per_class} real per class + "
          f"classical): {'MET' if d > e else 'NOT MET'} — (d) {d:.3f} vs (e) {e:.3f}: {100 * (d - e):+.1f} points "
          f"((f) translated + classical: {mean_std(pooled('scores', '(f)'))[0]:.3f}).")


if __name__ == "__main__":
    main()
