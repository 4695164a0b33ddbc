"""Streamed generation: `sample_to(gan, path, n)` generates in shards and writes each shard as
it goes, so a million samples need the memory of one shard, not of a million.

Formats (one folder per call):

* ``"tfds"`` (images, the default): a TensorFlow Datasets directory — TFRecord shards named and
  encoded as TFDS writes them (the features of `export.export_tfds`: ``image`` uint8, ``label``
  a ``ClassLabel``, ``synthetic`` True) and, once every shard is written, ``dataset_info.json``
  and ``features.json``; ``tfds.builder_from_directory(path)`` and ``load_dataset(path)`` read it.
* ``"npz"`` (images): ``shard-00000-of-00010.npz`` … in the layout of `export.export_npz` (each
  loads with ``load_dataset``) and ``index.json`` listing them.
* ``"parquet"`` (tables, the default): ``part-00000-of-00010.parquet`` … in the layout of
  `export.export_parquet` (one file, one row group per shard); ``pd.read_parquet(path)`` reads
  the folder (pyarrow skips ``_manifest.json``).

Every shard is written under a temporary name and renamed into place (`_io.atomic_path`), then
recorded in ``_manifest.json`` with the arguments of the call. A rerun with the same arguments
after a crash or a kill keeps the recorded shards and goes on with the next one. Shard ``i`` is
``gan.sample(count_i, labels=labels_i, seed=shard_seed(seed, i))``: each shard's seed derives from
(seed, i) only, so a resumed run writes the same bytes as an uninterrupted one (on the same
machine and TensorFlow build) and the same seed writes the same files.

Example:
    >>> from gan_augment.streaming import sample_to
    >>> out = sample_to(gan, "out/tfds_1m", 1_000_000, seed=0)  # doctest: +SKIP
    >>> import tensorflow_datasets as tfds
    >>> tfds.builder_from_directory(str(out)).info.splits["train"].num_examples  # doctest: +SKIP
    1000000
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from gan_augment._io import DIR_MODE, FILE_MODE, atomic_path
from gan_augment.errors import DataError
from gan_augment.kinds import kind_of
from gan_augment.logs import progress

__all__ = ["sample_to", "shard_seed"]

#: default shard size of images: about this many bytes of float32 samples per shard (10 000
#: images of 28×28), never more than `MAX_IMAGE_SHARD` images ...
IMAGE_SHARD_BYTES = 32 * 2**20
MAX_IMAGE_SHARD = 50_000
#: ... and of table rows.
TABLE_SHARD_ROWS = 100_000
#: images per call of the generator: its activations, not the shard, set the peak memory of a
#: TFDS run (28×28 on 2 CPU cores: peak RSS 117 MiB above the loaded model at 512, 219 MiB at
#: 1024, 72 MiB at 256; images/s the same within noise at 512 and 1024, ~10 % lower at 256).
BATCH_SIZE = 512
#: curation in a shard (`write_stream` with ``accept``): candidates per missing sample of a round,
#: and rounds before giving up
CURATION_OVERSAMPLE = 1.5
CURATION_ROUNDS = 8
#: the progress record of a folder being written (``_``: pyarrow and TFDS skip it).
MANIFEST = "_manifest.json"
NPZ_INDEX = "index.json"
TFDS_VERSION = "1.0.0"
TFDS_SPLIT = "train"
#: the manifest's layout; a manifest of another layout is not resumed.
LAYOUT = 1


def shard_seed(seed: int, index: int) -> int:
    """The seed of shard ``index`` of a run with ``seed`` (independent of the shard size and of
    the other shards, so any shard can be written again alone)."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, np.uint32)[0])


