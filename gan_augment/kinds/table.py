"""Tables: a pandas frame of feature columns, a CTGAN-style conditional GAN with per-column
encoders, the `table_to_matrix` encoding and a gradient-boosting judge for the gates, SMOTE-like
classical augmentation, parquet / CSV files and a preview table."""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from gan_augment._tfdata import without_autotune
from gan_augment.errors import DataError
from gan_augment.kinds.base import DataKind, ValidationSpace, per_dataset

if TYPE_CHECKING:
    from gan_augment.data.dataset import Dataset

#: Default number of generator steps, critic steps per generator step and batch size. Wider
#: tables get more steps: ``TABLE_STEPS × columns / TABLE_STEPS_COLUMNS`` (at least
#: TABLE_STEPS, at most ``TABLE_MAX_STEPS``) — breast_cancer's 30 columns left the coverage gate
#: failing after 1500 steps and passing after 3000 (docs/BENCHMARKS.md).
TABLE_STEPS = 1500
TABLE_STEPS_COLUMNS = 15
TABLE_MAX_STEPS = 6000
TABLE_D_STEPS = 3
TABLE_BATCH = 500
#: Adam learning rate (bench/tabular.py: 5e-4 beat 2e-4 on marginals, correlations, C2ST and the
#: label fidelity of rare classes at 1500 steps).
TABLE_LEARNING_RATE = 5e-4
#: Weight of the generator's moment-matching term (`TabularGAN.moment_loss`). On fair (seed 0,
#: 1500 steps) 0 → 10 → 30 took the Fréchet distance from 0.66 to 0.14 and 0.14 (real-vs-real
#: 0.12) and the C2ST AUC from 0.74 to 0.62 and 0.54; 10 is the middle ground that let every
#: table of the benchmark pass its gates (docs/BENCHMARKS.md).
TABLE_MOMENT_WEIGHT = 10.0
#: An epoch is ``len(data) // batch_size`` steps, but at least this many (rows are drawn with
#: replacement, so an epoch is a bookkeeping unit; short epochs only add callback overhead).
TABLE_MIN_STEPS_PER_EPOCH = 50
#: Same-class neighbours considered by the SMOTE-like classical augmentation.
SMOTE_NEIGHBOURS = 5
#: Options of the image GAN that the table GAN does not have.
IMAGE_ONLY_OPTIONS = ("diffaugment", "spectral_norm", "mixed_precision", "discriminators", "aggregation",
                      "r1", "lecam", "bcr", "ada_target", "mode_seeking")


def table_steps(columns: int) -> int:
    """Default generator steps for a table with ``columns`` columns.

    Example:
        >>> table_steps(8), table_steps(30), table_steps(200)
        (1500, 3000, 6000)
    """
    return int(min(TABLE_MAX_STEPS, max(TABLE_STEPS, round(TABLE_STEPS * columns / TABLE_STEPS_COLUMNS))))


