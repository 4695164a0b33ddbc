"""`DataKind`: the protocol every data kind implements (see the package docstring)."""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from gan_augment.data.dataset import Dataset


@dataclasses.dataclass
class ValidationSpace:
    """How `gan_augment.validate` looks at one kind's data, fitted on the real training split.

    Attributes:
        features: a Dataset → its rows in the domain feature space (Fréchet distance, C2ST,
            coverage, correlation are measured there).
        copies: a Dataset → the space near-copies are measured in (memorization, curation).
        predict: a Dataset → labels predicted by a classifier trained on real data (the label
            judge), or None when there is none.
        judge: the judge, as a sentence subject ("The domain encoder").
        c2st_judge: the two-sample test's classifier ("gradient-boosting classifier").
        description: the encoder, for the report.
        class_matched: compare equal numbers of real and synthetic samples *per class* (tables)
            rather than equal numbers overall.
        gx: ``(real, reference, synthetic, limits, seed)`` → the GX result dict (see
            `gan_augment.validation.gx_gate`) and the feature tables the report plots.
        accuracy: the encoder's accuracy when it reports one (else filled by validate).
    """

    features: Callable[[Dataset], np.ndarray]
    copies: Callable[[Dataset], np.ndarray]
    predict: Callable[[Dataset], np.ndarray] | None
    judge: str
    c2st_judge: str
    description: str
    class_matched: bool
    gx: Callable[..., tuple[dict[str, Any], dict[str, pd.DataFrame] | None]]
    accuracy: float | None = None


def per_dataset(features: Callable[[Dataset], np.ndarray]) -> Callable[[Dataset], np.ndarray]:
    """``features`` computed once per Dataset object: validation asks for the same sets' features
    several times (the gates' subsets, memorization, curation's acceptor)."""
    seen: dict[int, tuple[Dataset, np.ndarray]] = {}

    def cached(dataset: Dataset) -> np.ndarray:
        hit = seen.get(id(dataset))
        if hit is None or hit[0] is not dataset:
            hit = seen[id(dataset)] = (dataset, features(dataset))
        return hit[1]

    return cached