def sample_to(
    gan: Any,
    path: str | os.PathLike[str],
    n: int | None,
    *,
    labels: int | np.ndarray | list[int] | None = None,
    seed: int | None = None,
    shard_size: int | None = None,
    format: str | None = None,
    verbose: int = 1,
) -> Path:
    """Generate ``n`` samples of ``gan`` into the folder ``path``, one shard at a time.

    Memory stays at about one shard (TFDS: one batch of `BATCH_SIZE` images) whatever ``n``.
    A rerun with the same arguments resumes after the last finished shard; a finished folder is
    left as it is.

    Args:
        gan: a `TrainedGAN` (images or tables).
        path: the folder to write (created; it must be new, empty, or an earlier run of this call).
        n: how many samples (may be omitted when ``labels`` gives one label per sample).
        labels: as `TrainedGAN.sample`: ``None`` (classes in turn over the whole run), one class
            for all, or one label per sample; shard ``i`` gets its slice of them.
        seed: the run's seed (default: the training seed); shard ``i`` uses `shard_seed(seed, i)`.
        shard_size: samples per shard (default: about 32 MiB of float32 images, 10 000 of
            28×28; 100 000 table rows). Part of the arguments a resumed run must repeat.
        format: ``"tfds"`` (default) or ``"npz"`` for images, ``"parquet"`` for tables.
        verbose: 1: a line at the start, about every 10 % and at the end; 0: none.

    Returns:
        ``path``: for ``"tfds"`` the folder ``tfds.builder_from_directory`` reads.

    Example:
        >>> sample_to(gan, "out/digits_1m", 1_000_000, seed=0)              # doctest: +SKIP
        >>> sample_to(gan, "out/fives", 50_000, labels=5, format="npz")     # doctest: +SKIP
        >>> sample_to(table_gan, "out/rows", 1_000_000)                     # doctest: +SKIP
    """
    from gan_augment.training import TrainedGAN

    if not isinstance(gan, TrainedGAN):
        raise DataError(f"Expected a TrainedGAN (train_gan or load_gan). Received: gan of type "
                        f"{type(gan).__name__}; train or load a GAN first.")
    format = check_format(gan, format)
    plan = _Plan.make(gan, path, n, labels, seed, shard_size, format)
    return plan.run(verbose)


def check_format(gan: Any, format: str | None) -> str:
    """``format``, or the GAN kind's default stream format; `DataError` for one the kind has not."""
    kind = kind_of(gan)
    formats = kind.stream_formats
    if format is None and formats:
        format = formats[0]
    if format not in formats:
        raise DataError(f"Expected format in {list(formats)} for {kind.name} GANs. Received: format={format!r}; "
                        f"pass one of those (or omit it for {formats[0]!r}).")
    return format


def mixed_labels(counts: Any, seed: int | None) -> np.ndarray:
    """``counts[c]`` labels of each class ``c`` in a seeded random order, so that every shard
    `write_stream` writes holds all of them."""
    counts = np.asarray(counts, np.int64)
    return np.random.default_rng(seed).permutation(np.repeat(np.arange(len(counts)), counts))


def write_stream(gan: Any, path: str | os.PathLike[str], n: int, *, labels: Any = None, seed: int | None = None,
                 shard_size: int | None = None, format: str | None = None, real: Any = None,
                 accept: Callable[[Any], np.ndarray] | None = None, accept_key: str | None = None,
                 replace: bool = False, verbose: int = 1) -> Path:
    """`sample_to` with two additions for a streamed augmented data set (`augment_to`):

    * ``real``: a Dataset written first, as the first ``len(real)`` samples (flagged
      ``synthetic=False``), then the ``n`` generated ones;
    * ``accept``: curation per shard — ``accept(candidates) -> bool mask``; a shard generates
      candidates (rounds of fresh seeds derived from its own) until each of its labels has enough
      accepted ones, so a shard's bytes still depend only on (seed, shard index). ``accept_key``
      names the rule in the manifest (a resumed run must use the same one).

    ``replace=True``: a folder an earlier call with *other* arguments started is emptied and
    written again (a pipeline re-materializing its output) instead of refused.
    """
    format = check_format(gan, format)
    plan = _Plan.make(gan, path, n, labels, seed, shard_size, format, real=real, accept=accept,
                      accept_key=accept_key)
    plan.replace = replace
    return plan.run(verbose)