class TableKind(DataKind):
    name = "table"
    noun = "rows"
    sample_suffixes = (".parquet", ".csv")
    stream_formats = ("parquet",)
    default_classifier = "hgb"
    classifiers = ("logreg", "hgb", "svm")

    # ------------------------------------------------------------------ the container
    def check_payload(self, x: Any, frame: Any) -> int:
        if x is not None:
            raise DataError("A table Dataset takes `frame`, not `x`. Received: x=array.")
        if not isinstance(frame, pd.DataFrame):
            raise DataError(
                f"Expected a table as a pandas DataFrame. Received: frame of type {type(frame).__name__}.")
        if len(frame) == 0 or frame.shape[1] == 0:
            raise DataError(f"Expected a non-empty table. Received: frame.shape={frame.shape}.")
        return len(frame)

    def payload(self, dataset: Dataset) -> pd.DataFrame:
        return dataset.frame

    def content_bytes(self, dataset: Dataset) -> bytes:
        return pd.util.hash_pandas_object(dataset.frame, index=False).to_numpy().tobytes()

    def describe(self, dataset: Dataset) -> str:
        return f"columns={list(dataset.frame.columns)}"

    def align(self, part: Dataset, like: Dataset, name: str) -> Dataset:
        cols, want = list(part.frame.columns), list(like.frame.columns)
        if set(map(str, cols)) != set(map(str, want)) or len(cols) != len(want):
            raise DataError(f"Expected `{name}` rows with the real columns {want}. Received: columns {cols}.")
        return part if cols == want else dataclasses.replace(part, frame=part.frame[want])

    # ------------------------------------------------------------------ training
    def train_defaults(self, dataset: Dataset, opts: Any, given: dict[str, Any]) -> None:
        from gan_augment.models.tabular import DEFAULT_PAC

        for name in IMAGE_ONLY_OPTIONS:
            value = getattr(opts, name)
            unset = {"discriminators": 1, "aggregation": "mean"}.get(name)
            if value and value != unset:
                raise DataError(f"Expected {name} only for images. Received: {name}={value!r} for a table. "
                                "Remove it (the tabular GAN uses WGAN-GP and PacGAN instead).")
        opts.diffaugment = None
        if opts.loss is None:
            opts.loss = "wasserstein_gp"
        if opts.learning_rate is None:
            opts.learning_rate = TABLE_LEARNING_RATE
        if opts.d_steps is None:
            opts.d_steps = TABLE_D_STEPS
        if opts.pac is None:
            opts.pac = DEFAULT_PAC
        if opts.moment_weight is None:
            opts.moment_weight = TABLE_MOMENT_WEIGHT
        if isinstance(opts.moment_weight, bool) or not isinstance(opts.moment_weight, (int, float)) \
                or not opts.moment_weight >= 0:
            raise DataError(f"Expected moment_weight as a number >= 0 (0: off). Received: "
                            f"moment_weight={opts.moment_weight!r}.")
        opts.moment_weight = float(opts.moment_weight)
        if isinstance(opts.pac, bool) or not isinstance(opts.pac, int) or opts.pac < 1:
            raise DataError(f"Expected pac as an integer >= 1 (1: no packing). Received: pac={opts.pac!r}.")
        if opts.batch_size is None:
            opts.batch_size = TABLE_BATCH - TABLE_BATCH % opts.pac or opts.pac
        if opts.batch_size % opts.pac:
            lower = opts.batch_size - opts.batch_size % opts.pac
            raise DataError(
                f"Expected batch_size to be a multiple of pac={opts.pac} (the critic judges pac rows "
                f"at once). Received: batch_size={opts.batch_size}. Use {max(lower, opts.pac)} or "
                f"{lower + opts.pac}, or pass pac=1."
            )
        if opts.epochs is None:
            opts.epochs = int(max(1, math.ceil(table_steps(dataset.frame.shape[1])
                                               / self.steps_per_epoch(len(dataset), opts.batch_size))))

    def check_trainable(self, dataset: Dataset, opts: Any) -> None:
        from gan_augment.data.tables import check_trainable_table

        check_trainable_table(dataset, conditional=bool(opts.conditional))

    def steps_per_epoch(self, n: int, batch_size: int) -> int:
        return max(TABLE_MIN_STEPS_PER_EPOCH, n // batch_size)

    def build_options(self, dataset: Dataset, opts: Any, seed: int) -> dict[str, Any]:
        """Fits the per-column encoders on the real frame (seeded): they become part of the model."""
        from gan_augment.models.table_encoding import TableEncoder

        encoder = TableEncoder().fit(dataset.frame, seed=seed)
        sampler = _sampler(encoder, dataset, bool(opts.conditional))
        return {"encoder": encoder, "condition_counts": sampler.condition_counts(),
                "condition_weights": sampler.condition_weights(), "latent_dim": opts.latent_dim,
                "width": opts.width, "pac": opts.pac, "moment_weight": opts.moment_weight, "ema": opts.ema}

    def batches(self, gan: Any, dataset: Dataset, batch_size: int, seed: int, first_epoch: int,
                epochs: int, with_labels: bool) -> Any:
        """Training-by-sampling batches ``(encoded rows, conditional vectors)``."""
        import tensorflow as tf

        rows = gan.encoder.transform(dataset.frame, seed=seed)
        sampler = _sampler(gan, dataset, with_labels)
        steps = self.steps_per_epoch(len(dataset), batch_size)
        pad = gan.cond_dim - sampler.cond_dim  # a table with nothing to condition on gets one zero

        def batches() -> Any:
            for epoch in range(first_epoch, epochs):
                rng = np.random.default_rng([seed, epoch])
                for _ in range(steps):
                    idx, cond = sampler.sample(rng, batch_size)
                    yield rows[idx], (np.pad(cond, ((0, 0), (0, pad))) if pad else cond)

        signature = (tf.TensorSpec((batch_size, rows.shape[1]), tf.float32),
                     tf.TensorSpec((batch_size, gan.cond_dim), tf.float32))
        return without_autotune(tf.data.Dataset.from_generator(batches, output_signature=signature).prefetch(4))

    def sample(self, trained: Any, labels: np.ndarray | None, count: int, seed: int) -> Dataset:
        from gan_augment.data.dataset import Dataset

        frame = trained.model.sample_frame(labels, n=count, seed=seed)
        return Dataset(kind="table", frame=frame, y=labels,
                       class_names=trained.class_names if labels is not None else (),
                       target=trained.target, provenance={"source": "gan", "seed": seed},
                       class_dtype=trained.model.metadata.get("class_dtype"))

    def numeric(self, gan: Any, dataset: Dataset) -> np.ndarray:
        return np.asarray(gan.encoder.transform(dataset.frame, seed=0), np.float64)

    # ------------------------------------------------------------------ validation
    @property
    def thresholds(self) -> type:
        from gan_augment.validation.report import TableThresholds

        return TableThresholds

    def validation_space(self, real: Dataset, *, encoder: Any, seed: int, cache_dir: Any,
                         verbose: int) -> ValidationSpace:
        from gan_augment.validation.features import TableDomain

        if encoder is not None and not isinstance(encoder, TableDomain):
            raise DataError(f"Expected encoder=None or a TableDomain for tables. Received: {type(encoder).__name__}.")
        domain = encoder if encoder is not None else TableDomain.fit(real, seed=seed)
        columns = list(real.frame.columns)
        features = per_dataset(lambda d: domain.features(d.frame[columns]))
        return ValidationSpace(
            features=features, copies=features,
            predict=(lambda d: domain.predict(d.frame[columns])) if domain.classifier is not None else None,
            judge="A gradient-boosting classifier trained on the real rows",
            c2st_judge="gradient-boosting classifier", description=domain.description, class_matched=True,
            gx=lambda real, reference, synthetic, limits, seed: _gx_suite(
                real, reference, synthetic, int(np.random.SeedSequence(seed).generate_state(4)[1]),
                limits.gx_tolerance))

    def copy_space(self, real: Dataset) -> Callable[[Dataset], np.ndarray]:
        from gan_augment.data.matrix import table_to_matrix

        _, encoding = table_to_matrix(real.frame, None)
        return lambda d: np.asarray(table_to_matrix(d.frame, encoding)[0], np.float64)

    # ------------------------------------------------------------------ downstream
    def classical_augment(self, data: Dataset, rng: np.random.Generator, copies: int) -> Dataset:
        frame, y = _smote_like(data.frame, data.y, rng, copies)
        return dataclasses.replace(data, frame=frame, y=y)

    def classical_note(self, copies: int) -> str:
        return (f"real+classical: real + {copies} SMOTE-like rows per training row (interpolation "
                f"towards one of the {SMOTE_NEIGHBOURS} nearest same-class rows; non-numeric columns "
                "from either row), seeded per run.")

    def model_input(self, data: Dataset, encoding: Any) -> tuple[Any, Any]:
        from gan_augment.data.matrix import table_to_matrix

        return table_to_matrix(data.frame, encoding)

    def input_note(self) -> str | None:
        return ("tables: numbers median-imputed and standardised, other columns mode-imputed and "
                "one-hot encoded, fitted on each setting's training data.")

    # ------------------------------------------------------------------ files and pictures
    def export_samples(self, data: Dataset, path: Path, synthetic: np.ndarray | None = None) -> Path:
        from gan_augment.export import export_table

        return export_table(data, path, synthetic=synthetic)

    def export_augmented(self, result: Any, folder: Path, name: str) -> dict[str, Path]:
        return {"augmented data": result.export_parquet(folder / "augmented.parquet"),
                "augmented data (CSV)": result.export_csv(folder / "augmented.csv")}

    def read_options(self, data: Dataset) -> dict[str, Any]:
        return {"target": data.target or "target"}

    def preview_markdown(self, data: Dataset, per_class: int = 3) -> str | None:
        """The first ``per_class`` rows of every class, with the class column."""
        frame = data.frame
        if data.y is not None:
            rows = np.concatenate([np.flatnonzero(data.y == c)[:per_class] for c in range(data.num_classes)])
            frame = frame.iloc[rows].assign(**{data.target or "target": [data.class_names[c] for c in data.y[rows]]})
        else:
            frame = frame.head(per_class * 3)
        return frame.to_markdown(index=False, floatfmt=".4g")


def _sampler(gan_or_encoder: Any, dataset: Dataset, with_labels: bool) -> Any:
    """The training-by-sampling sampler of a table (see `TrainingSampler`)."""
    from gan_augment.models.table_encoding import TrainingSampler

    encoder = getattr(gan_or_encoder, "encoder", gan_or_encoder)
    blocks = encoder.condition_blocks()
    return TrainingSampler(encoder.condition_codes(dataset.frame), [b.size for b in blocks],
                           dataset.y if with_labels else None,
                           dataset.num_classes if with_labels else 0,
                           p_category=getattr(gan_or_encoder, "condition_rate", 1.0),
                           missing_last=encoder.condition_missing())


def _gx_suite(real: Dataset, reference: Dataset, synthetic: Dataset, seed: int,
              tolerance: float) -> tuple[dict[str, Any], dict[str, pd.DataFrame] | None]:
    """The GX suite of the real training rows (in the synthetic set's class mix) on the columns
    and the label's values, plus the exact column order; run on the synthetic and holdout rows.
    Also the numeric columns the report plots as histograms."""
    from gan_augment.data.columns import column_type
    from gan_augment.validation.expectations import derive_suite
    from gan_augment.validation.gx_gate import gx_result, gx_skipped, label_column, mix_matched

    columns = list(real.frame.columns)
    label = label_column(columns, real.target)
    rng = np.random.default_rng(seed)

    def with_label(ds: Dataset, idx: np.ndarray | None = None) -> pd.DataFrame:
        frame = ds.frame if idx is None else ds.frame.iloc[idx]
        frame = frame.reset_index(drop=True)
        if ds.y is not None:
            y = ds.y if idx is None else ds.y[idx]
            frame = frame.assign(**{label: pd.Categorical.from_codes(y, categories=list(ds.class_names))})
        return frame

    if synthetic.labeled and real.labeled:
        shares = np.bincount(synthetic.y, minlength=real.num_classes) / len(synthetic)
        t_real = with_label(real, mix_matched(real.y, shares, rng))
        t_ref = with_label(reference, mix_matched(reference.y, shares, rng))
    else:
        t_real, t_ref = with_label(real), with_label(reference)
    t_syn = with_label(synthetic)
    spec = derive_suite(t_real, name="real_table", skip_distribution=gx_skipped(t_real, [label], len(t_syn)),
                        tolerance=tolerance, n_compare=max(1, min(len(t_syn), len(t_ref))))
    spec.expectations.insert(2, {
        "type": "ExpectTableColumnsToMatchOrderedList",
        "kwargs": {"column_list": [str(c) for c in t_real.columns]},
        "why": "The columns come in the real order.",
    })
    numeric = [c for c in columns if column_type(real.frame[c]) == "numeric"][:16]
    tables = {"real": real.frame[numeric].astype("float64"),
              "synthetic": synthetic.frame[numeric].astype("float64")} if numeric else None
    return gx_result(spec, t_ref, t_syn), tables


def _smote_like(frame: pd.DataFrame, y: np.ndarray, rng: np.random.Generator,
                copies: int) -> tuple[pd.DataFrame, np.ndarray]:
    """``copies`` SMOTE-like rows per row: ``x + u * (neighbour - x)``, ``u ~ U(0, 1)``, towards one
    of the `SMOTE_NEIGHBOURS` nearest same-class rows (numeric columns; other columns taken from
    either row at random), in copy-major order."""
    from sklearn.neighbors import NearestNeighbors

    from gan_augment.data.matrix import is_numeric_column, numeric_values

    numeric = [c for c in frame.columns if is_numeric_column(frame[c])]
    other = [c for c in frame.columns if c not in numeric]
    num = np.column_stack([numeric_values(frame[c]) for c in numeric]) if numeric else None
    if num is not None:  # neighbour search space: median-imputed, standardised numbers
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns
            med = np.nan_to_num(np.nanmedian(num, axis=0))
        space = np.where(np.isnan(num), med, num)
        sd = space.std(axis=0)
        space = (space - space.mean(axis=0)) / np.where(sd > 1e-12, sd, 1.0)
    n = len(frame)
    partners = np.empty((n, copies), np.int64)
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        m = len(members)
        k = min(SMOTE_NEIGHBOURS, m - 1)
        if k < 1:  # a lone row: its copies are itself
            partners[members] = members[:, None]
        elif num is not None:
            nn = NearestNeighbors(n_neighbors=k + 1).fit(space[members])
            neigh = nn.kneighbors(space[members], return_distance=False)
            # drop each row itself (duplicates may put it anywhere among the first columns)
            neigh = np.array([[j for j in row if j != i][:k] for i, row in enumerate(neigh)])
            pick = rng.integers(0, k, (m, copies))
            partners[members] = members[np.take_along_axis(neigh, pick, axis=1)]
        else:  # no numeric column: any other row of the class
            pick = rng.integers(0, m - 1, (m, copies))
            own = np.arange(m)[:, None]
            partners[members] = members[np.where(pick >= own, pick + 1, pick)]
    # copy-major order, like the images: copy 1 of every row, then copy 2…
    base = np.tile(np.arange(n), copies)
    partner = partners.T.reshape(-1)
    new = frame.iloc[base].reset_index(drop=True).copy()
    if numeric:
        u = rng.uniform(0.0, 1.0, (len(base), 1))
        a, b = num[base], num[partner]
        # where the partner is missing a value, keep the row's own value
        mixed = np.where(np.isnan(b), a, a + u * (b - a))
        for j, col in enumerate(numeric):
            values = mixed[:, j]
            dtype = frame[col].dtype
            if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
                try:  # keep integer / boolean columns integer / boolean
                    new[col] = pd.Series(np.round(values)).astype(dtype)
                    continue
                except (TypeError, ValueError):  # missing values in a numpy int column
                    pass
            new[col] = values
    if other:
        take_partner = rng.random((len(base), len(other))) < 0.5
        partner_rows = frame.iloc[partner].reset_index(drop=True)
        for j, col in enumerate(other):
            new[col] = new[col].where(~take_partner[:, j], partner_rows[col])
    return new[list(frame.columns)], y[base].astype(np.int64)


KIND = TableKind()
