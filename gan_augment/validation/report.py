"""`ValidationReport`: gates with their baselines, the accepted-sample mask, JSON and a page.

A report answers three questions: did the synthetic set pass (``report.passed``), why or why not
(``report.checks``: name, value, baseline, threshold, passed, and a sentence), and which samples
may be used (``report.accepted``). ``report.save(dir)`` writes ``report.json``, ``report.html``
and the PNGs it shows (sample grids per class, feature histograms).
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gan_augment._io import atomic_path


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """Gate thresholds, relative to the real-vs-real baselines where one exists.

    Attributes:
        frechet_ratio: Fréchet distance ≤ this × the real-vs-real distance (equal sample counts).
        c2st_auc: a real-vs-synthetic classifier's held-out AUC ≤ this (0.5: indistinguishable;
            real-vs-real baselines are 0.45–0.55). Images: 0.75 — at 50 real digits per class a
            set told apart with AUC 0.8 used to pass; tables (`TableThresholds`): 0.97 until the
            table gates are calibrated on real tables.
        coverage_ratio: coverage ≥ this × the real holdout's coverage (mode collapse drops it).
        near_copy_share: share of synthetic samples closer to a training sample than 99% of
            real unseen samples are ≤ this.
        label_preservation: translated samples only: the share whose carried label the encoder
            predicts ≥ this (undecided while the encoder is less accurate than this on real data).
        label_fidelity_ratio: encoder agreement with the conditioning labels ≥ this × the
            encoder's accuracy on real holdout data.
        class_share_error: every requested class present, and |observed − requested| share ≤ this.
        gx: the Great Expectations suite derived from the real data must pass (up to 1 % of its
            expectations, rounded down, may fail: real holdouts of wide tables miss one by chance).
    """

    frechet_ratio: float = 4.0
    c2st_auc: float = 0.75
    coverage_ratio: float = 0.5
    near_copy_share: float = 0.05
    label_fidelity_ratio: float = 0.9
    label_preservation: float = 0.9
    class_share_error: float = 0.05
    gx: bool = True

    @classmethod
    def from_value(cls, value: Thresholds | dict[str, Any] | None) -> Thresholds:
        if value is None:
            return cls()
        if isinstance(value, Thresholds):
            return value
        unknown = sorted(set(value) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise TypeError(f"Unknown threshold(s) {unknown}. Expected some of: "
                            f"{[f.name for f in dataclasses.fields(cls)]}.")
        return dataclasses.replace(cls(), **value)


@dataclasses.dataclass(frozen=True)
class TableThresholds(Thresholds):
    """`Thresholds` plus the table-only gates.

    Attributes:
        marginals_ratio: mean per-column KS / TV distance ≤ this × the real-vs-real mean.
        correlation_ratio: mean |Δ correlation| ≤ this × the real-vs-real difference.
        gx_tolerance: ``tolerance`` of the derived GX suite (`derive_suite`): a table has some
            expectations per column, so wide tables need a little more slack for real unseen
            rows to pass (breast_cancer, 217 expectations: 3 of 6 real holdouts failed at 1.0).

    The other fields keep their meaning; ``frechet_ratio``, ``c2st_auc`` and ``coverage_ratio``
    apply to the encoded rows (`TableDomain.features`). ``c2st_auc`` stays at 0.97 for tables
    until the table gates are calibrated against real-vs-real spreads on many real tables.

    Example:
        >>> TableThresholds.from_value({"marginals_ratio": 3.0}).marginals_ratio
        3.0
    """

    c2st_auc: float = 0.97
    marginals_ratio: float = 2.0
    correlation_ratio: float = 2.5
    gx_tolerance: float = 1.5

    @classmethod
    def from_value(cls, value: Thresholds | dict[str, Any] | None) -> TableThresholds:
        if isinstance(value, Thresholds) and not isinstance(value, TableThresholds):
            # the fields the caller changed; the others keep the table defaults (c2st_auc differs)
            image_defaults = Thresholds()
            return dataclasses.replace(cls(), **{k: v for k, v in dataclasses.asdict(value).items()
                                                 if v != getattr(image_defaults, k)})
        return super().from_value(value)  # type: ignore[return-value]


@dataclasses.dataclass
class Check:
    """One gate (or, with ``gate=False``, an informative metric).

    ``undecided`` is non-empty when the samples are too few for the gate to tell a good set from
    a bad one (e.g. a C2ST whose standard error is as large as the distance from chance to its
    limit); it says why, and such a gate passes without deciding anything (with
    ``augment(utility=True)`` the utility gate decides).
    """

    name: str
    value: float | None
    baseline: float | None
    threshold: float | None
    passed: bool
    why: str
    gate: bool = True
    undecided: str = ""


@dataclasses.dataclass
class ValidationReport:
    """The outcome of `gan_augment.validate`.

    Attributes:
        checks: gates and informative metrics, each with its real-vs-real baseline.
        accepted: per synthetic sample, whether curation keeps it.
        rejection_counts: how many samples each curation rule rejected.
        gx: the Great Expectations result (JSON-safe dict).
        info: sample counts, encoder, thresholds and anything else worth keeping.
    """

    checks: list[Check]
    accepted: np.ndarray
    rejection_counts: dict[str, int]
    gx: dict[str, Any]
    info: dict[str, Any]
    # Kept for pictures; not serialized.
    real: Any = dataclasses.field(default=None, repr=False)
    synthetic: Any = dataclasses.field(default=None, repr=False)
    feature_tables: dict[str, pd.DataFrame] | None = dataclasses.field(default=None, repr=False)
    #: curation's per-sample rules as set by this validation, for new samples of the same GAN
    #: (``acceptor(samples) -> bool mask``); not serialized
    acceptor: Any = dataclasses.field(default=None, repr=False)

    def __repr__(self) -> str:
        """One line: the verdict, failed and undecided gates, and curation (the full dataclass
        repr printed the GX result and every sample's mask); `summary` has the details."""
        failed = [c.name for c in self.failed()]
        undecided = [c.name for c in self.undecided()]
        return (f"ValidationReport(passed={self.passed}, gates={sum(c.gate for c in self.checks)}, "
                f"failed={failed}, undecided={undecided}, accepted={int(np.sum(self.accepted))}"
                f"/{len(self.accepted)})")

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks if c.gate)

    @property
    def requested(self) -> np.ndarray | None:
        """The samples per class the validated set was generated for (the plan `augment`
        publishes from), or None when the report does not name one (an old report)."""
        plan = self.info.get("requested")
        return None if plan is None else np.asarray(plan, dtype=np.int64)

    @property
    def seconds(self) -> float:
        """How long the validation took."""
        return float(self.info.get("seconds", 0.0))

    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.gate and not c.passed]

    def undecided(self) -> list[Check]:
        """The gates that had too few samples to decide (they pass; ``Check.undecided`` says why)."""
        return [c for c in self.checks if c.gate and c.undecided]

    def check(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"No check named {name!r}. Checks: {[c.name for c in self.checks]}.")

    def summary(self) -> str:
        """A few lines: verdict, failed gates with reasons, accepted count."""
        verdict = "PASSED" if self.passed else "FAILED"
        lines = [(f"Validation {verdict}: {sum(c.passed for c in self.checks if c.gate)}/"
                  f"{sum(c.gate for c in self.checks)} gates passed; "
                  f"{int(self.accepted.sum())}/{len(self.accepted)} samples accepted.")]
        lines += [f"  ✗ {c.name}: {c.why}" for c in self.failed()]
        lines += [f"  ? {c.name}: too few samples to decide: {c.undecided}" for c in self.undecided()]
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([dataclasses.asdict(c) for c in self.checks])

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        return _json_safe({
            "passed": self.passed,
            "checks": [dataclasses.asdict(c) for c in self.checks],
            "accepted": self.accepted.astype(bool).tolist(),
            "rejection_counts": self.rejection_counts,
            "gx": self.gx,
            "info": self.info,
        })

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationReport:
        return cls(
            checks=[Check(**{k: v for k, v in c.items() if k in _CHECK_FIELDS}) for c in data["checks"]],
            accepted=np.asarray(data["accepted"], dtype=bool),
            rejection_counts=dict(data["rejection_counts"]),
            gx=data["gx"],
            info=data["info"],
        )

    @classmethod
    def from_json(cls, text: str) -> ValidationReport:
        return cls.from_dict(json.loads(text))

    # ------------------------------------------------------------------ files
    def save(self, directory: str | Path) -> dict[str, Path]:
        """Write report.json, report.html and its PNGs into ``directory``; return the paths."""
        from gan_augment.kinds import kind_of
        from gan_augment.plots import save_feature_histograms

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        with atomic_path(directory / "report.json") as tmp:
            tmp.write_text(self.to_json(indent=2))
        paths["json"] = directory / "report.json"
        pictures: list[tuple[str, str]] = []
        kind = kind_of(self.real) if self.real is not None else None
        if kind is not None and kind.has_grid and self.synthetic is not None:
            for which, ds in (("real", self.real), ("synthetic", self.synthetic)):
                paths[f"{which}_grid"] = kind.sample_grid(ds, directory / f"{which}_samples.png",
                                                          title=f"{which} samples")
                pictures.append((f"{which} samples", f"{which}_samples.png"))
            if not self.accepted.all():
                rejected = self.synthetic.take(np.flatnonzero(~self.accepted)[:100])
                paths["rejected_grid"] = kind.sample_grid(rejected.with_labels(None), directory / "rejected_samples.png",
                                                          title="rejected by curation (first 100)")
                pictures.append(("rejected samples", "rejected_samples.png"))
        if self.feature_tables:
            paths["histograms"] = save_feature_histograms(self.feature_tables, directory / "feature_histograms.png")
            pictures.append(("GX feature columns: real vs synthetic", "feature_histograms.png"))
        with atomic_path(directory / "report.html") as tmp:
            tmp.write_text(self._html(pictures), encoding="utf-8")
        paths["html"] = directory / "report.html"
        return paths

    def _html(self, pictures: list[tuple[str, str]]) -> str:
        def cell(v: Any) -> str:
            if isinstance(v, float):
                return f"{v:.4g}"
            return html.escape("" if v is None else str(v))

        rows = "".join(
            f"<tr class='{'undecided' if c.undecided else 'ok' if c.passed else 'bad'}'><td>{cell(c.name)}</td>"
            f"<td>{'gate' if c.gate else 'info'}</td>"
            f"<td>{cell(c.value)}</td><td>{cell(c.baseline)}</td><td>{cell(c.threshold)}</td>"
            f"<td>{'?' if c.undecided else '✓' if c.passed else '✗'}</td>"
            f"<td>{cell(('Too few samples to decide: ' + c.undecided + ' ') if c.undecided else '')}{cell(c.why)}</td>"
            "</tr>" for c in self.checks)
        gx_rows = "".join(
            f"<tr class='{'ok' if r.get('success') else 'bad'}'><td>{cell(r.get('type'))}</td>"
            f"<td>{cell(r.get('column'))}</td><td>{cell(r.get('observed_value'))}</td>"
            f"<td>{'✓' if r.get('success') else '✗'}</td></tr>" for r in self.gx.get("results", []))
        imgs = "".join(f"<figure><figcaption>{html.escape(t)}</figcaption><img src='{f}'></figure>"
                       for t, f in pictures)
        verdict = "PASSED" if self.passed else "FAILED"
        info = html.escape(json.dumps(_json_safe(self.info), indent=1))
        return f"""<!doctype html><html><head><meta charset="utf-8"><title>Validation report</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{border:1px solid #ccc;padding:4px 8px}}
table{{border-collapse:collapse;margin-bottom:1.5em}}.bad{{background:#fdd}}.ok{{background:#efe}}.undecided{{background:#ffd}}
figure{{display:inline-block;margin:0 1em 1em 0;vertical-align:top}}img{{max-width:520px}}</style></head>
<body><h1>Validation {verdict}</h1>
<p>{int(self.accepted.sum())} of {len(self.accepted)} synthetic samples accepted; rejected by rule:
{html.escape(str(self.rejection_counts))}.</p>
<h2>Gates and metrics (baseline = real train vs real holdout, same sample count)</h2>
<table><tr><th>check</th><th>kind</th><th>value</th><th>baseline</th><th>threshold</th><th>passed</th><th>why</th></tr>{rows}</table>
<h2>Pictures</h2>{imgs}
<h2>Great Expectations: {html.escape(str(self.gx.get('summary', '')))}</h2>
<table><tr><th>expectation</th><th>column</th><th>observed</th><th>passed</th></tr>{gx_rows}</table>
<h2>Details</h2><pre>{info}</pre></body></html>"""


_CHECK_FIELDS = {f.name for f in dataclasses.fields(Check)}


def _json_safe(value: Any) -> Any:
    """Plain Python types only (numpy scalars/bools/arrays converted; NaN/inf become None)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    return value
