"""The names of the validation gates and what each guards against — a light module (no
TensorFlow, no Great Expectations), so the Dagster definitions can declare one check per gate
without importing the validation code.

`gan_augment.validation.validate.validate` computes the gates of ``GATES_BY_KIND[data.kind]``.
"""

from __future__ import annotations

#: Gate names of image data, in report order (the Dagster asset checks use the same names).
GATES: tuple[str, ...] = ("gx_suite", "frechet_distance", "c2st_auc", "coverage", "memorization",
                          "label_fidelity", "class_coverage")
#: Gate names of table data: every image gate (on the encoded rows) plus the per-column marginals
#: and the correlation structure.
TABLE_GATES: tuple[str, ...] = (*GATES, "marginals", "correlation")
#: The gates of each data kind.
GATES_BY_KIND: dict[str, tuple[str, ...]] = {"image": GATES, "table": TABLE_GATES}
#: Every gate name there is, in report order.
ALL_GATES: tuple[str, ...] = TABLE_GATES

#: What each gate guards against (one line; shown in the Dagster UI next to the check).
GATE_DESCRIPTIONS: dict[str, str] = {
    "gx_suite": "A Great Expectations suite derived from the real training data (feature columns "
                "of the domain encoder for images; the table's own columns for tables) passes on "
                "the synthetic samples.",
    "frechet_distance": "Fréchet distance to the real data, in the domain feature space, stays "
                        "within a multiple of the real-vs-real distance.",
    "c2st_auc": "A classifier cannot tell synthetic from real samples too well (two-sample test AUC).",
    "coverage": "The samples cover the real data's neighbourhoods (no mode collapse).",
    "memorization": "Few samples are near-copies of training samples.",
    "label_fidelity": "A classifier trained on real data agrees with the labels the samples were "
                      "generated for.",
    "class_coverage": "Every requested class is present, in the requested proportions.",
    "marginals": "Tables: per-column KS / total-variation distance to the real columns stays "
                 "within a multiple of the real-vs-real distance.",
    "correlation": "Tables: the correlation matrix of the synthetic rows stays close to the real "
                   "one (relative to the real-vs-real difference).",
}
