"""Blocking asset checks: one per validation gate on `synthetic_samples`, the utility gate
(``utility_gain``) on `augmented_dataset`, and ``psnr_vs_bicubic`` on `upscaler`.

The gates are `gan_augment.validation.gates.GATE_REGISTRY`; a gate that does not apply to a
partition's data (the table-only gates on images; label preservation on GAN samples, it judges
translations) gets no result, so the UI shows it as skipped
in that run rather than as a pass. Their verdicts come from one
`gan_augment.validate` call. That call runs in the step that also writes `synthetic_samples` and
`validation_report` (`assets.sample_and_validate`), and the step reports every gate as an
`AssetCheckResult` on `synthetic_samples`. The checks are declared here as `AssetCheckSpec`s with
``blocking=True``: when one fails, the step fails after both assets are stored, so the report
is there to read and nothing downstream (`augmented_dataset`, `downstream_evaluation`) runs.
docs/PIPELINE.md explains why the checks are not separate `@asset_check` functions.

``utility_gain`` is reported the same way by `assets.augmented_dataset`, which runs
`gan_augment.utility.measure_utility`: it passes when the GAN samples beat real-only and real +
classical augmentation on the holdout split. When they do not, the asset publishes the best
baseline instead, and the check fails as a *warning* (downstream still runs on the honest
alternative) unless ``on_no_gain="raise"``, where it fails as an error and blocks downstream.

``psnr_vs_bicubic`` is reported by `assets.upscaler` from `TrainedUpscaler.evaluate` on the
holdout split: the SRGAN's mean PSNR must reach bicubic resizing's, else it fails as an error and
``synthetic_samples`` (upscaled by it) is not made. A partition without ``upscale`` in
data/datasets.yaml gets no result (skipped, like a gate that does not apply).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterator
from typing import Any

import dagster as dg

from gan_augment.validation.gates import GATE_REGISTRY, KINDS, ORIGINS
from pipelines.config import DATASETS

SAMPLES_KEY = dg.AssetKey("synthetic_samples")


class _SkippedGateNotice(logging.Filter):
    """Drops Dagster's console warning that a blocking check "emitted no result" for the gates
    that apply to some data kinds only: that is how a gate not applicable to a partition is
    skipped (`gate_results`), and the run's log already says so."""

    PARTIAL = (*(f"'synthetic_samples:{g.name}' emitted no result" for g in GATE_REGISTRY
                 if set(g.kinds) != set(KINDS) or set(g.origins) != set(ORIGINS)),
               "'upscaler:psnr_vs_bicubic' emitted no result")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(text in message for text in self.PARTIAL)


logging.getLogger("dagster._core.execution.plan.active").addFilter(_SkippedGateNotice())
AUGMENTED_KEY = dg.AssetKey("augmented_dataset")
UTILITY_CHECK = "utility_gain"
UPSCALER_KEY = dg.AssetKey("upscaler")
UPSCALER_CHECK = "psnr_vs_bicubic"

