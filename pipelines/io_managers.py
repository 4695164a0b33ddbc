"""IO managers: how each asset's value is written under the storage root and read back.

Every output goes to ``<storage root>/<dataset>/<asset name>`` (a folder, or ``.keras`` for the
GAN) in the library's own formats, so what the pipeline writes is what `gan_augment` reads:

* `DatasetIOManager` — `Dataset`s and the `Splits` of the source: ``.npz`` for images,
  ``.parquet`` for tables (`gan_augment.export`), read back with `gan_augment.load_dataset`.
* `KerasModelIOManager` — the `TrainedGAN` as one ``.keras`` file (`TrainedGAN.save` /
  `gan_augment.load_gan`, safe mode).
* `UpscalerIOManager` — the `TrainedUpscaler` as ``upscaler/upscaler.keras``
  (`TrainedUpscaler.save` / `gan_augment.load_upscaler`, safe mode), or, for a partition
  without ``upscale``, a manifest that says so (read back as None).
* `ReportIOManager` — `ValidationReport` (``report.save``: HTML, JSON, pictures) and
  `DownstreamReport` (Markdown, JSON, plot).
* `AugmentedDatasetIOManager` — the `AugmentedDataset` as ``augmented.npz`` (or ``.parquet``) with
  its synthetic mask (True for every non-real sample), plus a TFDS directory for images
  (`gan_augment.export.export_tfds`); the manifest holds the counts of its real / classical /
  GAN parts, the GAN samples' loss weight and the utility gate's report (also ``utility.md``).

Each folder holds a ``manifest.json`` written last: it says what the folder holds, so a folder
without one (an interrupted write) is never read as complete. The IO managers set the ``path``
metadata of each output and embed the pictures they write.
"""


import base64
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np

from gan_augment.data.dataset import Dataset
from gan_augment.kinds import kind_of
from pipelines.resources import StorageRoot

MANIFEST = "manifest.json"
#: The upscaler's file inside its folder (`UpscalerIOManager`).
UPSCALER_FILE = "upscaler.keras"


@dataclasses.dataclass(frozen=True)
class Splits:
    """The real data, split three ways (stratified): ``train`` is what the GAN learns from,
    ``holdout`` the reference for validation baselines, ``test`` the downstream test set."""

    train: Dataset
    holdout: Dataset
    test: Dataset

    def parts(self) -> dict[str, Dataset]:
        return {"train": self.train, "holdout": self.holdout, "test": self.test}


