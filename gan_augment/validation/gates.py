"""The validation gates, one `Gate` object each — a light module (no TensorFlow, no Great
Expectations), so the Dagster definitions can declare one check per gate without importing the
validation code.

`GATE_REGISTRY` is the one list: every gate's name, the data kinds it applies to, the threshold
field of `Thresholds` / `TableThresholds` it reads, what it guards against and how it is computed
(`Gate.compute`, which calls the function of the same name in ``gate_checks.py``). The report
order, the per-kind gate lists (`GATES_BY_KIND`), the Dagster check specs
(``pipelines/checks.py``) and their descriptions are all derived from it; `MEASURES` lists the
informative metrics reported beside some gates. `gan_augment.validation.validate.validate` is one
loop over the gates that ``applies_to(data.kind)``.

Two rules hold for every gate:

* **Small samples**: below `MIN_DECIDABLE` (20) samples per set a distribution gate (and the GX
  suite's mean / stdev / histogram checks) cannot tell a good set from a bad one; it reports its
  value, passes, and says why in ``Check.undecided`` ("too few samples to decide"). Below the
  fewest samples its metric can be computed at (``gate_checks.MIN_COMPUTABLE``) it reports no
  value, undecided. The C2ST gate also stays undecided while its limit lies within
  ``C2ST_DECIDE_Z`` chance standard errors of 0.5, label fidelity while the judge is below
  ``MIN_JUDGE_ACCURACY`` on real data, and memorization while the holdout is too small to tell a
  copying generator from chance.
* **Baselines**: every distance is compared with the same distance between the real training
  data and a real holdout of the same size (real-vs-real), so a threshold is a multiple of what
  real unseen data scores, not an absolute number.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from gan_augment.kinds import KIND_NAMES as KINDS

#: Where synthetic samples come from: a GAN ("generated") or a translation of another domain's
#: labelled samples ("translated"; their provenance has a ``translated`` entry).
ORIGINS: tuple[str, ...] = ("generated", "translated")

#: Below this many samples per set (class-matched rows for tables), the distribution gates
#: (Fréchet distance, coverage; tables also marginals, correlation) are reported but undecided:
#: their real-vs-real baselines would be noise.
MIN_DECIDABLE = 20


@dataclasses.dataclass(frozen=True)
class Gate:
    """One validation gate.

    Attributes:
        name: the `Check.name` it reports and the Dagster check's name.
        kinds: the data kinds it applies to.
        threshold: the field of `Thresholds` (or `TableThresholds`) that sets its limit.
        why: what it guards against (one sentence; the Dagster check's description).
        origins: where the samples it judges come from (`ORIGINS`): a GAN, a translation.
    """

    name: str
    kinds: tuple[str, ...]
    threshold: str
    why: str
    origins: tuple[str, ...] = ORIGINS

    def applies_to(self, kind: str, origin: str = "generated") -> bool:
        return kind in self.kinds and origin in self.origins

    def compute(self, ctx: Any) -> Any:
        """The gate's `Check` on a `gate_checks.GateContext` (None when it does not apply to
        these samples, e.g. label gates of unlabelled samples)."""
        from gan_augment.validation import gate_checks

        return getattr(gate_checks, self.name)(ctx)


@dataclasses.dataclass(frozen=True)
class Measure:
    """An informative metric (``Check.gate`` False), reported right after the gate ``after``."""

    name: str
    after: str

    def compute(self, ctx: Any) -> Any:
        from gan_augment.validation import gate_checks

        return getattr(gate_checks, self.name)(ctx)


#: Every gate, in report order.
GATE_REGISTRY: tuple[Gate, ...] = (
    Gate("gx_suite", KINDS, "gx",
         "A Great Expectations suite derived from the real training data (feature columns of the "
         "domain encoder for images; the table's own columns for tables) passes on the synthetic "
         "samples."),
    Gate("frechet_distance", KINDS, "frechet_ratio",
         "Fréchet distance to the real data, in the domain feature space, stays within a multiple "
         "of the real-vs-real distance."),
    Gate("c2st_auc", KINDS, "c2st_auc",
         "A classifier cannot tell synthetic from real samples too well (two-sample test AUC)."),
    Gate("coverage", KINDS, "coverage_ratio",
         "The samples cover the real data's neighbourhoods (no mode collapse)."),
    Gate("memorization", KINDS, "near_copy_share", "Few samples are near-copies of training samples."),
    Gate("label_fidelity", KINDS, "label_fidelity_ratio",
         "A classifier trained on real data agrees with the labels the samples were generated for."),
    Gate("label_preservation", ("image",), "label_preservation",
         "Translations keep their label: a classifier trained on real target data predicts the "
         "label carried over from the source for most translated samples.", origins=("translated",)),
    Gate("class_coverage", KINDS, "class_share_error",
         "Every requested class is present, in the requested proportions."),
    Gate("marginals", ("table",), "marginals_ratio",
         "Tables: per-column KS / total-variation distance to the real columns stays within a "
         "multiple of the real-vs-real distance."),
    Gate("correlation", ("table",), "correlation_ratio",
         "Tables: the correlation matrix of the synthetic rows stays close to the real one "
         "(relative to the real-vs-real difference)."),
)

#: The informative metrics, each after its gate.
MEASURES: tuple[Measure, ...] = (Measure("kid", "frechet_distance"), Measure("precision", "coverage"),
                                 Measure("recall", "coverage"), Measure("density", "coverage"))

#: The gates of each data kind for generated samples, in report order.
GATES_BY_KIND: dict[str, tuple[str, ...]] = {
    kind: tuple(g.name for g in GATE_REGISTRY if g.applies_to(kind)) for kind in KINDS}


def origin_of(samples: Any) -> str:
    """``"translated"`` for samples a translator made (their provenance says so), else
    ``"generated"``."""
    return "translated" if "translated" in getattr(samples, "provenance", {}) else "generated"
#: Gate names of image data (the Dagster asset checks use the same names).
GATES: tuple[str, ...] = GATES_BY_KIND["image"]
#: Gate names of table data: every image gate (on the encoded rows) plus the per-column marginals
#: and the correlation structure.
TABLE_GATES: tuple[str, ...] = GATES_BY_KIND["table"]
#: Every gate name there is, in report order (the checks of the pipeline's ``synthetic_samples``).
ALL_GATES: tuple[str, ...] = tuple(g.name for g in GATE_REGISTRY)
#: The gates of translated images (`gan_augment.translation`): the image gates plus
#: ``label_preservation``.
TRANSLATION_GATES: tuple[str, ...] = tuple(g.name for g in GATE_REGISTRY if g.applies_to("image", "translated"))
#: What each gate guards against (one line; shown in the Dagster UI next to the check).
GATE_DESCRIPTIONS: dict[str, str] = {g.name: g.why for g in GATE_REGISTRY}