with warnings.catch_warnings():
    # partitioned asset checks are a preview feature in Dagster 1.13; the checks must have the
    # partitions of their asset (one verdict per data set)
    warnings.simplefilter("ignore", category=dg.PreviewWarning)
    #: One blocking check per gate, on synthetic_samples, partitioned like it.
    GATE_CHECK_SPECS: list[dg.AssetCheckSpec] = [
        dg.AssetCheckSpec(
            gate.name, asset=SAMPLES_KEY, blocking=True, partitions_def=DATASETS,
            description=gate.why + ("" if len(gate.kinds) > 1 else f" ({' and '.join(gate.kinds)} data only)")
            + ("" if len(gate.origins) > 1 else f" ({' and '.join(gate.origins)} samples only)"),
        )
        for gate in GATE_REGISTRY
    ]
    #: The utility gate on augmented_dataset, partitioned like it; blocking, but only an
    #: ERROR-severity failure (on_no_gain="raise") stops downstream_evaluation.
    UTILITY_CHECK_SPEC = dg.AssetCheckSpec(
        UTILITY_CHECK, asset=AUGMENTED_KEY, blocking=True, partitions_def=DATASETS,
        description="Do the GAN samples make a classifier better? The same classifier (same "
                    "gradient steps, several seeds) trained on real / real+classical / real+GAN / "
                    "real+GAN+classical, scored on the holdout split the GAN never saw.",
    )
    #: The upscaler's fidelity gate, partitioned like it; blocking: a failure stops
    #: synthetic_samples (which the upscaler enlarges) and everything after it.
    UPSCALER_CHECK_SPEC = dg.AssetCheckSpec(
        UPSCALER_CHECK, asset=UPSCALER_KEY, blocking=True, partitions_def=DATASETS,
        description="Does the SRGAN upscale at least as faithfully as bicubic resizing? Mean PSNR "
                    "on the holdout split's images (reduced, then brought back), SRGAN ≥ bicubic. "
                    "Partitions with upscale in data/datasets.yaml only.",
    )


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def gate_results(report: Any, log: Any = None, origin: str = "generated") -> Iterator[dg.AssetCheckResult]:
    """One `AssetCheckResult` per gate of ``report`` (a `ValidationReport`) for samples of
    ``origin`` ("generated", "translated"); a failed gate's description is the report's reason
    (`Check.why`), and it is logged as an error."""
    present = {c.name: c for c in report.checks}
    for gate in (g.name for g in GATE_REGISTRY if origin in g.origins):
        check = present.get(gate)
        if check is None:
            # not a gate of this data (the table-only gates on images; label gates on unlabelled
            # data): no result, so the UI shows the check as skipped in this run, not as a pass
            if log is not None:
                log.info(f"Validation gate {gate!r} does not apply to this data: skipped.")
            continue
        metadata: dict[str, Any] = {}
        for key in ("value", "baseline", "threshold"):
            number = _number(getattr(check, key))
            if number is not None:
                metadata[key] = dg.MetadataValue.float(number)
        if gate == "gx_suite":
            failed = [r for r in report.gx.get("results", []) if not r.get("success")]
            metadata["expectations"] = dg.MetadataValue.md(_gx_markdown(report.gx))
            metadata["failed_expectations"] = dg.MetadataValue.int(len(failed))
        undecided = str(getattr(check, "undecided", "") or "")
        metadata["decided"] = not undecided
        if not check.passed and log is not None:
            log.error(f"Validation gate {gate!r} failed: {check.why}")
        elif undecided and log is not None:
            log.warning(f"Validation gate {gate!r} has too few samples to decide: {undecided}")
        yield dg.AssetCheckResult(
            check_name=gate, asset_key=SAMPLES_KEY, passed=bool(check.passed),
            severity=dg.AssetCheckSeverity.ERROR,
            description=(f"Too few samples to decide: {undecided}. " if undecided else "") + check.why,
            metadata=metadata,
        )


def _gx_markdown(gx: dict[str, Any]) -> str:
    """The GX summary line and a table of its expectations (failed ones first)."""
    results = sorted(gx.get("results", []), key=lambda r: bool(r.get("success")))
    lines = [str(gx.get("summary", "")), "", "| expectation | column | observed | passed |",
             "|---|---|---|---|"]
    for r in results:
        observed = r.get("observed_value")
        if isinstance(observed, float):
            observed = f"{observed:.4g}"
        lines.append(f"| {r.get('type', '')} | {r.get('column', '') or ''} | {observed} | "
                     f"{'✓' if r.get('success') else '✗'} |")
    return "\n".join(lines)


def utility_table(report: Any) -> str:
    """The gate's measurements as a Markdown table with the setting names of the UI: real /
    real+classical / real+GAN / real+GAN+classical, holdout accuracy mean ± std."""
    return (report.to_markdown().replace("real+synthetic", "real+GAN")
            .replace("| synthetic per class |", "| GAN per class |"))


