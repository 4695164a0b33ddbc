"""Validation of synthetic data against the real distribution.

* `features`: the domain encoder (feature space, label predictions) and the per-sample table;
* `metrics`: Fréchet distance, KID, precision/recall/density/coverage, C2ST, memorization, …;
* `expectations`: Great Expectations suites derived from real data;
* `gates`: the gate registry (light); `gate_checks`: how each gate is computed; `gx_gate`: the
  GX suite gate; `validate`: `validate()` (one loop over the gates) and `curate()`;
  `report`: `ValidationReport`, `Thresholds`, `TableThresholds`.

Submodules import TensorFlow/GX lazily; import what you need from here.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "validate": "gan_augment.validation.validate",
    "curate": "gan_augment.validation.validate",
    "GATES": "gan_augment.validation.gates",
    "TABLE_GATES": "gan_augment.validation.gates",
    "ALL_GATES": "gan_augment.validation.gates",
    "ValidationReport": "gan_augment.validation.report",
    "Thresholds": "gan_augment.validation.report",
    "TableThresholds": "gan_augment.validation.report",
    "Check": "gan_augment.validation.report",
    "DomainEncoder": "gan_augment.validation.features",
    "fit_domain_encoder": "gan_augment.validation.features",
}
__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gan_augment.validation' has no attribute {name!r}")
