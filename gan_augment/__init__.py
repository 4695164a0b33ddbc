"""gan_augment: grow small or imbalanced datasets with class-conditional GAN samples.

Three lines augment a dataset::

    import gan_augment as ga
    digits = ga.load_dataset("digits")
    augmented = ga.augment(digits, per_class=400)      # trains a conditional GAN, fills every class

The public API is re-exported here. TensorFlow is imported only when a function that needs it is
first used, so ``import gan_augment`` and ``gan-augment --help`` stay fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gan_augment._quiet import quiet_tensorflow
from gan_augment.data.dataset import Dataset
from gan_augment.errors import (
    DataError,
    GanAugmentError,
    TrainingError,
    UnknownSourceError,
    UtilityFailed,
    ValidationFailed,
)

__version__ = "0.1.0"
quiet_tensorflow()  # no TensorFlow import: only a logging filter and an environment default

# name -> module that defines it (imported on first access)
_LAZY = {
    "load_dataset": "gan_augment.data.sources",
    "list_sources": "gan_augment.data.sources",
    "train_gan": "gan_augment.training",
    "TrainedGAN": "gan_augment.training",
    "load_gan": "gan_augment.training",
    "augment": "gan_augment.generation",
    "AugmentedDataset": "gan_augment.generation",
    "augment_to": "gan_augment.streamed_augmentation",
    "StreamedAugmentation": "gan_augment.streamed_augmentation",
    "sample_to": "gan_augment.streaming",
    "export_npz": "gan_augment.export",
    "export_tfds": "gan_augment.export",
    "export_parquet": "gan_augment.export",
    "export_csv": "gan_augment.export",
    "validate": "gan_augment.validation.validate",
    "curate": "gan_augment.validation.validate",
    "ValidationReport": "gan_augment.validation.report",
    "Thresholds": "gan_augment.validation.report",
    "DomainEncoder": "gan_augment.validation.features",
    "evaluate_downstream": "gan_augment.downstream",
    "DownstreamReport": "gan_augment.downstream",
    "measure_utility": "gan_augment.utility",
    "UtilityReport": "gan_augment.utility",
    "render_digits": "gan_augment.data.rendered",
    "log_to": "gan_augment.logs",
    "train_cyclegan": "gan_augment.translation",
    "load_translator": "gan_augment.translation",
    "TrainedTranslator": "gan_augment.translation",
    "train_srgan": "gan_augment.super_resolution",
    "load_upscaler": "gan_augment.super_resolution",
    "TrainedUpscaler": "gan_augment.super_resolution",
}

__all__ = [
    "AugmentedDataset",
    "DataError",
    "Dataset",
    "DomainEncoder",
    "DownstreamReport",
    "GanAugmentError",
    "StreamedAugmentation",
    "Thresholds",
    "TrainedGAN",
    "TrainedTranslator",
    "TrainedUpscaler",
    "TrainingError",
    "UnknownSourceError",
    "UtilityFailed",
    "UtilityReport",
    "ValidationFailed",
    "ValidationReport",
    "augment",
    "augment_to",
    "curate",
    "evaluate_downstream",
    "export_csv",
    "export_npz",
    "export_parquet",
    "export_tfds",
    "list_sources",
    "load_dataset",
    "load_gan",
    "load_translator",
    "load_upscaler",
    "log_to",
    "measure_utility",
    "render_digits",
    "sample_to",
    "train_cyclegan",
    "train_gan",
    "train_srgan",
    "validate",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from gan_augment.data.rendered import render_digits
    from gan_augment.data.sources import list_sources, load_dataset
    from gan_augment.downstream import DownstreamReport, evaluate_downstream
    from gan_augment.export import export_csv, export_npz, export_parquet, export_tfds
    from gan_augment.generation import AugmentedDataset, augment
    from gan_augment.logs import log_to
    from gan_augment.streamed_augmentation import StreamedAugmentation, augment_to
    from gan_augment.streaming import sample_to
    from gan_augment.super_resolution import TrainedUpscaler, load_upscaler, train_srgan
    from gan_augment.training import TrainedGAN, load_gan, train_gan
    from gan_augment.translation import TrainedTranslator, load_translator, train_cyclegan
    from gan_augment.utility import UtilityReport, measure_utility
    from gan_augment.validation.features import DomainEncoder
    from gan_augment.validation.report import Thresholds, ValidationReport
    from gan_augment.validation.validate import curate, validate


def _lazy_exports(namespace: dict[str, Any], lazy: dict[str, str]) -> tuple[Callable, Callable]:
    """The module ``__getattr__`` and ``__dir__`` (PEP 562) of a package whose names in ``lazy``
    (name -> module that defines it) are imported on first access and then kept in
    ``namespace``, the package's ``globals()`` (which also holds its ``__all__``).

    Example:
        >>> __getattr__, __dir__ = _lazy_exports(globals(), {"load_gan": "gan_augment.training"})  # doctest: +SKIP
    """

    def __getattr__(name: str) -> Any:
        if name in lazy:
            value = getattr(importlib.import_module(lazy[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(namespace["__all__"]))

    return __getattr__, __dir__


__getattr__, __dir__ = _lazy_exports(globals(), _LAZY)
