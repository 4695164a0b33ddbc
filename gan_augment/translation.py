"""Unpaired domain translation as augmentation: `train_cyclegan(source, target)` →
`TrainedTranslator`, whose `translate` turns labelled images of a *source* domain (rendered,
simulated, another scanner) into images of the *target* domain, labels carried over.

A translator also answers ``sample(labels=...)`` like a `TrainedGAN` (source images of those
labels, translated), so `augment(target, translate_from=source)` fills a small labelled target
set with translated source images and judges them with the same gates and utility test.

Example:
    >>> import gan_augment as ga
    >>> translator = ga.train_cyclegan("rendered_digits", "digits", epochs=20)   # doctest: +SKIP
    >>> handwritten = translator.translate(ga.load_dataset("rendered_digits"))    # doctest: +SKIP
    >>> translator.save("rendered2digits.keras")                                   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from gan_augment._io import save_keras
from gan_augment._tfdata import without_autotune
from gan_augment.data.dataset import Dataset
from gan_augment.errors import DataError
from gan_augment.kinds import require_kind
from gan_augment.logs import progress

#: Default generator steps of a translation run (epochs are chosen to give about this many).
TRANSLATION_STEPS = 3000
#: Default batch size (halved until both domains hold at least one batch).
TRANSLATION_BATCH = 32
#: ``translate``'s directions: source → target (G) and target → source (F).
DIRECTIONS = ("a2b", "b2a")
#: Gradient steps of the frozen classifier of the semantic-consistency term.
SEMANTIC_STEPS = 500
#: Default weight of the semantic-consistency term.
SEMANTIC_WEIGHT = 1.0


@dataclasses.dataclass
class TranslationOptions:
    """Options of `train_cyclegan` (see its docstring); `None` means "from the data"."""

    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float = 2e-4
    cycle_weight: float = 10.0
    identity_weight: float | None = None
    pool_size: int = 50
    width: int | None = None
    blocks: int | None = None
    ema: bool = True
    loss: str = "least_squares"
    checkpoint_every: int | None = None
    semantic_weight: float = SEMANTIC_WEIGHT
    semantic_target_labels: bool = False

    #: The options that shape the networks (a checkpoint of other values is refused).
    ARCHITECTURE = ("cycle_weight", "identity_weight", "pool_size", "width", "blocks", "ema", "loss",
                    "semantic_weight", "semantic_target_labels")


class TrainedTranslator:
    """A trained `CycleGAN` between a labelled source domain (A) and a target domain (B).

    Attributes:
        model: the `CycleGAN`.
        history: per-epoch means of the training metrics.
        source: the source images (kept to answer `sample`; not saved with the model).
    """

    kind = "image"
    conditional = True
    columns = None

    def __init__(self, model: Any, history: dict[str, list[float]] | None = None,
                 source: Dataset | None = None) -> None:
        self.model = model
        self.history = history if history is not None else dict(model.metadata.get("history", {}))
        self.source = source
        self.options: dict[str, Any] = dict(model.metadata.get("options", {}))
        self.stop_reason: str = str(model.metadata.get("stop_reason", ""))

    # ------------------------------------------------------------------ facts
    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(self.model.metadata.get("class_names", ()))

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.model.image_shape)

    @property
    def steps_taken(self) -> int:
        return self.model.steps_taken

    # ------------------------------------------------------------------ translating
    def translate(self, dataset: Dataset, direction: str = "a2b", *, use_ema: bool = True) -> Dataset:
        """``dataset``'s images translated (``"a2b"``: source → target, ``"b2a"``: back), with
        their labels; the provenance says ``translated``.

        Example:
            >>> translator.translate(load_dataset("rendered_digits", per_class=10))  # doctest: +SKIP
        """
        require_kind(dataset, "image", what="translation")
        if direction not in DIRECTIONS:
            raise DataError(f"Expected direction in {list(DIRECTIONS)}. Received: direction={direction!r}.")
        if dataset.shape != self.sample_shape:
            raise DataError(f"Expected images of shape {self.sample_shape} (the translator's). Received: "
                            f"{dataset.shape}. Load them with image_size={self.sample_shape[:2]}.")
        x = self.model.translate(dataset.x, direction, use_ema=use_ema)
        return dataclasses.replace(dataset, x=x, provenance={
            **dataset.provenance, "translated": {"direction": direction, "steps": self.steps_taken}})

    def sample(self, n: int | None = None, *, labels: Any = None, seed: int | None = 0) -> Dataset:
        """Translated source images of the given ``labels`` (one per label, source images drawn
        at random per class, with replacement only when a class has fewer than asked for): the
        `TrainedGAN.sample` contract, so `augment` can use a translator like a GAN."""
        if self.source is None:
            raise DataError("Expected a translator that knows its source images to sample from. Received: "
                            "one loaded from a file; pass source= to load_translator.")
        from gan_augment.training import sample_labels

        labels = sample_labels(n, labels, self.class_names)
        seed = 0 if seed is None else int(seed)
        rng = np.random.default_rng([int(seed), 0x7A])
        picks = np.empty(len(labels), np.int64)
        for c in np.unique(labels):
            members = np.flatnonzero(self.source.y == c)
            if not len(members):
                raise DataError(f"Expected source images of class {self.class_names[c]!r} to translate. "
                                "Received: none in the source domain.")
            want = np.flatnonzero(labels == c)
            picks[want] = rng.choice(members, len(want), replace=len(want) > len(members))
        chosen = self.source.take(picks)
        out = self.translate(chosen)
        return dataclasses.replace(out, provenance={**out.provenance, "source": "translator", "seed": int(seed)})

    def label_agreement(self, dataset: Dataset | None = None, *, seed: int = 0) -> float:
        """Label preservation without target labels: the share of ``dataset``'s images (default:
        the source images) whose class a classifier of the labelled *source* domain predicts the
        same before and after translation.

        The classifier is the translator's frozen semantic classifier when it has one and it was
        trained on source labels only (the default), else one trained here on the source images
        (`SEMANTIC_STEPS` steps, seeded). With target labels, `validate`'s label_preservation gate
        (a judge trained on real target data) is the stricter figure.

        Example:
            >>> translator.label_agreement()  # doctest: +SKIP
            0.83
        """
        dataset = dataset if dataset is not None else self.source
        if dataset is None:
            raise DataError("Expected images to translate and judge. Received: none, and the translator "
                            "knows no source images; pass label_agreement(dataset).")
        classifier = self.model.semantic
        if classifier is None or self.options.get("semantic_target_labels"):
            if self.source is None:
                raise DataError("Expected the source images to train a source classifier on. Received: a "
                                "translator loaded without them; pass source= to load_translator.")
            classifier = _semantic_classifier(self.source, None, seed)
        translated = self.translate(dataset)

        def predict(x: np.ndarray) -> np.ndarray:
            return np.concatenate([np.asarray(classifier(x[i: i + 256], training=False)).argmax(1)
                                   for i in range(0, len(x), 256)])

        return float(np.mean(predict(dataset.x) == predict(translated.x)))

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike) -> Path:
        """Save as one ``.keras`` file (atomically); read it back with `load_translator`."""
        self.model.metadata["history"] = self.history
        return save_keras(self.model, path)

    def save_pictures(self, directory: str | os.PathLike, *, per_class: int = 4, seed: int = 0) -> dict[str, Path]:
        """``translations.png`` (per class: source | G(source) | F(G(source))) and
        ``training_curves.png`` in ``directory``."""
        from gan_augment.plots import save_history_plot, save_translation_grid

        directory = Path(directory)
        out: dict[str, Path] = {}
        if self.source is not None:
            rng = np.random.default_rng(seed)
            picks = np.concatenate([rng.permutation(np.flatnonzero(self.source.y == c))[:per_class]
                                    for c in range(self.source.num_classes)])
            a = self.source.take(picks)
            b = self.translate(a)
            back = self.translate(b, "b2a")
            out["translations"] = save_translation_grid(
                [a.x, b.x, back.x], directory / "translations.png", labels=a.y, class_names=a.class_names,
                titles=("A", "G(A)", "F(G(A))"))
        if self.history.get("d_loss"):
            out["curves"] = save_history_plot(self.history, directory / "training_curves.png",
                                              title="CycleGAN training")
        return out

    def __repr__(self) -> str:
        return (f"TrainedTranslator(shape={self.sample_shape}, classes={self.num_classes}, "
                f"steps={self.steps_taken}, source={self.model.metadata.get('source', '?')!r})")


def train_cyclegan(
    source: Dataset | str,
    target: Dataset | str,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    checkpoint_dir: str | os.PathLike | None = None,
    output_dir: str | os.PathLike | None = None,
    verbose: int = 1,
    **options: Any,
) -> TrainedTranslator:
    """Train a CycleGAN between a labelled ``source`` domain and a ``target`` domain and return
    the `TrainedTranslator`.

    With ``semantic_weight`` > 0 (CyCADA's semantic consistency) a CNN classifier is first
    trained (seeded, `SEMANTIC_STEPS` steps) on the labelled source images (as in CyCADA) and,
    only with ``semantic_target_labels=True`` and a target labelled with the same classes, on the
    target images too (so it knows the target style); frozen, it makes the translators keep each
    image's class (`CycleGAN`'s module doc). By default the target's labels are not used at all.

    Args:
        source, target: Datasets, or sources `load_dataset` reads (e.g. "rendered_digits",
            "digits"); images of one shape and channel count.
        epochs, batch_size: default: about `TRANSLATION_STEPS` steps of `TRANSLATION_BATCH`.
        seed: seeds weights, the pools, the batch order; the same seed gives the same run.
        checkpoint_dir: where the full state is saved every few epochs; a rerun resumes there.
        output_dir: where ``translations.png`` and ``training_curves.png`` go.
        **options: `TranslationOptions` fields (cycle_weight, identity_weight, pool_size, width,
            blocks, ema, learning_rate, loss, checkpoint_every, semantic_weight,
            semantic_target_labels).

    Example:
        >>> t = train_cyclegan("rendered_digits", load_dataset("digits"), epochs=5)  # doctest: +SKIP
    """
    from gan_augment.data.sources import load_dataset

    source = load_dataset(source) if isinstance(source, (str, os.PathLike)) else source
    target = load_dataset(target) if isinstance(target, (str, os.PathLike)) else target
    _check_domains(source, target)
    unknown = sorted(set(options) - {f.name for f in dataclasses.fields(TranslationOptions)})
    if unknown:
        raise TypeError(f"Unknown translation option(s) {unknown}. Expected some of: "
                        f"{[f.name for f in dataclasses.fields(TranslationOptions)]}.")
    opts = TranslationOptions(epochs=epochs, batch_size=batch_size, **options)
    n = max(len(source), len(target))
    if opts.batch_size is None:
        opts.batch_size = TRANSLATION_BATCH
        while opts.batch_size > 1 and opts.batch_size > min(len(source), len(target)):
            opts.batch_size //= 2
    steps_per_epoch = max(1, n // opts.batch_size)
    if opts.epochs is None:
        opts.epochs = int(max(1, math.ceil(TRANSLATION_STEPS / steps_per_epoch)))
    if opts.checkpoint_every is None:
        opts.checkpoint_every = max(1, opts.epochs // 10)
    fingerprint = {"kind": "translation", "shape": list(source.shape), "n_source": len(source),
                   "n_target": len(target), "seed": seed, "batch_size": opts.batch_size,
                   "learning_rate": opts.learning_rate,
                   **{k: getattr(opts, k) for k in TranslationOptions.ARCHITECTURE}}
    model = _build(source, target, opts, seed, total_steps=opts.epochs * steps_per_epoch)

    from gan_augment.callbacks import resume

    # A checkpoint written before the semantic term existed resumes when it is off.
    initial_epoch, history = resume(checkpoint_dir, model, fingerprint, verbose=verbose,
                                    defaults={"semantic_weight": 0.0, "semantic_target_labels": False})
    if initial_epoch < opts.epochs:
        _fit(model, source, target, opts, seed, initial_epoch, steps_per_epoch, history, fingerprint,
             checkpoint_dir, verbose)
    model.metadata.setdefault("stop_reason", f"already trained: the checkpoint holds all {opts.epochs} epochs")
    trained = TrainedTranslator(model, history, source)
    if output_dir is not None:
        for what, path in trained.save_pictures(output_dir, seed=seed).items():
            if verbose:
                progress(f"  {what}: {path}")
    return trained


def load_translator(path: str | os.PathLike, *, source: Dataset | str | None = None) -> TrainedTranslator:
    """Load a translator saved with `TrainedTranslator.save` (Keras safe mode: no code in the file
    runs). ``source``: the source images `sample` draws from (default: the built-in source it
    was trained on, when it has one; else `sample` is unavailable, `translate` works)."""
    from gan_augment.models import load_model
    from gan_augment.models.cyclegan import CycleGAN

    model = load_model(path, what="a translator saved by TrainedTranslator.save")
    if not isinstance(model, CycleGAN):
        raise DataError(f"Expected a translator (CycleGAN) in '{path}'. Received: {type(model).__name__}; "
                        "a GAN loads with load_gan.")
    return translator_for(model, source)


def translator_for(model: Any, source: Dataset | str | None = None) -> TrainedTranslator:
    """A loaded `CycleGAN` as a `TrainedTranslator`, with ``source`` (default: the source it was
    trained on, when that is a built-in name or a path that still exists) to draw `sample`'s
    images from."""
    from gan_augment.data.sources import list_sources, load_dataset

    meta = model.metadata
    if source is None and (meta.get("source") in list_sources() or Path(str(meta.get("source", ""))).exists()):
        source = load_dataset(meta["source"], **meta.get("source_options", {}))
    elif isinstance(source, (str, os.PathLike)):
        source = load_dataset(source)
    return TrainedTranslator(model, source=source)


# ---------------------------------------------------------------------- internals
def _check_domains(source: Any, target: Any) -> None:
    for name, ds in (("source", source), ("target", target)):
        require_kind(ds, "image", what=f"the {name} domain of a translation")
    if not source.labeled:
        raise DataError("Expected a labelled source domain (its labels are carried over). Received: y=None.")
    if source.shape[-1] != target.shape[-1]:
        raise DataError(f"Expected both domains with the same number of channels. Received: source "
                        f"{source.shape}, target {target.shape}. Convert one (e.g. grayscale → RGB).")
    if source.shape != target.shape:
        raise DataError(f"Expected both domains at one image size. Received: source {source.shape}, target "
                        f"{target.shape}. Load one with image_size={target.shape[:2]}.")
    if len(source) < 2 or len(target) < 2:
        raise DataError(f"Expected at least 2 images in each domain. Received: source {len(source)}, "
                        f"target {len(target)}.")


def _build(source: Dataset, target: Dataset, opts: TranslationOptions, seed: int, *, total_steps: int) -> Any:
    import keras

    from gan_augment.models.cyclegan import build_cyclegan

    semantic = (_semantic_classifier(source, target if opts.semantic_target_labels else None, seed)
                if opts.semantic_weight else None)
    keras.utils.set_random_seed(seed)  # weight initialisation follows the seed
    source_name = str(source.provenance.get("source", ""))
    metadata = {
        "class_names": list(source.class_names), "source": source_name,
        "source_options": {k: source.provenance[k] for k in ("per_class", "seed", "image_size")
                           if k in source.provenance},
        "target": str(target.provenance.get("source", "")), "options": dataclasses.asdict(opts),
    }
    model = build_cyclegan(source.shape, width=opts.width, blocks=opts.blocks, cycle_weight=opts.cycle_weight,
                           identity_weight=opts.identity_weight, pool_size=opts.pool_size,
                           total_steps=total_steps, ema=opts.ema, seed=seed, metadata=metadata,
                           semantic=semantic, semantic_weight=opts.semantic_weight)
    model.compile(loss=opts.loss, learning_rate=opts.learning_rate)
    return model


def _semantic_classifier(source: Dataset, target: Dataset | None, seed: int) -> Any:
    """The frozen classifier of the semantic term: `build_classifier_cnn` fitted (seeded,
    `SEMANTIC_STEPS` steps) on the source images and, when ``target`` is given and labelled with
    the source's classes, the target images, then cut to logits (images in [0, 1] → class logits)."""
    import keras

    from gan_augment.models.classifier import build_classifier_cnn, fit_classifier

    x, y = source.x, source.y
    if target is not None and target.labeled and tuple(target.class_names) == tuple(source.class_names):
        x, y = np.concatenate([x, target.x]), np.concatenate([y, target.y])
    keras.utils.set_random_seed(seed)
    cnn = build_classifier_cnn(source.shape, source.num_classes, name="semantic_cnn")
    fit_classifier(cnn, x, y, seed=seed, steps=SEMANTIC_STEPS)
    # The same last layer without its softmax: the loss takes logits.
    probabilities = cnn.get_layer("probabilities")
    head = keras.layers.Dense(source.num_classes, name="logits")
    logits = keras.Model(cnn.input, head(probabilities.input), name="semantic")
    head.set_weights(probabilities.get_weights())
    logits.trainable = False
    return logits