def utility_result(report: Any | None, on_no_gain: str, published: str,
                   log: Any = None) -> dg.AssetCheckResult:
    """The ``utility_gain`` check of `augmented_dataset` from a `UtilityReport` (``None``: the
    gate was off). ``published`` says in words what the asset published."""
    if report is None:
        return dg.AssetCheckResult(
            check_name=UTILITY_CHECK, asset_key=AUGMENTED_KEY, passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"Not measured (utility=False): {published} was published without "
                        "evidence that the GAN samples help a classifier.",
            metadata={"measured": False, "published": published},
        )
    metadata: dict[str, Any] = {
        "measured": True, "published": published, "on_no_gain": on_no_gain,
        "gain": dg.MetadataValue.float(float(report.gain)),
        "margin": dg.MetadataValue.float(float(report.margin)),
        "confidence": dg.MetadataValue.float(float(getattr(report, "confidence", 0.0))),
        "best_baseline": str(report.best_baseline["setting"]),
        "best_baseline_accuracy": dg.MetadataValue.float(float(report.best_baseline["accuracy_mean"])),
        "table": dg.MetadataValue.md(utility_table(report)),
        "classifier": report.classifier, "seeds": str(report.seeds),
        "n_fit": report.n_fit, "n_holdout": report.n_holdout,
        "small_holdout": bool(report.small_holdout),
    }
    if report.chosen is not None:
        metadata["chosen"] = (f"{report.chosen['setting']}, {report.chosen['per_class']} per class, "
                              f"weight {report.chosen['weight']:g}")
        metadata["chosen_accuracy"] = dg.MetadataValue.float(float(report.chosen["accuracy_mean"]))
    description = f"{report.verdict()} Published: {published}."
    if report.passed:
        return dg.AssetCheckResult(check_name=UTILITY_CHECK, asset_key=AUGMENTED_KEY, passed=True,
                                   description=description, metadata=metadata)
    severity = dg.AssetCheckSeverity.ERROR if on_no_gain == "raise" else dg.AssetCheckSeverity.WARN
    if log is not None:
        say = {"raise": log.error, "warn": log.warning}.get(on_no_gain, log.info)
        say(f"Utility gate failed: {description}")
    return dg.AssetCheckResult(check_name=UTILITY_CHECK, asset_key=AUGMENTED_KEY, passed=False,
                               severity=severity, description=description, metadata=metadata)


def upscaler_table(report: Any) -> str:
    """A `SuperResolutionReport` as a Markdown table: one row per method (bicubic, SRResNet,
    SRGAN), PSNR and SSIM (fidelity), Fréchet distance and C2ST AUC (realism)."""
    lines = ["| method | PSNR (dB) | SSIM | FD | C2ST AUC |", "|---|---:|---:|---:|---:|"]
    for method, row in report.rows.items():
        lines.append(f"| {method} | {row['psnr']:.2f} | {row['ssim']:.4f} | {row['fd']:.4g} | "
                     f"{row['c2st_auc']:.3f} |")
    return "\n".join(lines)


def upscaler_result(report: Any, log: Any = None) -> dg.AssetCheckResult:
    """The ``psnr_vs_bicubic`` check of `upscaler` from a `SuperResolutionReport` on held-out
    images: passed when the SRGAN's mean PSNR is at least bicubic resizing's."""
    srgan, bicubic = float(report.rows["srgan"]["psnr"]), float(report.rows["bicubic"]["psnr"])
    passed = srgan >= bicubic
    description = (f"x{report.scale} on {report.images} held-out images: SRGAN PSNR {srgan:.2f} dB "
                   f"{'≥' if passed else '<'} bicubic {bicubic:.2f} dB.")
    if not passed:
        description += (" The upscaler is less faithful than plain resizing: train it longer "
                        "(upscale.options.steps in data/datasets.yaml, or the upscaler's run config).")
        if log is not None:
            log.error(f"Upscaler check {UPSCALER_CHECK!r} failed: {description}")
    metadata: dict[str, Any] = {
        "srgan_psnr": dg.MetadataValue.float(srgan),
        "bicubic_psnr": dg.MetadataValue.float(bicubic),
        "margin_db": dg.MetadataValue.float(srgan - bicubic),
        "n_holdout": dg.MetadataValue.int(int(report.images)),
        "scale": dg.MetadataValue.int(int(report.scale)),
        "table": dg.MetadataValue.md(upscaler_table(report)),
    }
    if "srresnet" in report.rows:
        metadata["srresnet_psnr"] = dg.MetadataValue.float(float(report.rows["srresnet"]["psnr"]))
    return dg.AssetCheckResult(check_name=UPSCALER_CHECK, asset_key=UPSCALER_KEY, passed=passed,
                               severity=dg.AssetCheckSeverity.ERROR, description=description,
                               metadata=metadata)
