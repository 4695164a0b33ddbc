"""Resources: where outputs go (`StorageRoot`) and where new data lands (`IncomingData`).

Layout under the storage root, one folder per data set (partition)::

    <root>/<dataset>/
        source_dataset/         train / holdout / test splits (.npz or .parquet) + manifest.json
        gan_model.keras         the trained GAN (TrainedGAN.save)
        gan/                    samples.png, training_curves.png, progress/ (written by train_gan)
        checkpoints/<key>/      training state; <key> hashes the training data and GAN config
        synthetic_samples/      the generated samples (all of them, before curation)
        validation_report/      report.html, report.json and its pictures
        augmented_dataset/      augmented.npz (or .parquet), tfds/<dataset>_augmented/1.0.0/
        downstream_evaluation/  report.md, report.json, plot.png

Relative roots are relative to the repository root, not to the current directory.
"""


from pathlib import Path

import dagster as dg

from pipelines.config import REPO_ROOT


def _repo_path(path: str) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else REPO_ROOT / p


class StorageRoot(dg.ConfigurableResource):
    """The folder every asset of the pipeline writes under (one subfolder per data set)."""

    root: str = "data/outputs"
    """Storage root; relative paths are relative to the repository root."""
    encoder_cache: str | None = None
    """Where validation caches its domain encoder; None: $GAN_AUGMENT_CACHE or ~/.cache/gan_augment."""

    @property
    def path(self) -> Path:
        return _repo_path(self.root)

    def dataset_dir(self, dataset: str) -> Path:
        """``<root>/<dataset>``: everything the pipeline writes for one data set."""
        return self.path / dataset

    def cache_dir(self) -> Path | None:
        return None if self.encoder_cache is None else _repo_path(self.encoder_cache)


class IncomingData(dg.ConfigurableResource):
    """The folder the sensor watches: new files in ``<root>/<dataset>/`` start a run."""

    root: str = "data/incoming"
    """Relative paths are relative to the repository root."""

    @property
    def path(self) -> Path:
        return _repo_path(self.root)