def _batches(source: Dataset, target: Dataset, batch_size: int, seed: int, first_epoch: int, epochs: int,
             steps: int, *, labels: bool = False) -> Any:
    """Unpaired batches ``(a, b)``, or ``(a, b, y_a)`` with ``labels`` (the semantic term): per
    epoch, a permutation of each domain (cycled when one is shorter), depending only on
    ``(seed, epoch)`` so a resumed run sees the same batches."""
    import tensorflow as tf

    a_all, b_all, y_all = source.x, target.x, np.asarray(source.y, np.int32)

    def epochs_of_batches() -> Any:
        for epoch in range(first_epoch, epochs):
            rng = np.random.default_rng([seed, epoch, 0xCC])
            need = steps * batch_size
            ia = np.resize(rng.permutation(len(a_all)), need)
            ib = np.resize(rng.permutation(len(b_all)), need)
            for s in range(steps):
                part = slice(s * batch_size, (s + 1) * batch_size)
                yield (a_all[ia[part]], b_all[ib[part]], *((y_all[ia[part]],) if labels else ()))

    spec = tf.TensorSpec((batch_size, *source.shape), tf.float32)
    signature = (spec, spec, *((tf.TensorSpec((batch_size,), tf.int32),) if labels else ()))
    return without_autotune(tf.data.Dataset.from_generator(epochs_of_batches, output_signature=signature).prefetch(2))


def _fit(model: Any, source: Dataset, target: Dataset, opts: TranslationOptions, seed: int, initial_epoch: int,
         steps_per_epoch: int, history: dict, fingerprint: dict, checkpoint_dir: Any, verbose: int) -> None:
    from gan_augment.callbacks import fit_game

    batches = _batches(source, target, opts.batch_size, seed, initial_epoch, opts.epochs, steps_per_epoch,
                       labels=bool(opts.semantic_weight))
    guard, seconds = fit_game(model, batches, epochs=opts.epochs, initial_epoch=initial_epoch,
                              steps_per_epoch=steps_per_epoch, history=history, checkpoint_dir=checkpoint_dir,
                              fingerprint=fingerprint, checkpoint_every=opts.checkpoint_every,
                              verbose=verbose, what="CycleGAN")
    done = len(history.get("d_loss", []))
    model.metadata["stop_reason"] = (guard.reason() if guard.tripped
                                     else f"reached epochs={opts.epochs} ({model.steps_taken} steps)")
    if verbose:
        progress(f"Trained CycleGAN epochs {initial_epoch + 1}–{done} "
                 f"({model.steps_taken} steps in all) in {seconds:.1f} s.")
