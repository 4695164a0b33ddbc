"""`augment_to(dataset, folder, per_class=...)`: `augment` for data sets larger than memory.

`augment` holds the candidates, the curated samples and the real data in memory, which limits it
to what fits (its memory check refuses more before training). `augment_to` makes the same
decisions on a *seeded subsample of stated size* and streams the full amount to disk:

1. the plan (samples to add per class) as `augment` makes it;
2. `augment` itself on a scaled-down plan of at most ``validation_sample`` synthetic samples:
   it trains the GAN (or takes ``gan=``), validates the samples (the gates of `validate`, on that
   subsample) and runs the utility gate (which amount and loss weight help a classifier, on
   held-out real data). Its decisions are kept: the curation rules (near-copies, disputed labels)
   and the published fraction of the plan;
3. the real data, then the synthetic samples, into ``folder/data`` shard by shard with
   `gan_augment.streaming.write_stream`: each shard generates candidates and keeps those curation
   accepts, so memory stays at about one shard whatever the total. A rerun after a kill resumes
   after the last finished shard (the model is saved first and reused).

Validation of the full set would need it in memory; the subsample is stated in the result
(``validated_on``) and in ``folder/augmentation.json``.

Folder layout::

    folder/model.keras          the GAN (saved before streaming; a rerun loads it)
    folder/validation/          the subsample's validation report (report.json, report.html)
    folder/data/                TFDS directory / npz shards / parquet parts (`sample_to`'s formats)
    folder/augmentation.json    the plan, what was written, the gates' verdicts

Example:
    >>> import gan_augment as ga
    >>> result = ga.augment_to(ga.load_dataset("digits"), "out/digits_1m", per_class=100_000)  # doctest: +SKIP
    >>> result.data                     # tfds.builder_from_directory(str(result.data)) reads it  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from gan_augment._io import atomic_path
from gan_augment.data.dataset import Dataset
from gan_augment.errors import DataError, UtilityFailed
from gan_augment.logs import progress

__all__ = ["VALIDATION_SAMPLE", "StreamedAugmentation", "augment_to"]

#: synthetic samples validated (and measured by the utility gate) before streaming the rest
VALIDATION_SAMPLE = 10_000
ON_NO_GAIN = ("raise", "ignore")


@dataclasses.dataclass(frozen=True)
class StreamedAugmentation:
    """What `augment_to` wrote.

    Attributes:
        folder: the output folder; ``data`` the data set in it (real then synthetic samples).
        requested: synthetic samples per class the plan asked for.
        written: synthetic samples per class written (the plan × the published fraction).
        real: real samples written before them.
        validated_on: synthetic samples per class the gates and the utility gate judged.
        synthetic_weight: the loss weight the utility gate chose for a synthetic sample.
        sample: the in-memory `AugmentedDataset` of the subsample (report, utility, gan).
    """

    folder: Path
    data: Path
    requested: tuple[int, ...]
    written: tuple[int, ...]
    real: int
    validated_on: tuple[int, ...]
    synthetic_weight: float
    sample: Any = dataclasses.field(repr=False, default=None)

    @property
    def n_synthetic(self) -> int:
        return int(sum(self.written))


def augment_to(
    dataset: Dataset,
    folder: str | os.PathLike[str],
    *,
    per_class: int | None = None,
    balance: bool = True,
    plan: Any = None,
    seed: int = 0,
    gan: Any = None,
    validation_sample: int = VALIDATION_SAMPLE,
    on_no_gain: str = "raise",
    format: str | None = None,
    shard_size: int | None = None,
    verbose: int = 1,
    **augment_options: Any,
) -> StreamedAugmentation:
    """Augment ``dataset`` into ``folder`` in bounded memory (see the module docstring).

    Args:
        dataset: labelled real data (it fits in memory; the synthetic part need not).
        folder: the output folder (new, or one an earlier call with the same arguments started).
        per_class, balance, plan: the synthetic samples per class, as in `augment`.
        seed: seeds everything, as in `augment`; the streamed samples use ``seed + 1``.
        gan: a trained GAN to use (default: ``folder/model.keras`` if an earlier run saved one,
            else train one as `augment` does).
        validation_sample: at most this many synthetic samples (the plan scaled down, every
            planned class at least one) are validated and measured by the utility gate.
        on_no_gain: when the utility gate finds no gain on the subsample: "raise" (`UtilityFailed`,
            nothing streamed) or "ignore" (stream the samples anyway).
        format: ``"tfds"`` (images' default) or ``"npz"``; ``"parquet"`` for tables.
        shard_size: samples per shard (default as `sample_to`).
        verbose: 0 silent, 1 progress output.
        **augment_options: passed to `augment` (validate, on_fail, thresholds, utility,
            utility_classifier, selection, training options such as epochs …).

    Returns:
        A `StreamedAugmentation`.
    """
    from gan_augment.generation import augment, planned
    from gan_augment.streaming import check_format, mixed_labels, write_stream
    from gan_augment.training import load_gan

    if not dataset.labeled:
        raise DataError("Expected a labelled dataset to augment class by class. Received: y=None. "
                        "Use train_gan(dataset).sample_to(folder, n) for unlabelled data.")
    if on_no_gain not in ON_NO_GAIN:
        raise DataError(f"Expected on_no_gain as one of {list(ON_NO_GAIN)} for a streamed set (its alternatives "
                        f"would not fit in memory either). Received: on_no_gain={on_no_gain!r}.")
    if not isinstance(validation_sample, (int, np.integer)) or validation_sample < 1:
        raise DataError(f"Expected validation_sample as an integer >= 1. Received: {validation_sample!r}.")
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise DataError(f"Expected folder to be a folder. Received: {str(folder)!r} is a file; pass a new path.")
    utility = bool(augment_options.get("utility", True))
    validate = bool(augment_options.get("validate", True))
    full = planned(dataset, per_class, balance, plan, utility)
    check_room(dataset, full, folder)
    small = scaled_plan(full, validation_sample)
    model_path = folder / "model.keras"
    if gan is None and model_path.is_file():
        if verbose:
            progress(f"Using the GAN an earlier run saved: {model_path} (delete it to train again).")
        gan = load_gan(model_path)
        own = inspect.signature(augment).parameters
        augment_options = {k: v for k, v in augment_options.items() if k in own}  # no training options
    if verbose:
        progress(f"Streamed augmentation: {int(full.sum())} synthetic samples planned; validating "
                 f"{int(small.sum())} of them first (a seeded subsample).")
    try:
        sample = augment(dataset, plan=small, seed=seed, gan=gan, on_no_gain=on_no_gain, verbose=verbose,
                         **augment_options)
    except UtilityFailed as exc:
        raise UtilityFailed(f"{exc.report.verdict()} (measured on a subsample of {int(small.sum())} synthetic "
                            "samples). Nothing was streamed. Train the GAN differently, or pass "
                            "on_no_gain='ignore' to stream the samples anyway.", exc.report) from None
    folder.mkdir(parents=True, exist_ok=True)
    if not model_path.is_file() and sample.gan is not None:
        sample.gan.save(model_path)
    if sample.report is not None:
        sample.report.save(folder / "validation")
    written = np.round(published_fraction(sample, small) * full).astype(np.int64)
    format = check_format(sample.gan, format)
    # the classes mixed over the run (a seeded order), so every shard holds all of them
    labels = mixed_labels(written, seed)
    accept = sample.report.acceptor if validate and sample.report is not None else None
    if not written.any() and verbose:
        progress("No synthetic samples to write; writing the real data alone.")
    data = folder / "data"
    write_stream(sample.gan, data, int(written.sum()), labels=labels if written.any() else None, seed=seed + 1,
                 shard_size=shard_size, format=format, real=dataset, accept=accept,
                 accept_key=f"validation of {int(small.sum())} samples, seed {seed}" if accept else None,
                 verbose=verbose)
    result = StreamedAugmentation(
        folder=folder, data=data, requested=tuple(full.tolist()), written=tuple(written.tolist()),
        real=len(dataset), validated_on=tuple(small.tolist()), synthetic_weight=float(sample.synthetic_weight),
        sample=sample)
    _write_summary(result, sample, format)
    if verbose:
        progress(f"Wrote {len(dataset)} real + {result.n_synthetic} synthetic samples to {data} "
                 f"(validated on {int(small.sum())} synthetic samples).")
    return result


def check_room(dataset: Dataset, plan: np.ndarray, folder: Path) -> None:
    """`DataError` before any training when the streamed set would not fit on the disk of
    ``folder`` (about one byte per value: uint8 pixels, before PNG or parquet compression) or its
    per-sample labels would not fit in memory."""
    from gan_augment._io import _free_space, format_size
    from gan_augment.data.images import NPZ_BUDGET_ENV, npz_memory_budget, sample_bytes

    n = len(dataset) + int(plan.sum())
    size = n * max(1, sample_bytes(dataset.shape) // 4)
    free = _free_space(folder)  # of the nearest folder that exists; None when unknown
    fix = "Pass a smaller per_class (CLI: --per-class) or a folder on a larger disk."
    if free is not None and size > free:
        raise DataError(f"Expected the streamed augmented set to fit on disk. Received: {n} samples of shape "
                        f"{tuple(dataset.shape)}, about {format_size(size)}, and '{folder}' has "
                        f"{format_size(free)} free. {fix}")
    budget = npz_memory_budget()
    if 8 * int(plan.sum()) > budget:
        raise DataError(f"Expected the labels of the streamed samples to fit in memory. Received: "
                        f"{int(plan.sum())} samples, {format_size(8 * int(plan.sum()))} of labels, over the "
                        f"memory budget of {format_size(budget)} ({NPZ_BUDGET_ENV}). {fix}")


def scaled_plan(plan: np.ndarray, total: int) -> np.ndarray:
    """``plan`` scaled down to at most about ``total`` samples (every planned class keeps at
    least one); ``plan`` itself when it is no larger.

    Example:
        >>> scaled_plan(np.array([0, 100_000, 50_000]), 300).tolist()
        [0, 200, 100]
    """
    plan = np.asarray(plan, np.int64)
    if plan.sum() <= total:
        return plan.copy()
    return np.where(plan > 0, np.maximum(np.floor(plan * total / plan.sum()), 1), 0).astype(np.int64)


def published_fraction(sample: Any, small: np.ndarray) -> float:
    """The share of the plan that `augment` published on the subsample: 0 without GAN samples,
    else the utility gate's amount (a fraction of the plan), 1 without the gate."""
    from gan_augment.generation import UTILITY_FRACTIONS

    if sample.synthetic is None or not small.any():
        return 0.0
    if sample.utility is None:
        return 1.0
    share = len(sample.synthetic) / float(small.sum())
    return float(min(UTILITY_FRACTIONS, key=lambda f: abs(f - share)))


def _write_summary(result: StreamedAugmentation, sample: Any, format: str) -> None:
    names = list(sample.real.class_names)
    summary = {
        "format": format, "data": result.data.name, "real": result.real,
        "requested": dict(zip(names, result.requested)), "written": dict(zip(names, result.written)),
        "validated_on": dict(zip(names, result.validated_on)), "synthetic_weight": result.synthetic_weight,
        "validation": None if sample.report is None else {
            "passed": bool(sample.report.passed), "summary": sample.report.summary()},
        "utility": None if sample.utility is None else {
            "passed": bool(sample.utility.passed), "verdict": sample.utility.verdict()},
    }
    with atomic_path(result.folder / "augmentation.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2))