# ---------------------------------------------------------------------- the plan of a call
class _Plan:
    """What one call writes: the arguments, the shards (file, first sample, count), the labels of
    each shard, where each shard's samples come from (`chunks`: the real data first, if any, then
    the GAN, curated by ``accept`` if given), the writer of the format, and the manifest's identity
    of the call. ``n`` counts every sample written (real and generated)."""

    def __init__(self, gan: Any, directory: Path, generated: int, labels: Any, seed: int, shard_size: int,
                 format: str, real: Any = None, accept: Callable[[Any], np.ndarray] | None = None,
                 accept_key: str | None = None) -> None:
        self.gan, self.directory, self.seed = gan, directory, seed
        self.real, self.accept, self.accept_key = real, accept, accept_key
        self.n_real = 0 if real is None else len(real)
        self.n = self.n_real + generated
        self.shard_size, self.format = shard_size, format
        self.replace = False  # empty a folder started with other arguments instead of refusing it
        self.kind = kind_of(gan)
        self.labels = labels  # None, an int (one class) or an int64 array (one per generated sample)
        self.num_shards = math.ceil(self.n / shard_size)
        self.image_generator: _ImageGenerator | None = None  # set by the image formats' writers
        self.writer = WRITERS[format](self)
        self.files = [self.writer.filename(i) for i in range(self.num_shards)]

    @classmethod
    def make(cls, gan: Any, path: Any, n: Any, labels: Any, seed: Any, shard_size: Any, format: str, *,
             real: Any = None, accept: Callable[[Any], np.ndarray] | None = None,
             accept_key: str | None = None) -> _Plan:
        try:
            directory = Path(path).expanduser()
        except TypeError:
            raise DataError(f"Expected path as a folder path (str or Path). Received: path={path!r}; "
                            "pass e.g. 'out/samples'.") from None
        if directory.exists() and not directory.is_dir():
            raise DataError(f"Expected path to be a folder for the {format} shards. Received: {str(directory)!r} is a "
                            f"file; pass a new folder path (e.g. {str(directory.with_suffix(''))!r}_{format}).")
        if real is not None and n == 0 and labels is None:  # the real data alone
            n = 0
        else:
            labels, n = _check_labels(gan, n, labels)
        if seed is None:
            seed = gan.model.seed
        if not _is_int(seed) or seed < 0:
            raise DataError(f"Expected seed as an integer >= 0 (or None: the training seed). Received: seed={seed!r}.")
        if shard_size is None:
            shard_size = WRITERS[format].default_shard_size(gan)
        if not _is_int(shard_size) or shard_size < 1:
            raise DataError(f"Expected shard_size as an integer >= 1 (or None: the default). "
                            f"Received: shard_size={shard_size!r}.")
        return cls(gan, directory, int(n), labels, int(seed), int(shard_size), format, real=real, accept=accept,
                   accept_key=accept_key)

    # ------------------------------------------------------------------ shards
    def bounds(self, index: int) -> tuple[int, int]:
        start = index * self.shard_size
        return start, min(self.n, start + self.shard_size)

    def generated_bounds(self, index: int) -> tuple[int, int]:
        """The generated samples of shard ``index`` as positions among the generated ones."""
        start, stop = self.bounds(index)
        return max(start - self.n_real, 0), max(stop - self.n_real, 0)

    def shard_labels(self, index: int) -> np.ndarray | None:
        """The labels of the generated samples of shard ``index`` (``None`` for an unconditional GAN)."""
        if not self.gan.conditional:
            return None
        start, stop = self.generated_bounds(index)
        if self.labels is None:  # classes in turn, counted over the whole run
            return (np.arange(start, stop) % self.gan.num_classes).astype(np.int64)
        if isinstance(self.labels, np.ndarray):
            return self.labels[start:stop]
        return np.full(stop - start, self.labels, np.int64)

    def identity(self) -> dict[str, Any]:
        """What a resumed run must repeat (the manifest's ``call``)."""
        if self.labels is None:
            labels: Any = "classes in turn" if self.gan.conditional else None
        elif isinstance(self.labels, np.ndarray):
            labels = {"per_sample_sha256": hashlib.sha256(self.labels.tobytes()).hexdigest()}
        else:
            labels = int(self.labels)
        identity = {"layout": LAYOUT, "kind": self.kind.name, "format": self.format, "n": self.n, "seed": self.seed,
                    "shard_size": self.shard_size, "labels": labels, "model": _model_fingerprint(self.gan)}
        if self.real is not None:
            identity["real"] = {"count": self.n_real, "fingerprint": self.real.fingerprint()}
        if self.accept is not None:
            identity["curation"] = self.accept_key or "unnamed"
        return identity

    # ------------------------------------------------------------------ where samples come from
    def chunks(self, index: int) -> Iterator[tuple[Any, np.ndarray]]:
        """(Dataset, synthetic mask) pieces of shard ``index`` in order, at most `BATCH_SIZE`
        images each: its real samples, then its generated ones."""
        start, stop = self.bounds(index)
        for first in range(start, min(stop, self.n_real), BATCH_SIZE):
            part = self.real.take(np.arange(first, min(first + BATCH_SIZE, stop, self.n_real)))
            yield part, np.zeros(len(part), bool)
        low, high = self.generated_bounds(index)
        if high > low:
            count, seed, labels = high - low, shard_seed(self.seed, index), self.shard_labels(index)
            pieces = self.generate(count, labels, seed) if self.accept is None else \
                self._curated(count, labels, seed, index)
            for piece in pieces:
                yield piece, np.ones(len(piece), bool)

    def generate(self, count: int, labels: np.ndarray | None, seed: int) -> Iterator[Any]:
        """``gan.sample(count, labels=labels, seed=seed)`` as Datasets of at most `BATCH_SIZE` images
        (tables: one)."""
        from gan_augment.data.dataset import Dataset

        if self.image_generator is None:
            yield self.kind.sample(self.gan, labels, count, seed)
            return
        names = self.gan.class_names or None
        for images, part in self.image_generator.batches(count, labels, seed):
            yield Dataset.from_arrays(images, part, names, source="gan", seed=seed)

    def _curated(self, count: int, labels: np.ndarray | None, seed: int, index: int) -> Iterator[Any]:
        """``count`` samples with ``labels`` that ``accept`` takes: rounds of candidates (seeds from
        (seed, round)), the first accepted ones of each class in generation order."""
        classes = np.zeros(count, np.int64) if labels is None else np.asarray(labels, np.int64)
        need = np.bincount(classes, minlength=max(1, self.gan.num_classes))
        taken: list[list[Any]] = [[] for _ in need]
        have = np.zeros_like(need)
        generated = accepted = 0
        for round_ in range(CURATION_ROUNDS):
            missing = need - have
            if not missing.any():
                break
            ask = np.where(missing > 0, np.maximum(np.ceil(CURATION_OVERSAMPLE * missing), 8), 0).astype(np.int64)
            ask_labels = None if labels is None else np.repeat(np.arange(len(ask)), ask)
            round_seed = int(np.random.SeedSequence([seed, round_]).generate_state(1, np.uint32)[0])
            for piece in self.generate(int(ask.sum()), ask_labels, round_seed):
                ok = np.asarray(self.accept(piece), bool)
                generated, accepted = generated + len(piece), accepted + int(ok.sum())
                piece_classes = np.zeros(len(piece), np.int64) if labels is None else np.asarray(piece.y, np.int64)
                for c in np.unique(piece_classes):
                    rows = np.flatnonzero(ok & (piece_classes == c))[: need[c] - have[c]]
                    if len(rows):
                        taken[c].append(piece.take(rows))
                        have[c] += len(rows)
        if (have < need).any():
            short = {self.gan.class_names[c] if self.gan.class_names else "all": int(need[c] - have[c])
                     for c in np.flatnonzero(have < need)}
            raise DataError(f"Expected curation to accept enough samples for shard {index}. Received: "
                            f"{accepted} of {generated} candidates accepted in {CURATION_ROUNDS} rounds, "
                            f"{short} still missing; train the GAN longer, or write without curation.")
        order = np.argsort(classes, kind="stable")  # the planned positions, class by class
        parts = [piece for class_pieces in taken for piece in class_pieces]
        shard = parts[0].concat(*parts[1:])
        shard = shard.take(np.argsort(order, kind="stable"))  # back to the planned label order
        for first in range(0, count, BATCH_SIZE):
            yield shard.take(np.arange(first, min(first + BATCH_SIZE, count)))

    # ------------------------------------------------------------------ the run
    def run(self, verbose: int) -> Path:
        """Write the shards not written yet, then what follows them; a full or read-only disk
        raised by a writer that names no file (TFDS's, TensorFlow's) is one `StorageError` naming
        the folder."""
        from gan_augment.export import storage_errors

        with storage_errors(self.directory):
            return self._run(verbose)

    def _run(self, verbose: int) -> Path:
        identity = self.identity()
        manifest = self._open(identity)
        done = self._finished(manifest)
        noun = self.kind.noun
        if len(done) == self.num_shards and manifest.get("complete"):
            if verbose:
                progress(f"{self.directory} already holds all {self.n} {noun} of this call; nothing to do.")
            return self.directory
        kept = sum(self.bounds(i)[1] - self.bounds(i)[0] for i in done)
        if verbose:
            progress(f"Generating {self.n} {noun} into {self.directory} ({self.format}, {self.num_shards} "
                     f"shard{'s' * (self.num_shards != 1)} of {self.shard_size})"
                     + (f"; resuming: {len(done)} finished shards ({kept} {noun}) kept." if done else "."))
        start_time = time.perf_counter()
        written, reported = 0, -1
        for index in range(self.num_shards):
            if index in done:
                continue
            start, stop = self.bounds(index)
            target = self.directory / self.files[index]
            self.writer.write(index, target)
            manifest["shards"][str(index)] = {"file": self.files[index], "count": stop - start,
                                              "bytes": target.stat().st_size, "sha256": _sha256(target)}
            manifest["complete"] = False
            _write_json(self.directory / MANIFEST, manifest)
            done.add(index)
            written += stop - start
            _shard_written(index)
            if verbose:
                total = kept + written
                decile = 10 * total // self.n
                if decile > reported or total == self.n:
                    reported = decile
                    seconds = time.perf_counter() - start_time
                    progress(f"  {total}/{self.n} {noun} ({100 * total / self.n:.0f} %), shard {index + 1}/"
                             f"{self.num_shards}, {written / max(seconds, 1e-9):.0f} {noun}/s")
        self.writer.finish(manifest)
        manifest["complete"] = True
        _write_json(self.directory / MANIFEST, manifest)
        if verbose:
            seconds = time.perf_counter() - start_time
            progress(f"Wrote {written} {noun} in {seconds:.1f} s; {self.directory} holds all {self.n}.")
        return self.directory

    def _open(self, identity: dict[str, Any]) -> dict[str, Any]:
        """The manifest of the folder: a new one (new or empty folder) or the earlier run's (same
        arguments); leftovers of a killed write are removed."""
        directory = self.directory
        manifest_path = directory / MANIFEST
        if directory.is_dir() and manifest_path.exists():
            try:
                manifest = json.loads(manifest_path.read_text())
                earlier = manifest["call"]
                manifest["shards"] = dict(manifest["shards"])
            except (ValueError, KeyError, TypeError):
                raise DataError(f"Expected {manifest_path} as written by sample_to. Received: a file it cannot read; "
                                "delete the folder (or pass a new path) to start again.") from None
            if earlier != identity and self.replace:
                shutil.rmtree(directory)
                return self._open(identity)
            if earlier != identity:
                changed = ", ".join(f"{key}={earlier.get(key)!r} then, {identity[key]!r} now" for key in identity
                                    if earlier.get(key) != identity[key])
                raise DataError(f"Expected the arguments of the run that started {directory} to resume it. Received: "
                                f"{changed}; pass the same arguments, or a new path (or delete the folder).")
            self._remove_leftovers()
            return manifest
        if directory.is_dir() and any(not entry.name.startswith(f".{MANIFEST}.") for entry in directory.iterdir()):
            raise DataError(f"Expected a new or empty folder (or one sample_to started). Received: {str(directory)!r} "
                            f"holds other files and no {MANIFEST}; pass a new path or empty the folder.")
        directory.mkdir(parents=True, exist_ok=True)
        self._remove_leftovers()  # of a run killed while it wrote its first manifest
        manifest = {"call": identity, "shards": {}, "complete": False}
        _write_json(manifest_path, manifest)
        return manifest

    def _finished(self, manifest: dict[str, Any]) -> set[int]:
        """The shards recorded and still in place (same size)."""
        done = set()
        for key, entry in manifest["shards"].items():
            index = int(key) if str(key).isdigit() else -1
            if not 0 <= index < self.num_shards:
                continue
            target = self.directory / self.files[index]
            if entry.get("file") == self.files[index] and target.is_file() and target.stat().st_size == entry["bytes"]:
                done.add(index)
        manifest["shards"] = {str(i): manifest["shards"][str(i)] for i in sorted(done)}
        return done

    def _remove_leftovers(self) -> None:
        """Temporary files (and metadata staging folders) a killed run left behind."""
        names = (*self.files, MANIFEST, NPZ_INDEX, *TFDS_METADATA)
        for entry in self.directory.iterdir():
            if entry.name.startswith(_STAGING_PREFIX) and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.name.startswith(".") and any(entry.name.startswith(f".{name}.") for name in names):
                entry.unlink(missing_ok=True)