class DataKind(abc.ABC):
    """Everything that differs between data kinds. One instance per kind (`kind_of`)."""

    #: The kind's name (``Dataset.kind``).
    name: ClassVar[str]
    #: What one sample is called in messages ("samples", "rows").
    noun: ClassVar[str]
    #: File types `gan-augment generate` writes (the first is the default).
    sample_suffixes: ClassVar[tuple[str, ...]]
    #: Formats `streaming.sample_to` writes in shards (the first is the default).
    stream_formats: ClassVar[tuple[str, ...]]
    #: The downstream classifier ``classifier="auto"`` picks, and the named ones that fit the kind.
    default_classifier: ClassVar[str]
    classifiers: ClassVar[tuple[str, ...]]
    #: Whether `sample_grid` draws a picture (images) or returns None (tables).
    has_grid: ClassVar[bool] = False

    # ------------------------------------------------------------------ the container
    @abc.abstractmethod
    def check_payload(self, x: Any, frame: Any) -> int:
        """Check a Dataset's ``x`` / ``frame`` for this kind; the number of samples."""

    @abc.abstractmethod
    def payload(self, dataset: Dataset) -> Any:
        """The samples: the image array or the feature frame."""

    @abc.abstractmethod
    def content_bytes(self, dataset: Dataset) -> bytes:
        """The samples as bytes, for `Dataset.fingerprint`."""

    @abc.abstractmethod
    def describe(self, dataset: Dataset) -> str:
        """``shape=…`` / ``columns=…`` for `repr`."""

    @abc.abstractmethod
    def align(self, part: Dataset, like: Dataset, name: str) -> Dataset:
        """``part`` laid out like ``like`` (tables: the same column order), or `DataError` naming
        ``name`` when it cannot be (another shape, other columns)."""

    # ------------------------------------------------------------------ training
    @abc.abstractmethod
    def train_defaults(self, dataset: Dataset, opts: Any, given: dict[str, Any]) -> None:
        """Fill this kind's option defaults in the `TrainOptions` ``opts`` (in place); refuse
        options the kind's GAN does not have."""

    def check_trainable(self, dataset: Dataset, opts: Any) -> None:
        """Raise `DataError` for data this kind's GAN cannot learn (default: none)."""

    @abc.abstractmethod
    def steps_per_epoch(self, n: int, batch_size: int) -> int:
        """Generator steps in one epoch over ``n`` samples."""

    @abc.abstractmethod
    def build_options(self, dataset: Dataset, opts: Any, seed: int) -> dict[str, Any]:
        """Keyword arguments of this kind's builder in `gan_augment.models.BUILDERS`."""

    @abc.abstractmethod
    def batches(self, gan: Any, dataset: Dataset, batch_size: int, seed: int, first_epoch: int,
                epochs: int, with_labels: bool) -> Any:
        """The ``tf.data.Dataset`` ``fit`` consumes for epochs ``first_epoch..epochs-1``; epoch
        e's batches depend only on ``(seed, e)``, so a resumed run sees the same batches."""

    @abc.abstractmethod
    def sample(self, trained: Any, labels: np.ndarray | None, count: int, seed: int) -> Dataset:
        """``count`` samples of the `TrainedGAN` ``trained`` (for ``labels`` when given)."""

    @abc.abstractmethod
    def numeric(self, gan: Any, dataset: Dataset) -> np.ndarray:
        """One float row per sample: the space ``early_stop`` measures in (after a PCA)."""

    # ------------------------------------------------------------------ validation
    @property
    def gates(self) -> tuple[str, ...]:
        """The names of the validation gates of this kind, in report order (from the registry in
        `gan_augment.validation.gates`)."""
        from gan_augment.validation.gates import GATE_REGISTRY

        return tuple(g.name for g in GATE_REGISTRY if g.applies_to(self.name))

    @property
    @abc.abstractmethod
    def thresholds(self) -> type:
        """The `Thresholds` class of this kind's gates."""

    @abc.abstractmethod
    def validation_space(self, real: Dataset, *, encoder: Any, seed: int, cache_dir: Any,
                         verbose: int) -> ValidationSpace:
        """The `ValidationSpace` fitted on the real training split ``real``."""

    @abc.abstractmethod
    def copy_space(self, real: Dataset) -> Callable[[Dataset], np.ndarray]:
        """A Dataset → float rows in which a near-copy of a real sample is near it (fitted on
        ``real``): pixels for images, the encoded rows for tables."""

    # ------------------------------------------------------------------ downstream
    @abc.abstractmethod
    def classical_augment(self, data: Dataset, rng: np.random.Generator, copies: int) -> Dataset:
        """``copies`` classically augmented versions of every sample (originals excluded)."""

    @abc.abstractmethod
    def classical_note(self, copies: int) -> str:
        """One sentence saying what classical augmentation does for this kind."""

    @abc.abstractmethod
    def model_input(self, data: Dataset, encoding: Any) -> tuple[Any, Any]:
        """A downstream classifier's input and the encoding fitted (``encoding=None``: fit one)."""

    def input_note(self) -> str | None:
        """How `model_input` prepares the data, when it does more than pass it on."""
        return None

    # ------------------------------------------------------------------ files and pictures
    @abc.abstractmethod
    def export_samples(self, data: Dataset, path: Path, synthetic: np.ndarray | None = None) -> Path:
        """Write ``data`` to ``path`` in this kind's sample format (`sample_suffixes`)."""

    @abc.abstractmethod
    def export_augmented(self, result: Any, folder: Path, name: str) -> dict[str, Path]:
        """Write an `AugmentedDataset` into ``folder``; ``{what: path}`` (``name``: a data set
        name for formats that carry one)."""

    def sample_grid(self, data: Dataset, path: Path, *, title: str, per_class: int = 10) -> Path | None:
        """A picture of up to ``per_class`` samples per class at ``path``, or None when the kind
        has no such picture (tables are shown as histograms and a preview table)."""
        return None

    def preview_picture(self, data: Dataset, path: Path) -> Path | None:
        """A quick picture of the samples (milliseconds: the Dagster UI shows one for every
        stored data set), or None."""
        return None

    def read_options(self, data: Dataset) -> dict[str, Any]:
        """The `load_dataset` options that read `export_samples`' file back (tables: the class
        column's name)."""
        return {}

    def preview_markdown(self, data: Dataset) -> str | None:
        """A few samples as Markdown (the Dagster UI's preview), or None."""
        return None
