"""The utility gate: do the synthetic samples make a classifier better, on real data the final
test never sees?

Distribution gates (`gan_augment.validate`) say whether samples *look* real; they cannot say
whether a classifier *gains* from them, and with a few images per class they see little at all.
`measure_utility` answers the question that matters, on the training side only: a classifier is
trained on the ``fit`` part of the real data with and without synthetic samples (and with and
without classical augmentation), at several amounts and loss weights, and scored on a real
``holdout`` part that neither the GAN nor any classifier trained on. The best setting with
synthetic samples must beat the best setting without (real, real + classical); otherwise the
report says plainly that the GAN does not help, and `augment` publishes the best honest
alternative instead (``on_no_gain``).

Every setting gets the same classifier and the same number of gradient steps; scores are means
over seeds. Nothing here touches a test split: pass only training-side data.

Example:
    >>> import gan_augment as ga
    >>> from gan_augment.utility import measure_utility
    >>> fit, holdout = small.split(0.25, seed=0)                               # doctest: +SKIP
    >>> gan = ga.train_gan(fit)                                                # doctest: +SKIP
    >>> pool = gan.sample(labels=np.repeat(np.arange(10), 40), seed=1)         # doctest: +SKIP
    >>> report = measure_utility(fit, holdout, pool, amounts=[10, 20, 40])      # doctest: +SKIP
    >>> print(report.to_markdown()); report.passed                             # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gan_augment.data.dataset import Dataset
from gan_augment.errors import DataError
from gan_augment.kinds import kind_of
from gan_augment.logs import progress

#: Settings without synthetic samples: the baselines the GAN has to beat.
BASELINES: tuple[str, ...] = ("real", "real+classical")
#: Settings with synthetic samples that the gate tries.
WITH_SYNTHETIC: tuple[str, ...] = ("real+synthetic", "real+synthetic+classical")
#: Default loss weights of a synthetic sample (a real one weighs 1).
DEFAULT_WEIGHTS: tuple[float, ...] = (1.0, 0.5)
#: Holdouts smaller than this many samples decide with a wide margin of error (the report says so).
SMALL_HOLDOUT = 100
#: Confidence (paired bootstrap over holdout samples) that the chosen configuration's log-loss is
#: lower than the best baseline's, required to pass.
CONFIDENCE = 0.95
#: Bootstrap resamples for that confidence.
BOOTSTRAP = 2000


@dataclasses.dataclass
class UtilityReport:
    """What the utility gate measured and decided.

    Attributes:
        rows: one dict per tried configuration: ``setting``, ``per_class`` (synthetic samples per
            class, 0 for the baselines), ``weight``, ``accuracy_mean``, ``accuracy_std``,
            ``accuracy_per_seed``, ``log_loss_mean``. Accuracy and log-loss weigh every class
            equally (balanced accuracy, macro log-loss; plain ones on a balanced holdout).
        best_baseline: the baseline to beat: real-only or real + classical, whichever has the
            higher holdout accuracy (real + classical on a tie).
        chosen: the best row with synthetic samples (``None`` if none was tried).
        gain: chosen accuracy minus best baseline accuracy (mean over seeds).
        passed: the decision: the chosen configuration's holdout accuracy is at least the best
            baseline's plus ``margin``, and its log-loss is lower with a paired-bootstrap
            ``confidence`` of at least `CONFIDENCE`.
        margin: the accuracy gain required to pass (default 0: not lower).
        confidence: share of bootstrap resamples of the holdout in which the chosen
            configuration's log-loss is lower than the best baseline's.
        n_fit, n_holdout: sizes of the real parts the classifiers trained and were scored on.
        classifier: the classifier's name; seeds: the seeds; steps: Keras gradient steps.
        seconds: time the measurement took.
        holdout_index: where `augment` made the holdout: its indices into the data it was given.
    """

    rows: list[dict[str, Any]]
    best_baseline: dict[str, Any]
    chosen: dict[str, Any] | None
    gain: float
    passed: bool
    margin: float = 0.0
    confidence: float = 0.0
    n_fit: int = 0
    n_holdout: int = 0
    classifier: str = ""
    seeds: list[int] = dataclasses.field(default_factory=list)
    steps: int | None = None
    seconds: float = 0.0
    holdout_index: list[int] | None = None

    @property
    def small_holdout(self) -> bool:
        """True when the holdout is too small for a confident decision (< `SMALL_HOLDOUT`)."""
        return self.n_holdout < SMALL_HOLDOUT

    def verdict(self) -> str:
        """One sentence for people: did the synthetic samples help, and by how much."""
        base = f"{self.best_baseline['setting']} {self.best_baseline['accuracy_mean']:.3f}"
        caveat = (f" (holdout of {self.n_holdout} samples: one sample is "
                  f"{100 / max(self.n_holdout, 1):.1f} points)") if self.small_holdout else ""
        if self.chosen is None:
            return f"No synthetic samples to measure; best without them: {base}{caveat}."
        best = (f"{self.chosen['setting']} with {self.chosen['per_class']} per class at weight "
                f"{self.chosen['weight']:g}: {self.chosen['accuracy_mean']:.3f}")
        evidence = f"log-loss lower with {self.confidence:.0%} confidence"
        if self.passed:
            return f"Synthetic samples help: {best} vs {base} ({self.gain:+.3f}; {evidence}){caveat}."
        return (f"Synthetic samples do not help: best {best} vs {base} ({self.gain:+.3f}; {evidence}; "
                f"needed accuracy ≥ {self.margin:+.3f} and ≥ {CONFIDENCE:.0%} confidence){caveat}.")

    def to_markdown(self, digits: int = 3) -> str:
        """The measured table (mean ± std over seeds on the holdout), best rows marked."""
        lines = ["| setting | synthetic per class | weight | holdout balanced accuracy | log-loss |",
                 "|---|---:|---:|---:|---:|"]
        for r in self.rows:
            mark = " ←" if r is self.chosen or r is self.best_baseline else ""
            lines.append(f"| {r['setting']}{mark} | {_show(r['per_class'])} | {r['weight']:g} | "
                         f"{r['accuracy_mean']:.{digits}f} ± {r['accuracy_std']:.{digits}f} | "
                         f"{r['log_loss_mean']:.{digits}f} |")
        return "\n".join(lines)

    def __str__(self) -> str:
        head = (f"Utility gate: {self.classifier}, seeds={self.seeds}, fit={self.n_fit}, "
                f"holdout={self.n_holdout}")
        return f"{head}\n{self.to_markdown()}\n{self.verdict()}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data; `from_dict` reads it back."""
        def plain(row: dict[str, Any]) -> dict[str, Any]:
            out = {}
            for k, v in row.items():
                if k == "per_class":
                    out[k] = v if isinstance(v, int) else [int(a) for a in v]
                elif isinstance(v, list):
                    out[k] = [float(a) for a in v]
                else:
                    out[k] = v if isinstance(v, str) else float(v)
            return out

        rows = [plain(r) for r in self.rows]
        return {"rows": rows, "best_baseline": self.rows.index(self.best_baseline),
                "chosen": None if self.chosen is None else self.rows.index(self.chosen),
                "gain": float(self.gain), "passed": bool(self.passed), "margin": float(self.margin),
                "confidence": float(self.confidence),
                "n_fit": int(self.n_fit), "n_holdout": int(self.n_holdout),
                "classifier": self.classifier, "seeds": [int(s) for s in self.seeds],
                "steps": self.steps, "seconds": float(self.seconds), "verdict": self.verdict(),
                "holdout_index": None if self.holdout_index is None else [int(i) for i in self.holdout_index]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UtilityReport:
        try:
            rows = [dict(r) for r in data["rows"]]
            chosen = None if data["chosen"] is None else rows[int(data["chosen"])]
            return cls(rows=rows, best_baseline=rows[int(data["best_baseline"])], chosen=chosen,
                       gain=float(data["gain"]), passed=bool(data["passed"]),
                       margin=float(data.get("margin", 0.0)), confidence=float(data.get("confidence", 0.0)),
                       n_fit=int(data.get("n_fit", 0)),
                       n_holdout=int(data.get("n_holdout", 0)), classifier=str(data.get("classifier", "")),
                       seeds=[int(s) for s in data.get("seeds", [])], steps=data.get("steps"),
                       seconds=float(data.get("seconds", 0.0)), holdout_index=data.get("holdout_index"))
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise DataError(f"Expected a dict written by UtilityReport.to_dict(). Received one that "
                            f"fails to read: {exc!r}.") from None


def _amount(value: Any, num_classes: int) -> int | list[int]:
    """An amount as an int (the same for every class) or a list of one count per class."""
    arr = np.asarray(value, np.int64).reshape(-1)
    if arr.size == 1:
        return int(arr[0])
    if arr.size != num_classes:
        raise DataError(f"Expected an amount per class ({num_classes}) or one for all. Received: {arr.tolist()}.")
    return int(arr[0]) if np.all(arr == arr[0]) else arr.tolist()


def _show(per_class: int | list[int]) -> str:
    if isinstance(per_class, int):
        return str(per_class)
    return f"{min(per_class)}–{max(per_class)} (Σ {sum(per_class)})"


def per_class_subset(samples: Dataset, per_class: int | Sequence[int]) -> Dataset | None:
    """The first ``per_class`` samples of every class of ``samples`` (an int for all classes, or
    one count per class), in their order; ``None`` when that is nothing."""
    k = samples.num_classes
    counts = np.asarray(per_class, np.int64).reshape(-1)
    counts = np.full(k, int(counts[0])) if counts.size == 1 else counts
    idx = [np.flatnonzero(samples.y == c)[: counts[c]] for c in range(k)]
    chosen = np.sort(np.concatenate(idx)) if idx else np.zeros(0, np.int64)
    return samples.take(chosen) if len(chosen) else None


def measure_utility(
    fit: Dataset,
    holdout: Dataset,
    synthetic: Dataset | None,
    *,
    amounts: Sequence[int] | None = None,
    weights: Sequence[float] = DEFAULT_WEIGHTS,
    classifier: Any = "auto",
    seeds: int | Sequence[int] = 2,
    steps: int | None = None,
    classical: bool = True,
    margin: float = 0.0,
    verbose: int = 0,
) -> UtilityReport:
    """Score real-only, real + classical and real + synthetic (+ classical) on ``holdout``.

    Args:
        fit: real training-side data the classifiers train on (what the GAN was trained on).
        holdout: real training-side data that neither the GAN nor the classifiers saw.
        synthetic: the pool of candidate synthetic samples (per class, in preference order).
        amounts: synthetic samples per class to try (default: what the pool holds per class,
            and half of it).
        weights: loss weights of a synthetic sample to try (real samples weigh 1).
        classifier: as in `evaluate_downstream` (``"auto"``: a CNN for images, gradient
            boosting for tables).
        seeds: classifier seeds per configuration (a count or the seeds).
        steps: gradient steps of a Keras classifier, equal for every configuration.
        classical: also try the settings with classical augmentation.
        margin: accuracy the best synthetic configuration must gain over the best baseline
            (default 0: not lower). It must also lower the log-loss with a paired-bootstrap
            confidence of `CONFIDENCE` — the best of several noisy configurations beats the best
            of two baselines by a hair often by chance alone; the log-loss per holdout sample,
            paired across configurations, is the finer and steadier judge.
        verbose: 1 prints a line per configuration.

    Returns:
        A `UtilityReport`; ``passed`` is the gate's decision.

    Example:
        >>> report = measure_utility(fit, holdout, pool, classifier="logreg")  # doctest: +SKIP
    """
    from gan_augment.downstream import (
        _check_inputs,
        _resolve_classifier,
        _resolve_seeds,
        fit_and_predict_proba,
        training_set,
    )

    _check_inputs(fit, holdout, synthetic)
    kind = kind_of(fit)  # the same layout (tables: column order) as `fit`
    holdout = kind.align(holdout, fit, "holdout")
    if synthetic is not None:
        synthetic = kind.align(synthetic, fit, "synthetic")
    if len(holdout) < 1:
        raise DataError("Expected a non-empty holdout to measure utility on. Received: 0 samples.")
    seed_list = _resolve_seeds(seeds)
    runner = _resolve_classifier(classifier, fit.kind)
    if synthetic is not None and amounts is None:
        most = int(np.bincount(synthetic.y, minlength=fit.num_classes).max())
        amounts = sorted({max(1, most // 2), most})
    amounts = [_amount(a, fit.num_classes) for a in (amounts or [])]
    if any(np.max(a) < 1 or np.min(a) < 0 for a in map(np.atleast_1d, amounts)):
        raise DataError(f"Expected amounts of synthetic samples per class >= 0, not all 0. Received: {amounts}.")
    if any(not 0.0 < float(w) <= 10.0 for w in weights):
        raise DataError(f"Expected weights in (0, 10]. Received: {list(weights)}.")

    configs: list[tuple[str, Any, float]] = [("real", 0, 1.0)]
    if classical:
        configs.append(("real+classical", 0, 1.0))
    if synthetic is not None:
        for setting in WITH_SYNTHETIC:
            if "classical" in setting and not classical:
                continue
            configs += [(setting, a, float(w)) for a in amounts for w in weights]

    # Every class counts equally (balanced accuracy, macro log-loss): with a rare class, the
    # holdout's few rare samples must not be outvoted by the common ones.
    holdout_counts = np.bincount(holdout.y, minlength=fit.num_classes)
    class_weight = 1.0 / (holdout_counts[holdout.y] * np.count_nonzero(holdout_counts))
    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    sample_losses: list[np.ndarray] = []  # per row: log-loss of every holdout sample, seed mean
    eps = 1e-7
    for setting, per_class, weight in configs:
        part = None if np.all(np.asarray(per_class) == 0) else per_class_subset(synthetic, per_class)
        if setting in WITH_SYNTHETIC and part is None:
            continue  # the pool holds nothing of this amount
        accs, losses, per_sample = [], [], []
        for seed in seed_list:
            data, w = training_set(setting, fit, part, seed=seed, synthetic_weight=weight)
            proba = fit_and_predict_proba(runner, data, holdout, seed, weights=w, steps=steps)
            accs.append(float(np.sum(class_weight * (proba.argmax(1) == holdout.y))))
            sample_loss = -np.log(np.clip(proba[np.arange(len(holdout)), holdout.y], eps, 1))
            per_sample.append(sample_loss)
            losses.append(float(np.sum(class_weight * sample_loss)))
        acc = np.array(accs)
        rows.append({"setting": setting, "per_class": per_class, "weight": weight,
                     "accuracy_mean": float(acc.mean()),
                     "accuracy_std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
                     "accuracy_per_seed": accs, "log_loss_mean": float(np.mean(losses))})
        sample_losses.append(np.mean(per_sample, axis=0))
        if verbose:
            progress(f"[utility] {setting:<25} per_class={_show(per_class)} weight={weight:<4g} "
                  f"accuracy={acc.mean():.3f} log-loss={np.mean(losses):.3f}")

    def rank(r: dict[str, Any]) -> tuple[float, float]:  # accuracy first, then lower log-loss
        return (r["accuracy_mean"], -r["log_loss_mean"])

    def evidence(candidate: dict[str, Any], reference: dict[str, Any]) -> float:
        """Paired-bootstrap confidence that ``candidate`` has a lower log-loss than ``reference``."""
        diff = sample_losses[rows.index(reference)] - sample_losses[rows.index(candidate)]
        return bootstrap_confidence(diff, seed=seed_list[0], weights=class_weight)

    def beats(candidate: dict[str, Any], reference: dict[str, Any]) -> bool:
        return (candidate["accuracy_mean"] >= reference["accuracy_mean"] + float(margin) - 1e-12
                and evidence(candidate, reference) >= CONFIDENCE)

    # The better baseline by (balanced) accuracy; on a tie classical augmentation, the usual
    # default (not the log-loss: augmentation makes a classifier less confident on easy samples,
    # and small holdouts tie often). Neither is preferred beyond a tie: on imbalanced digits
    # classical copies cost 7-10 points of macro-F1, and the holdout shows it.
    best_baseline = max((r for r in rows if r["setting"] in BASELINES),
                        key=lambda r: (r["accuracy_mean"], r["setting"] == "real+classical"))
    with_syn = [r for r in rows if r["setting"] in WITH_SYNTHETIC]
    chosen = max(with_syn, key=rank) if with_syn else None
    gain = 0.0 if chosen is None else chosen["accuracy_mean"] - best_baseline["accuracy_mean"]
    confidence = 0.0 if chosen is None else evidence(chosen, best_baseline)
    passed = chosen is not None and beats(chosen, best_baseline)
    return UtilityReport(rows=rows, best_baseline=best_baseline, chosen=chosen, gain=float(gain),
                         passed=bool(passed), margin=float(margin), confidence=float(confidence),
                         n_fit=len(fit),
                         n_holdout=len(holdout), classifier=runner.name, seeds=seed_list,
                         steps=steps, seconds=time.perf_counter() - start)


def publication(
    report: UtilityReport,
    real: Dataset,
    pool: Dataset | None,
    *,
    on_no_gain: str = "classical",
    seed: int = 0,
    amount: Callable[[dict[str, Any]], Any] | None = None,
) -> tuple[Dataset | None, Dataset | None, float]:
    """What to publish after the gate: ``(GAN samples, classical copies, synthetic weight)``.

    The chosen configuration when the gate passed (or ``on_no_gain="ignore"``), else the best
    baseline (real only, or real + classical copies of ``real``, made with ``seed``). ``amount``
    maps the chosen row to the per-class counts to take from ``pool`` (default: the row's own
    ``per_class``, for a pool measured on the same real data that is published).

    Example:
        >>> synthetic, classical, weight = publication(report, train, pool)  # doctest: +SKIP
    """
    publish_gan = (report.passed or on_no_gain == "ignore") and report.chosen is not None and pool is not None
    row = report.chosen if publish_gan else report.best_baseline
    synthetic, weight = None, 1.0
    if publish_gan:
        synthetic = per_class_subset(pool, row["per_class"] if amount is None else amount(row))
        weight = float(row["weight"])
    classical = None
    if "classical" in row["setting"]:
        from gan_augment.downstream import classical_augment

        classical = classical_augment(real, seed=seed)
    return synthetic, classical, weight


def bootstrap_confidence(differences: np.ndarray, *, seed: int = 0, resamples: int = BOOTSTRAP,
                         weights: np.ndarray | None = None) -> float:
    """Share of bootstrap resamples (with replacement, seeded) of the paired per-sample
    ``differences`` whose (``weights``-weighted) mean is above 0: how sure we are that the mean
    difference is positive.

    Example:
        >>> bootstrap_confidence(np.array([0.2, 0.1, 0.3, 0.2]))
        1.0
        >>> bootstrap_confidence(np.zeros(10))
        0.0
    """
    d = np.asarray(differences, np.float64)
    if d.size == 0:
        return 0.0
    rng = np.random.default_rng([int(seed), 0xB007])
    w = np.ones_like(d) if weights is None else np.asarray(weights, np.float64)
    picks = rng.integers(0, d.size, (resamples, d.size))
    means = (d[picks] * w[picks]).sum(axis=1) / w[picks].sum(axis=1)
    return float(np.mean(means > 0))


__all__ = ["BASELINES", "WITH_SYNTHETIC", "UtilityReport", "bootstrap_confidence", "measure_utility",
           "per_class_subset", "publication"]