def _shard_written(index: int) -> None:
    """Called after shard ``index`` is in place and recorded in the manifest (a test makes it raise
    to stop a run there, as a kill would)."""


# ---------------------------------------------------------------------- writers
class _ImageGenerator:
    """The image GAN's sampling generator as one compiled function (traced once for any batch
    size), mapping to [0, 1] as `ConditionalGAN.generate` does, with identical images. On 2 busy
    CPU cores the forward pass of a 28×28 generator is compute-bound: compiled against eager
    calls measured 0.8–1.3× (noise; bench/scale.py --generator). A model with another
    ``generate`` is asked through it."""

    def __init__(self, model: Any) -> None:
        import tensorflow as tf

        from gan_augment.models.gan import ConditionalGAN

        self.model = model
        self.fn: Callable[..., Any] | None = None
        if type(model).generate is not ConditionalGAN.generate:
            return
        net = model._sampling_generator(True)
        z_spec = tf.TensorSpec([None, model.latent_dim], tf.float32)
        if model.num_classes:
            self.fn = tf.function(lambda z, y: net([z, y], training=False),
                                  input_signature=[z_spec, tf.TensorSpec([None], tf.int32)])
        else:
            self.fn = tf.function(lambda z: net(z, training=False), input_signature=[z_spec])

    def __call__(self, z: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        if self.fn is None:
            return self.model.generate(z, labels)
        if self.model.num_classes:
            out = self.fn(z, np.asarray(labels, np.int32))
        else:
            out = self.fn(z)
        images = np.asarray(out.numpy(), np.float32)
        return np.clip((images + 1.0) / 2.0, 0.0, 1.0)

    def batches(self, count: int, labels: np.ndarray | None, seed: int) -> Iterator[tuple[np.ndarray, Any]]:
        """(images, labels) of one shard, `BATCH_SIZE` at a time: the noise of
        ``gan.sample(count, labels=labels, seed=seed)``."""
        z = np.random.default_rng(seed).standard_normal((count, self.model.latent_dim)).astype(np.float32)
        for start in range(0, count, BATCH_SIZE):
            part = None if labels is None else labels[start : start + BATCH_SIZE]
            yield self(z[start : start + BATCH_SIZE], part), part


class _Writer:
    """Writes one format's shards (`write`, atomically) and what follows the last one (`finish`)."""

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan

    @staticmethod
    def default_shard_size(gan: Any) -> int:
        """Images: about `IMAGE_SHARD_BYTES` of float32 samples (a multiple of 1000 from 1000 on)."""
        per_sample = 4 * int(np.prod(gan.sample_shape))
        size = max(1, min(MAX_IMAGE_SHARD, IMAGE_SHARD_BYTES // per_sample))
        return size - size % 1000 if size >= 1000 else size

    def filename(self, index: int) -> str:
        raise NotImplementedError

    def write(self, index: int, target: Path) -> None:
        raise NotImplementedError

    def finish(self, manifest: dict[str, Any]) -> None:
        """After the last shard (the shards are all in place)."""

    def shard(self, index: int) -> tuple[Any, np.ndarray]:
        """The whole shard ``index`` as one Dataset (provenance: the run's seed and the shard)
        and its synthetic mask."""
        import dataclasses

        pieces = list(self.plan.chunks(index))
        data = pieces[0][0].concat(*(piece for piece, _ in pieces[1:]))
        source = "gan" if self.plan.real is None else "augmented"  # real samples first, then generated ones
        data = dataclasses.replace(data, provenance={"source": source, "seed": shard_seed(self.plan.seed, index),
                                                     "shard": index, "run_seed": self.plan.seed})
        return data, np.concatenate([mask for _, mask in pieces])


class _NpzWriter(_Writer):
    """`export_npz`'s layout per shard, written with fixed zip timestamps (the same bytes every
    time), and ``index.json``."""

    def __init__(self, plan: _Plan) -> None:
        super().__init__(plan)
        plan.image_generator = _ImageGenerator(plan.gan.model)
        self.width = max(5, len(str(plan.num_shards - 1)))

    def filename(self, index: int) -> str:
        return f"shard-{index:0{self.width}d}-of-{self.plan.num_shards:0{self.width}d}.npz"

    def write(self, index: int, target: Path) -> None:
        from gan_augment.export import npz_arrays

        data, synthetic = self.shard(index)
        arrays = npz_arrays(data, synthetic)
        del data
        with atomic_path(target) as tmp:
            _write_npz(tmp, arrays)

    def finish(self, manifest: dict[str, Any]) -> None:
        plan = self.plan
        index = {
            "format": "gan_augment npz shards", "count": plan.n, "sample_shape": list(plan.gan.sample_shape),
            "class_names": list(plan.gan.class_names) if plan.gan.conditional else None, "seed": plan.seed,
            "shards": [{"file": plan.files[i], "start": plan.bounds(i)[0],
                        "count": plan.bounds(i)[1] - plan.bounds(i)[0]} for i in range(plan.num_shards)],
        }
        _write_json(plan.directory / NPZ_INDEX, index)


class _ParquetWriter(_Writer):
    """`export_parquet`'s layout per shard (features, class column, ``_synthetic``)."""

    def __init__(self, plan: _Plan) -> None:
        super().__init__(plan)
        self.width = max(5, len(str(plan.num_shards - 1)))

    @staticmethod
    def default_shard_size(gan: Any) -> int:
        return TABLE_SHARD_ROWS

    def filename(self, index: int) -> str:
        return f"part-{index:0{self.width}d}-of-{self.plan.num_shards:0{self.width}d}.parquet"

    def write(self, index: int, target: Path) -> None:
        from gan_augment.export import export_parquet

        data, synthetic = self.shard(index)
        export_parquet(data, target, synthetic=synthetic)  # atomic


#: the files TFDS's metadata adds to a dataset directory (``dataset_info.json`` last: it marks
#: the directory complete)
TFDS_METADATA = ("features.json", "label.labels.txt", "dataset_info.json")
_STAGING_PREFIX = ".metadata-"


class _TfdsWriter(_Writer):
    """TFRecord shards as TFDS names, encodes and writes them (`export.tfds_features`, the
    features' ``serialize_example``, TFDS's TFRecord file adapter), then TFDS's metadata."""

    def __init__(self, plan: _Plan) -> None:
        super().__init__(plan)
        from tensorflow_datasets.core import example_serializer, naming

        from gan_augment.export import check_tfds_name, tfds_features

        self.name = _tfds_name(plan.directory)
        check_tfds_name(self.name)
        self.template = naming.ShardedFileTemplate(
            data_dir=plan.directory, template=naming.DEFAULT_FILENAME_TEMPLATE, dataset_name=self.name,
            split=TFDS_SPLIT, filetype_suffix="tfrecord")
        gan = plan.gan
        self.features = tfds_features(gan.sample_shape, gan.class_names if gan.conditional else None,
                                      synthetic=True)
        plan.image_generator = _ImageGenerator(gan.model)
        self.encode = _png_encoder(gan.sample_shape)
        self.serializer = example_serializer.ExampleSerializer(self.features.get_serialized_info())

    def serialize(self, example: dict[str, Any]) -> bytes:
        """``features.serialize_example(example)`` with the feature map of the ``tf.train.Example``
        in key order: TFDS writes it in hash-map order, which differs from one process to the next,
        so a run resumed in another process wrote other bytes than an uninterrupted one."""
        proto = self.serializer.get_tf_example(self.features.encode_example(example))
        return proto.SerializeToString(deterministic=True)

    def filename(self, index: int) -> str:
        return self.template.sharded_filepath(shard_index=index, num_shards=self.plan.num_shards).name

    def write(self, index: int, target: Path) -> None:
        from tensorflow_datasets.core import file_adapters

        from gan_augment.export import to_uint8

        serialize = self.serialize

        def examples() -> Iterator[tuple[int, bytes]]:
            key = 0
            for piece, synthetic in self.plan.chunks(index):
                for i, png in enumerate(self.encode(to_uint8(piece.x))):
                    example: dict[str, Any] = {"image": png, "synthetic": bool(synthetic[i])}
                    if piece.y is not None:
                        example["label"] = int(piece.y[i])
                    yield key, serialize(example)
                    key += 1

        with atomic_path(target) as tmp:
            file_adapters.TfRecordFileAdapter.write_examples(tmp, examples())

    def finish(self, manifest: dict[str, Any]) -> None:
        """``features.json``, ``label.labels.txt`` and ``dataset_info.json`` by TFDS's
        ``write_metadata``, written into a staging folder that holds empty files of the shards'
        names (with the split infos given and ``check_data=False`` it reads only the names), then
        moved next to the shards, ``dataset_info.json`` last."""
        import tensorflow_datasets as tfds

        from gan_augment.export import _quiet_logging

        plan = self.plan
        lengths = [plan.bounds(i)[1] - plan.bounds(i)[0] for i in range(plan.num_shards)]
        size = sum(int(manifest["shards"][str(i)]["bytes"]) for i in range(plan.num_shards))
        staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=plan.directory))
        os.chmod(staging, DIR_MODE)
        try:
            for file in plan.files:
                (staging / file).touch()
            with contextlib.redirect_stdout(io.StringIO()), _quiet_logging():
                tfds.folder_dataset.write_metadata(
                    data_dir=staging, features=self.features, version=TFDS_VERSION, check_data=False,
                    split_infos=[tfds.core.SplitInfo(name=TFDS_SPLIT, shard_lengths=lengths, num_bytes=size)],
                    description=(f"{plan.n} samples generated by gan_augment (sample_to) with seed {plan.seed} "
                                 f"from the model {manifest['call']['model']}."),
                    disable_shuffling=True)
            written = {p.name for p in staging.iterdir()} - set(plan.files)
            for name in sorted(written, key=lambda f: f == "dataset_info.json"):
                os.chmod(staging / name, FILE_MODE)
                os.replace(staging / name, plan.directory / name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        with contextlib.redirect_stdout(io.StringIO()), _quiet_logging():
            found = tfds.builder_from_directory(str(plan.directory)).info.splits[TFDS_SPLIT].num_examples
        if found != plan.n:  # pragma: no cover - a TFDS change
            raise RuntimeError(f"TFDS reads {found} examples in {plan.directory}, expected {plan.n}.")


WRITERS: dict[str, type[_Writer]] = {"tfds": _TfdsWriter, "npz": _NpzWriter, "parquet": _ParquetWriter}


# ---------------------------------------------------------------------- helpers
def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_labels(gan: Any, n: Any, labels: Any) -> tuple[Any, int]:
    """(labels as `_Plan` keeps them, n): ``TrainedGAN.sample``'s rules, checked once."""
    from gan_augment.training import sample_labels

    if n is not None and (not _is_int(n) or n < 1):
        raise DataError(f"Expected n as an integer >= 1 (samples to generate). Received: n={n!r}.")
    if not gan.conditional:
        if labels is not None:
            raise DataError("This GAN is unconditional (trained without labels). Received: labels=...; omit them.")
    elif labels is not None and np.ndim(labels) == 0:
        labels = int(sample_labels(1, labels, gan.class_names)[0])  # checks the class
    elif labels is not None:
        labels = sample_labels(n, labels, gan.class_names)
        n = len(labels)
        if n < 1:
            raise DataError("Expected at least one label. Received: labels=[]; pass n >= 1 labels or omit them.")
    if n is None:
        raise DataError("Expected n, the number of samples to generate. Received: n=None; pass e.g. n=100_000 "
                        "(or one label per sample as labels=).")
    return labels, int(n)


def _tfds_name(directory: Path) -> str:
    """A TFDS dataset name from the folder's name (snake_case, starting with a letter)."""
    name = re.sub(r"[^a-z0-9]+", "_", directory.name.lower()).strip("_")
    if not name:
        return "gan_samples"
    return name if name[0].isalpha() else f"gan_{name}"


def _png_encoder(shape: tuple[int, ...]) -> Callable[[np.ndarray], list[bytes]]:
    """uint8 images → PNG bytes, a batch per call of one compiled function: the bytes of TFDS's
    own ``Image`` encoding (``tf.image.encode_png``), about 10× faster than TFDS encoding one
    image per call."""
    import tensorflow as tf

    fn = tf.function(lambda x: tf.map_fn(tf.image.encode_png, x, fn_output_signature=tf.string),
                     input_signature=[tf.TensorSpec([None, *shape], tf.uint8)])
    return lambda images: list(fn(images).numpy())


def _model_fingerprint(gan: Any) -> str:
    """A digest of what sampling depends on: the sampling generator's weights, the classes, the
    shape and (tables) the column encoders and the conditional-vector statistics."""
    import keras

    model = gan.model
    digest = hashlib.sha256()
    for weight in model._sampling_generator(True).weights:
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(weight)).tobytes())
    extra: dict[str, Any] = {"kind": gan.kind, "shape": list(gan.sample_shape), "classes": list(gan.class_names),
                             "latent_dim": int(model.latent_dim)}
    encoder = getattr(model, "encoder", None)
    if encoder is not None:
        extra["encoder"] = encoder.get_config()
    for name in ("condition_counts", "condition_rate", "condition_weights", "tau"):
        if hasattr(model, name):
            extra[name] = getattr(model, name)
    digest.update(json.dumps(extra, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]



def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_json(path: Path, value: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(value, indent=1, sort_keys=True))


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez_compressed`` with a fixed timestamp on every member (numpy stamps the current
    time, so the same arrays gave different bytes)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for key, value in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asanyarray(value), allow_pickle=False)