# ---------------------------------------------------------------------- helpers
def png_markdown(path: str | os.PathLike, title: str = "") -> dg.MetadataValue:
    """A PNG embedded in Markdown metadata, which the Dagster UI shows as an image."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    heading = f"**{title}**\n\n" if title else ""
    return dg.MetadataValue.md(f"{heading}![{title}](data:image/png;base64,{data})")


def _write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temporary file next to it, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _read_manifest(folder: Path, expected: tuple[str, ...]) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(
            f"Expected a stored output at '{folder}' (with {MANIFEST}). Received: none; "
            "materialize the upstream asset for this data set first."
        )
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("type") not in expected:
        raise ValueError(f"Expected a stored {' or '.join(expected)} in '{folder}'. "
                         f"Received: {manifest.get('type')!r}.")
    return manifest


def _write_dataset(ds: Dataset, folder: Path, name: str, synthetic: np.ndarray | None = None) -> str:
    """Write ``ds`` as ``folder/name.npz`` (images) or ``.parquet`` (tables); the file name."""
    kind = kind_of(ds)
    return kind.export_samples(ds, folder / f"{name}{kind.sample_suffixes[0]}", synthetic=synthetic).name


def _read_dataset(path: Path, target: str | None) -> tuple[Dataset, np.ndarray | None]:
    from gan_augment.data.sources import load_dataset_and_mask

    options = {"target": target} if path.suffix == ".parquet" else {}
    return load_dataset_and_mask(path, **options)


def _table_target(ds: Dataset) -> str | None:
    return kind_of(ds).read_options(ds).get("target")


class _StorageIOManager(dg.ConfigurableIOManager):
    """Outputs live at ``<storage root>/<partition>/<asset name>``."""

    storage: dg.ResourceDependency[StorageRoot]

    def _location(self, context: dg.OutputContext | dg.InputContext) -> Path:
        if not context.has_asset_key:
            raise ValueError("Expected an asset output; these IO managers store assets only.")
        if not context.has_asset_partitions:
            raise ValueError(
                f"Expected a partitioned asset (one partition per data set). Received: "
                f"{context.asset_key.to_user_string()} without a partition."
            )
        return self.storage.dataset_dir(context.asset_partition_key) / context.asset_key.path[-1]


# ---------------------------------------------------------------------- Datasets
class DatasetIOManager(_StorageIOManager):
    """`Dataset` or `Splits` ↔ a folder of ``.npz`` (images) / ``.parquet`` (tables) files."""

    def handle_output(self, context: dg.OutputContext, obj: Dataset | Splits) -> None:
        folder = self._location(context)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MANIFEST).unlink(missing_ok=True)
        parts = obj.parts() if isinstance(obj, Splits) else {"data": obj}
        first = next(iter(parts.values()))
        files = {name: _write_dataset(ds, folder, name) for name, ds in parts.items()}
        _write_json(folder / MANIFEST, {
            "type": "splits" if isinstance(obj, Splits) else "dataset",
            "kind": first.kind, "target": _table_target(first), "files": files,
            "counts": {name: len(ds) for name, ds in parts.items()},
        })
        metadata: dict[str, Any] = {"path": dg.MetadataValue.path(str(folder))}
        preview = kind_of(first).preview_picture(first, folder / "preview.png")
        if preview is not None:
            what = "train split" if isinstance(obj, Splits) else "samples"
            classes = ", ".join(first.class_names)
            metadata["sample_grid"] = png_markdown(preview, f"{what}: one row per class ({classes})")
        rows = kind_of(first).preview_markdown(first)
        if rows is not None:
            metadata["preview"] = dg.MetadataValue.md(rows)
        context.add_output_metadata(metadata)

    def load_input(self, context: dg.InputContext) -> Dataset | Splits:
        folder = self._location(context)
        manifest = _read_manifest(folder, ("splits", "dataset"))
        loaded = {name: _read_dataset(folder / file, manifest.get("target"))[0]
                  for name, file in manifest["files"].items()}
        return Splits(**loaded) if manifest["type"] == "splits" else loaded["data"]


# ---------------------------------------------------------------------- Keras models
class KerasModelIOManager(_StorageIOManager):
    """`TrainedGAN` (or `TrainedTranslator`) ↔ ``<asset name>.keras`` (loaded in Keras safe mode)."""

    def _file(self, context: dg.OutputContext | dg.InputContext) -> Path:
        folder = self._location(context)  # checks that the context is a partitioned asset
        return saved_model_file(self.storage, context.asset_partition_key, folder.name)

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        path = obj.save(self._file(context))
        context.add_output_metadata({
            "path": dg.MetadataValue.path(str(path)),
            "file_size_kb": dg.MetadataValue.int(path.stat().st_size // 1024),
        })

    def load_input(self, context: dg.InputContext) -> Any:
        return load_saved_model(self._file(context))


def saved_model_file(storage: StorageRoot, partition: str, asset: str = "gan_model") -> Path:
    """Where `KerasModelIOManager` keeps ``asset`` of data set ``partition``; for a step that
    needs the model only sometimes (`assets.augmented_dataset` streams with it) and depends on it
    without loading it as an input."""
    return storage.dataset_dir(partition) / f"{asset}.keras"


def load_saved_model(path: Path) -> Any:
    """A `TrainedGAN`, or a `TrainedTranslator` for a translate_from partition (safe mode)."""
    from gan_augment.training import load_trained

    if not path.is_file():
        raise FileNotFoundError(f"Expected a saved GAN at '{path}'. Received: none; "
                                "materialize gan_model for this data set first.")
    return load_trained(path)


# ---------------------------------------------------------------------- the upscaler
class UpscalerIOManager(_StorageIOManager):
    """`TrainedUpscaler` ↔ ``upscaler/upscaler.keras`` (`TrainedUpscaler.save`, atomic; read with
    `gan_augment.load_upscaler` in Keras safe mode). ``None`` — a partition without ``upscale``
    in data/datasets.yaml — is stored as a manifest of type ``"none"`` and read back as None, so
    ``synthetic_samples`` can take the upscaler as an input on every partition."""

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        folder = self._location(context)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MANIFEST).unlink(missing_ok=True)
        if obj is None:
            (folder / UPSCALER_FILE).unlink(missing_ok=True)  # an upscaler of an earlier entry
            _write_json(folder / MANIFEST, {"type": "none", "reason": "no `upscale` in data/datasets.yaml"})
            context.add_output_metadata({"path": dg.MetadataValue.path(str(folder))})
            return
        path = obj.save(folder / UPSCALER_FILE)
        _write_json(folder / MANIFEST, {"type": "upscaler", "file": path.name, "scale": obj.scale,
                                        "channels": obj.channels, "steps": int(obj.steps_taken)})
        context.add_output_metadata({
            "path": dg.MetadataValue.path(str(path)),
            "file_size_kb": dg.MetadataValue.int(path.stat().st_size // 1024),
        })

    def load_input(self, context: dg.InputContext) -> Any:
        folder = self._location(context)
        manifest = _read_manifest(folder, ("upscaler", "none"))
        if manifest["type"] == "none":
            return None
        from gan_augment.super_resolution import load_upscaler

        return load_upscaler(folder / manifest["file"])


# ---------------------------------------------------------------------- reports
class ReportIOManager(_StorageIOManager):
    """`ValidationReport` (HTML + JSON + pictures) and `DownstreamReport` (Markdown + JSON + plot)."""

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        from gan_augment.downstream import DownstreamReport
        from gan_augment.validation.report import ValidationReport

        folder = self._location(context)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MANIFEST).unlink(missing_ok=True)
        metadata: dict[str, Any] = {}
        if isinstance(obj, ValidationReport):
            paths = obj.save(folder)
            kind, main = "validation", paths["html"]
            for key, title in (("synthetic_grid", "synthetic samples"),
                               ("rejected_grid", "rejected by curation (first 100)"),
                               ("histograms", "GX feature columns: real vs synthetic")):
                if key in paths:
                    metadata[key] = png_markdown(paths[key], title)
        elif isinstance(obj, DownstreamReport):
            _write_json(folder / "report.json", obj.to_dict())
            markdown = folder / "report.md"
            tmp = markdown.with_name(f".report.md.{os.getpid()}.tmp")
            tmp.write_text(str(obj) + "\n", encoding="utf-8")
            os.replace(tmp, markdown)
            plot = obj.save_plot(folder / "plot.png")
            kind, main = "downstream", markdown
            metadata["plot"] = png_markdown(plot, "accuracy and macro-F1 on the real test split")
        else:
            raise TypeError(f"Expected a ValidationReport or DownstreamReport. Received: {type(obj).__name__}.")
        _write_json(folder / MANIFEST, {"type": kind})
        metadata["path"] = dg.MetadataValue.path(str(main))
        context.add_output_metadata(metadata)

    def load_input(self, context: dg.InputContext) -> Any:
        folder = self._location(context)
        manifest = _read_manifest(folder, ("validation", "downstream"))
        text = (folder / "report.json").read_text(encoding="utf-8")
        if manifest["type"] == "validation":
            from gan_augment.validation.report import ValidationReport

            return ValidationReport.from_json(text)
        from gan_augment.downstream import DownstreamReport

        return DownstreamReport.from_dict(json.loads(text))


# ---------------------------------------------------------------------- augmented data + TFDS
class AugmentedDatasetIOManager(_StorageIOManager):
    """`AugmentedDataset` ↔ ``augmented.npz`` / ``augmented.parquet`` (real, then classical copies,
    then GAN samples, with a ``synthetic`` mask that is True for every non-real sample) and, for
    images, a TFDS directory ``tfds/<dataset>_augmented/1.0.0`` that
    ``tfds.builder_from_directory`` and ``gan_augment.load_dataset`` read.

    ``manifest.json`` records ``parts`` (``{"real": n, "classical": n, "synthetic": n}``, in file
    order: the sample ``i`` is real for ``i < real``, a classical copy for the next ``classical``
    ones, a GAN sample after them), ``synthetic_weight``, ``utility`` (`UtilityReport.to_dict`) and
    ``streamed`` (a plan above ``validation_sample``: the folder, relative to this one, holding the
    whole published set; the files above then hold the validated subsample).
    Folders written before these keys existed load as real + synthetic by the mask."""

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        folder = self._location(context)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MANIFEST).unlink(missing_ok=True)
        combined = obj.combined()
        written = kind_of(combined).export_augmented(obj, folder, f"{context.asset_partition_key}_augmented")
        file = written["augmented data"].name
        tfds_dir = written.get("TFDS dataset")
        utility = getattr(obj, "utility", None)
        manifest: dict[str, Any] = {
            "type": "augmented", "kind": combined.kind, "target": _table_target(combined),
            "file": file, "tfds": None if tfds_dir is None else str(tfds_dir.relative_to(folder)), "requested": list(obj.requested), "dropped": obj.dropped,
            "parts": {"real": len(obj.real), "classical": obj.n_classical, "synthetic": obj.n_synthetic},
            "synthetic_weight": float(obj.synthetic_weight),
            "utility": None if utility is None else utility.to_dict(),
            "streamed": None if obj.streamed is None else {
                "path": os.path.relpath(obj.streamed.path, folder), "total": obj.streamed.total,
                "synthetic": list(obj.streamed.synthetic)},
        }
        if utility is not None:
            text = f"{utility.verdict()}\n\n{utility.to_markdown()}\n"
            tmp = folder / f".utility.md.{os.getpid()}.tmp"
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, folder / "utility.md")
        else:
            (folder / "utility.md").unlink(missing_ok=True)
        metadata: dict[str, Any] = {"path": dg.MetadataValue.path(str(folder / file))}
        if tfds_dir is not None:
            metadata["tfds_directory"] = dg.MetadataValue.path(str(tfds_dir))
        if obj.streamed is not None:  # the whole published set; the files above hold the validated subsample
            metadata["streamed_directory"] = dg.MetadataValue.path(str(obj.streamed.path))
            if (obj.streamed.path / "dataset_info.json").is_file():
                metadata["tfds_directory"] = dg.MetadataValue.path(str(obj.streamed.path))
        _write_json(folder / MANIFEST, manifest)
        context.add_output_metadata(metadata)

    def load_input(self, context: dg.InputContext) -> Any:
        from gan_augment.generation import AugmentedDataset, StreamedSet

        folder = self._location(context)
        manifest = _read_manifest(folder, ("augmented",))
        data, mask = _read_dataset(folder / manifest["file"], manifest.get("target"))
        mask = np.zeros(len(data), bool) if mask is None else mask
        parts = manifest.get("parts")
        if parts is None:  # written before the utility gate: real + synthetic, by the mask
            real, classical = data.take(np.flatnonzero(~mask)), None
            synthetic = data.take(np.flatnonzero(mask)) if mask.any() else None
        else:
            n_real, n_classical = int(parts["real"]), int(parts["classical"])
            n_synthetic = int(parts["synthetic"])
            if n_real + n_classical + n_synthetic != len(data) or mask[:n_real].any() \
                    or not mask[n_real:].all():
                raise ValueError(
                    f"Expected {folder / manifest['file']} to hold {n_real} real, {n_classical} "
                    f"classical and {n_synthetic} synthetic samples in that order (manifest 'parts'). "
                    f"Received: {len(data)} samples, {int(mask.sum())} marked synthetic. "
                    "Re-materialize augmented_dataset.")
            bounds = np.cumsum([0, n_real, n_classical, n_synthetic])

            def part(i: int) -> Dataset | None:
                return data.take(np.arange(bounds[i], bounds[i + 1])) if bounds[i + 1] > bounds[i] else None

            real, classical, synthetic = part(0), part(1), part(2)
        utility = None
        if manifest.get("utility"):
            from gan_augment.utility import UtilityReport

            utility = UtilityReport.from_dict(manifest["utility"])
        streamed = manifest.get("streamed")
        return AugmentedDataset(
            real=real, synthetic=synthetic, classical=classical,
            requested=tuple(manifest.get("requested", ())),
            dropped=int(manifest.get("dropped", 0)),
            synthetic_weight=float(manifest.get("synthetic_weight", 1.0)),
            utility=utility,
            streamed=None if not streamed else StreamedSet(
                path=(folder / streamed["path"]).resolve(), total=int(streamed["total"]),
                synthetic=tuple(streamed["synthetic"])),
        )
