"""The tabular GAN: a CTGAN-style conditional GAN for pandas DataFrames (TensorFlow backend).

One call of `TabularGAN.train_step` plays one round of the game on encoded rows (see
`gan_augment.models.table_encoding` for the per-column encoders and training-by-sampling):

    batch (real rows, conditional vectors)
      →  d_steps critic updates: z → G(z, cond) → activations (tanh for the normalized values,
         Gumbel-softmax for modes, categories and missingness) → PacGAN packing of
         [row, cond] → critic loss + gradient penalty
         (+ the auxiliary classifier's cross-entropy on the real rows' classes)
      →  one generator update: adversarial loss + cross-entropy between the generated category
         and the category the conditional vector asked for (+ the auxiliary classifier's
         cross-entropy between the class it sees in the generated row and the class asked for)
         (+ ``moment_weight`` × the moment-matching term: per class asked for, the means and
         covariances of the generated rows' values against the real rows', `moment_loss`)
      →  EMA of the generator  →  metrics d_loss, g_loss, cond_loss, aux_loss, [moment_loss,]
         d_real, d_fake

A generated row is ``[class one-hot, encoded columns]``: the class is generated like a categorical
column. The auxiliary classifier (CTAB-GAN, Zhao et al. 2021) reads the encoded columns only —
never the class block or the conditional vector — and is trained on real rows with the critic's
optimizer; it makes the generator's rows *look like* their class (label fidelity went from about
70 % to over 95 % on penguins' rare classes).

References: Xu et al. 2019 (CTGAN: mode-specific normalization, conditional generator,
training-by-sampling), Gulrajani et al. 2017 (WGAN-GP), Lin et al. 2018 (PacGAN), Jang et al. 2017
(Gumbel-softmax), Zhao et al. 2021 (CTAB-GAN: auxiliary classifier).

The fitted `TableEncoder` is part of the model's config (plain JSON), so a ``.keras`` file holds
everything needed to sample a DataFrame with the real schema, and loads with ``safe_mode=True``.

Example:
    >>> from gan_augment.models.table_encoding import TableEncoder
    >>> enc = TableEncoder().fit(frame)                                  # doctest: +SKIP
    >>> gan = build_table_gan((frame.shape[1],), 3, encoder=enc)         # doctest: +SKIP
    >>> gan.compile(loss="wasserstein_gp", d_steps=1)                    # doctest: +SKIP
    >>> gan.sample_frame(np.array([0, 1, 2]), seed=0)                    # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from gan_augment.errors import DataError
from gan_augment.models.base import GANBase, distributed_replica_context
from gan_augment.models.steps import apply_own_gradients, gradient_objective
from gan_augment.models.table_encoding import Span, TableEncoder

#: Default PacGAN pack size (CTGAN's default): the critic judges ``pac`` rows at once.
DEFAULT_PAC = 10
#: Width of the hidden layers of both networks (CTGAN: (256, 256)).
DEFAULT_WIDTH = 256
#: Gumbel-softmax temperature during training.
DEFAULT_TAU = 0.2
#: `value_projection`: the spread of a one-hot value is at least this, so a rare category does
#: not dominate the moment-matching term.
MIN_VALUE_SPREAD = 0.05
#: The image GAN's options, found (all off) in the configs of table GANs saved by earlier versions.
_IMAGE_GAN_OPTIONS = frozenset({"diffaugment", "extra_discriminators", "aggregation", "r1", "lecam",
                                "bcr", "ada_target", "mode_seeking"})


# ====================================================================== networks
def build_table_generator(data_dim: int, cond_dim: int, latent_dim: int, *, width: int = DEFAULT_WIDTH,
                          depth: int = 2, output_bias: np.ndarray | list[float] | None = None) -> keras.Model:
    """``[z, cond] -> raw outputs`` (pre-activation): residual blocks Dense → BatchNorm → ReLU
    whose outputs are concatenated to their inputs (CTGAN's generator).

    ``output_bias`` initialises the bias of the output layer (see `prior_logits`), so the
    untrained generator already draws every category, mode and missing value at its real rate.

    Example:
        >>> build_table_generator(12, 3, 16).output_shape
        (None, 12)
    """
    z = keras.Input((latent_dim,), name="z")
    cond = keras.Input((cond_dim,), name="cond")
    h = keras.layers.Concatenate(name="z_cond")([z, cond])
    for i in range(depth):
        out = keras.layers.Dense(width, name=f"dense_{i}")(h)
        out = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"bn_{i}")(out)
        out = keras.layers.ReLU(name=f"relu_{i}")(out)
        h = keras.layers.Concatenate(name=f"residual_{i}")([h, out])
    bias = "zeros" if output_bias is None else keras.initializers.Constant(
        [float(b) for b in np.asarray(output_bias, np.float64).reshape(-1)])
    raw = keras.layers.Dense(data_dim, bias_initializer=bias, name="raw")(h)
    return keras.Model([z, cond], raw, name="table_generator")


def prior_logits(encoder: TableEncoder, class_counts: list[int] | np.ndarray | None = None) -> np.ndarray:
    """Log-frequencies of the real data for every one-hot block of a generated row (class, modes,
    categories, missingness; 0 for the ``tanh`` values): the generator's initial output bias.

    Learning a rare category or a 1 % missing-value rate from random logits takes the generator
    many steps; starting from the real log-priors it only has to learn the dependencies.

    Example:
        >>> enc = TableEncoder().fit(pd.DataFrame({"k": ["a"] * 3 + ["b"]}))
        >>> np.round(np.exp(prior_logits(enc)), 2).tolist()
        [0.75, 0.25]
    """
    parts: list[np.ndarray] = []
    if class_counts is not None and len(class_counts):
        parts.append(_log_shares(np.asarray(class_counts, np.float64)))
    for span in encoder.spans:
        c = encoder.columns[span.column]
        if span.role == "value":
            parts.append(np.zeros(1))
        elif span.role == "mode":
            parts.append(_log_shares(np.asarray(c.weights, np.float64)))
        elif span.role == "missing":
            parts.append(_log_shares(np.array([1.0 - c.missing_rate, c.missing_rate])))
        else:
            parts.append(_log_shares(np.asarray(c.counts, np.float64)))
    return np.concatenate(parts) if parts else np.zeros(0)


def _log_shares(counts: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(_shares(counts), 1e-4))


def _leaky_mlp(x: Any, width: int, depth: int, dropout: float) -> Any:
    """``depth`` blocks Dense(width) → LeakyReLU(0.2) → Dropout (the critic's and the classifier's body)."""
    h = x
    for i in range(depth):
        h = keras.layers.Dense(width, name=f"dense_{i}")(h)
        h = keras.layers.LeakyReLU(0.2, name=f"leaky_relu_{i}")(h)
        if dropout:
            h = keras.layers.Dropout(dropout, name=f"dropout_{i}")(h)
    return h


def build_table_discriminator(data_dim: int, cond_dim: int, *, pac: int = DEFAULT_PAC, width: int = DEFAULT_WIDTH,
                              depth: int = 2, dropout: float = 0.5) -> keras.Model:
    """``packed rows -> score``: ``pac`` rows ``[row, cond]`` concatenated, then Dense →
    LeakyReLU(0.2) → Dropout blocks and a linear score (CTGAN's critic).

    Example:
        >>> build_table_discriminator(12, 3, pac=10).input_shape
        (None, 150)
    """
    x = keras.Input((pac * (data_dim + cond_dim),), name="packed_rows")
    score = keras.layers.Dense(1, name="score")(_leaky_mlp(x, width, depth, dropout))
    return keras.Model(x, score, name="table_critic")


def build_table_classifier(feature_dim: int, num_classes: int, *, width: int = DEFAULT_WIDTH,
                           depth: int = 2, dropout: float = 0.5) -> keras.Model:
    """``encoded columns -> class logits``: the auxiliary classifier (Dense → LeakyReLU → Dropout
    blocks), trained on real rows alongside the critic.

    Example:
        >>> build_table_classifier(12, 3).output_shape
        (None, 3)
    """
    x = keras.Input((feature_dim,), name="encoded_columns")
    logits = keras.layers.Dense(num_classes, name="class_logits")(_leaky_mlp(x, width, depth, dropout))
    return keras.Model(x, logits, name="table_classifier")


def build_table_gan(
    sample_shape: tuple[int, ...],
    num_classes: int = 0,
    *,
    encoder: TableEncoder | dict[str, Any],
    latent_dim: int = 64,
    width: int | None = None,
    pac: int | None = DEFAULT_PAC,
    tau: float = DEFAULT_TAU,
    condition_counts: list | None = None,
    condition_rate: float = 1.0,
    condition_weights: list[float] | None = None,
    aux_weight: float = 1.0,
    moment_weight: float = 0.0,
    ema: bool = True,
    seed: int = 0,
    metadata: dict[str, Any] | None = None,
) -> TabularGAN:
    """A `TabularGAN` for the table ``encoder`` was fitted on.

    Args:
        sample_shape: ``(n_columns,)`` of the table (checked against the encoder).
        num_classes: classes of the label (0: unconditional on the label).
        encoder: a fitted `TableEncoder` (or its ``get_config()``).
        latent_dim: size of z.
        width: hidden width of both networks (default 256).
        pac: PacGAN pack size (batch sizes must be multiples of it); 1 turns packing off.
        tau: Gumbel-softmax temperature during training.
        condition_counts: ``counts[c][j][v]`` of the real rows of class ``c`` with category ``v``
            in condition block ``j`` (`TrainingSampler.condition_counts`); sampling draws its
            conditions with these frequencies. ``None``: samples are conditioned on the class only.
        condition_rate: share of rows conditioned on a block as well (training and sampling).
        condition_weights: how often sampling asks each block (default: evenly, as training
            does; `TrainingSampler.condition_weights` favours the blocks tied to the class).
        aux_weight: weight of the auxiliary classifier's loss (0: no auxiliary classifier;
            unconditional GANs have none).
        moment_weight: weight of the moment-matching term (`moment_loss`): the generator's
            batch must have the real batch's means and covariances in value space (0: off).
        ema: sample from an exponential moving average of the generator's weights.
        seed: seeds the weights and the model's random stream.
        metadata: JSON-serializable facts saved with the model.

    Example:
        >>> gan = build_table_gan((2,), 2, encoder=TableEncoder().fit(frame))  # doctest: +SKIP
    """
    if not isinstance(encoder, TableEncoder):
        encoder = TableEncoder.from_config(encoder) if isinstance(encoder, dict) else encoder
    if not isinstance(encoder, TableEncoder) or not encoder.fitted:
        raise DataError("Expected encoder= a fitted TableEncoder for the tabular GAN. "
                        f"Received: encoder={encoder!r}.")
    if tuple(sample_shape) != (len(encoder.column_names),):
        raise DataError(
            f"Expected sample_shape=({len(encoder.column_names)},), one entry per column. "
            f"Received: sample_shape={tuple(sample_shape)}."
        )
    pac = _check_pac(pac)
    width = int(width or DEFAULT_WIDTH)
    cond_dim = condition_dim(encoder, num_classes)
    keras.utils.set_random_seed(seed)  # weight initialisation follows the seed
    generator = build_table_generator(row_dim(encoder, num_classes), cond_dim, latent_dim, width=width,
                                      output_bias=prior_logits(encoder, class_counts(condition_counts, num_classes)))
    critic = build_table_discriminator(row_dim(encoder, num_classes), cond_dim, pac=pac, width=width)
    classifier = (build_table_classifier(encoder.output_dim, num_classes, width=width)
                  if num_classes and aux_weight else None)
    return TabularGAN(generator, critic, latent_dim=latent_dim, num_classes=num_classes,
                      encoder=encoder, pac=pac, tau=tau, condition_counts=condition_counts,
                      condition_rate=condition_rate, condition_weights=condition_weights,
                      classifier=classifier, aux_weight=aux_weight, moment_weight=moment_weight,
                      ema=ema, seed=seed, metadata=metadata)


def class_counts(condition_counts: list | None, num_classes: int) -> list[int] | None:
    """Real rows per class from ``condition_counts[c][j][v]`` (any block sums to the class's
    rows); equal counts when no block is known; ``None`` for an unconditional GAN.

    Example:
        >>> class_counts([[[3, 1]], [[0, 2]]], 2), class_counts([], 2), class_counts(None, 0)
        ([4, 2], [1, 1], None)
    """
    if not num_classes:
        return None
    if condition_counts and condition_counts[0]:
        return [int(sum(group[0])) for group in condition_counts]
    return [1] * num_classes


def row_dim(encoder: TableEncoder, num_classes: int) -> int:
    """Width of a generated row: the class one-hot (when conditional) and the encoded columns."""
    return int(num_classes) + encoder.output_dim


def condition_dim(encoder: TableEncoder, num_classes: int) -> int:
    """Width of the conditional vector: classes plus the categories of every condition column
    (at least 1, so the networks always have a condition input)."""
    extra = sum(span.size for span in encoder.condition_blocks())
    return max(1, int(num_classes) + extra)


def _check_pac(pac: int | None) -> int:
    pac = 1 if pac is None else pac
    if isinstance(pac, bool) or not isinstance(pac, (int, np.integer)) or pac < 1:
        raise DataError(f"Expected pac as an integer >= 1 (1: no packing). Received: pac={pac!r}.")
    return int(pac)


# ====================================================================== the model
@keras.saving.register_keras_serializable(package="gan_augment")
class TabularGAN(GANBase):
    """A conditional tabular GAN: generator, PacGAN critic, fitted encoder, optional EMA.

    Takes from `GANBase` its seeded random stream (``state``), optimizers, EMA and common
    metrics; plays its own game (`train_step`) and samples rows. The critic's optimizer also
    trains the auxiliary ``classifier`` (the critic side of the game); the generator's optimizer
    only the generator.

    ``fit`` takes batches ``(encoded rows, conditional vectors)`` as made by
    `gan_augment.models.table_encoding.TrainingSampler` (the batch size must be a multiple of
    ``pac``).

    Example:
        >>> gan = build_table_gan((7,), 3, encoder=enc)       # doctest: +SKIP
        >>> gan.compile(loss="wasserstein_gp", d_steps=1)     # doctest: +SKIP
        >>> gan.fit(batches, epochs=100)                      # doctest: +SKIP
        >>> frame = gan.sample_frame(np.zeros(10, int))       # doctest: +SKIP
    """

    #: WGAN-GP by default; Adam(β₁ = 0.5, β₂ = 0.9) for both players as in CTGAN. The critic steps
    #: default to the loss's own (pass ``d_steps=1`` to `compile` for CTGAN's schedule). No mixed
    #: precision for tables: the networks are small and float32.
    DEFAULT_LOSS = "wasserstein_gp"
    ADAM_BETA_2 = 0.9
    NETWORKS = (*GANBase.NETWORKS, "classifier")

    def __init__(
        self, generator: keras.Model, discriminator: keras.Model, latent_dim: int, num_classes: int = 0,
        *,
        encoder: TableEncoder | dict[str, Any],
        pac: int = DEFAULT_PAC,
        tau: float = DEFAULT_TAU,
        condition_counts: list | None = None,
        condition_rate: float = 1.0,
        condition_weights: list[float] | None = None,
        classifier: keras.Model | None = None,
        aux_weight: float = 1.0,
        moment_weight: float = 0.0,
        ema: bool = True,
        ema_generator: keras.Model | None = None,
        **base_options: Any,
    ) -> None:
        """``seed``, ``metadata`` (see `build_table_gan`) and Keras's own options go to `GANBase`
        as they are."""
        super().__init__(generator, discriminator, latent_dim, num_classes, **base_options)
        self._track_ema_generator(ema, ema_generator)
        self.encoder = encoder if isinstance(encoder, TableEncoder) else TableEncoder.from_config(encoder)
        self.pac = _check_pac(pac)
        self.tau = float(tau)
        k = self.num_classes
        self.data_dim = row_dim(self.encoder, k)
        self.cond_dim = condition_dim(self.encoder, k)
        # A row is [class one-hot, encoded columns]: the class is generated like any categorical
        # column, so the cross-entropy term and the critic both tie the row to its class.
        label = (Span(0, k, "softmax", -1, "label"),) if k else ()
        self._spans: tuple[Span, ...] = label + tuple(
            dataclasses.replace(s, start=s.start + k) for s in self.encoder.spans)
        # (start in the row, size, offset in the conditional vector) of the class and each block
        layout, offset = ([(0, k, 0)] if k else []), k
        for span in self.encoder.condition_blocks():
            layout.append((span.start + k, span.size, offset))
            offset += span.size
        self._cond_layout: tuple[tuple[int, int, int], ...] = tuple(layout)
        self._layout = _segment_layout(self._spans, self.data_dim, self._cond_layout, self.cond_dim)
        self.condition_rate = float(condition_rate)
        self.condition_counts = _check_counts(condition_counts, max(k, 1), [s for _, s, _ in layout[bool(k):]])
        blocks = len(layout) - bool(k)
        weights = np.full(blocks, 1.0 / max(blocks, 1)) if condition_weights is None else \
            np.asarray(condition_weights, np.float64)
        if weights.shape != (blocks,) or (weights < 0).any() or (blocks and not weights.sum() > 0):
            raise DataError(f"Expected condition_weights: {blocks} non-negative numbers. Received: {condition_weights}.")
        self.condition_weights = (weights / weights.sum()).tolist() if blocks else []
        self.classifier = classifier if self.num_classes else None
        self.aux_weight = float(aux_weight) if self.classifier is not None else 0.0
        self.cond_loss_tracker = keras.metrics.Mean(name="cond_loss")
        self.aux_loss_tracker = keras.metrics.Mean(name="aux_loss")
        self.moment_weight = float(moment_weight)
        if not self.moment_weight >= 0:
            raise DataError(f"Expected moment_weight >= 0. Received: moment_weight={moment_weight!r}.")
        self._values = value_projection(self.encoder, k, class_counts(self.condition_counts, k))
        self.moment_loss_tracker = keras.metrics.Mean(name="moment_loss")

    def _critic_networks(self) -> list[keras.Model]:
        """The critic and the auxiliary classifier (when there is one)."""
        return [self.discriminator, *([self.classifier] if self.classifier is not None else [])]

    def _loss_metrics(self) -> list[keras.metrics.Metric]:
        moment = [self.moment_loss_tracker] if self.moment_weight else []
        return [self.cond_loss_tracker, self.aux_loss_tracker, *moment]

    # ------------------------------------------------------------------ the game
    def train_step(self, data: Any) -> dict[str, tf.Tensor]:
        real, cond = data
        cond = tf.cast(cond, tf.float32)
        real = tf.cast(real, tf.float32)
        if self.num_classes:  # the real row's class is the one its conditional vector names
            real = tf.concat([cond[:, : self.num_classes], real], axis=1)
        batch = tf.shape(real)[0]
        seed = self._step_seed()
        self._reseed_dropout(seed)
        real_packed = self._pack(real, cond)

        for i in range(self.d_steps):
            s = self._part_seeds(seed, i, 3)
            z = self._noise(batch, s[0])
            with tf.GradientTape() as tape:
                fake = self._activate(self.generator([z, cond], training=True), s[1])
                d_loss, real_logits, fake_logits = self._adversarial_d_loss(
                    self._critic, real_packed, self._pack(fake, cond), s[2])
                aux_loss = self._aux_loss(real, cond)  # the classifier learns real rows' classes
                d_objective = gradient_objective(self.d_optimizer, d_loss + self.aux_weight * aux_loss)
            apply_own_gradients(self.d_optimizer, tape, d_objective, self.critic_variables)

        s = self._part_seeds(seed, -1, 2)
        z = self._noise(batch, s[0])
        with tf.GradientTape() as tape:
            raw = tf.cast(self.generator([z, cond], training=True), tf.float32)
            fake = self._activate(raw, s[1])
            g_logits = self._critic(self._pack(fake, cond))
            cond_loss = self._condition_loss(raw, cond)
            g_loss = self.loss_fn.g_loss(g_logits) + cond_loss
            if self.classifier is not None:  # the generated row must look like its class
                g_loss += self.aux_weight * self._aux_loss(fake, cond)
            if self.moment_weight:  # ... and each class the real batch's joint moments (per
                # class asked for: the label a sample gets)
                moment_loss = self.moment_loss(real, fake, cond[:, : self.num_classes] if self.num_classes else None)
                g_loss += self.moment_weight * moment_loss
            g_objective = gradient_objective(self.g_optimizer, g_loss)
        apply_own_gradients(self.g_optimizer, tape, g_objective, self.generator.trainable_variables)

        self.cond_loss_tracker.update_state(cond_loss)
        self.aux_loss_tracker.update_state(aux_loss)
        if self.moment_weight:
            self.moment_loss_tracker.update_state(moment_loss)
        return self._end_step(d_loss, g_loss, real_logits, fake_logits)

    def _reseed_dropout(self, seed: tf.Tensor) -> None:
        """Dropout masks follow the model's own random stream: each dropout layer's seed is set
        from this step's seed, so a run restored from a checkpoint (which saves ``state``, not the
        layers' seed generators) draws the same masks as an uninterrupted one."""
        if distributed_replica_context() is not None:
            return  # mirrored seed states cannot be assigned per replica; the layers' own streams go on
        layers = [layer for net in self._critic_networks() for layer in net.layers
                  if isinstance(layer, keras.layers.Dropout)]
        for i, layer in enumerate(layers):
            value = tf.random.experimental.stateless_fold_in(seed, 1000 + i)
            layer.seed_generator.state.assign(tf.cast(value, layer.seed_generator.state.dtype))

    def _critic(self, packed: tf.Tensor) -> tf.Tensor:
        return tf.cast(self.discriminator(packed, training=True), tf.float32)

    def _aux_loss(self, rows: tf.Tensor, cond: tf.Tensor) -> tf.Tensor:
        """Cross-entropy of the auxiliary classifier on the encoded columns of ``rows`` (the class
        block left out) against the class of the conditional vector; 0 without a classifier."""
        if self.classifier is None:
            return tf.zeros([], tf.float32)
        k = self.num_classes
        logits = tf.cast(self.classifier(rows[:, k:], training=True), tf.float32)
        return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=cond[:, :k], logits=logits))

    def values(self, rows: tf.Tensor) -> tf.Tensor:
        """Rows ``[class one-hot, encoded columns]`` in *value space* (see `value_projection`):
        differentiable, so soft one-hots give expected values."""
        p = self._values
        linear, scale, alpha = tf.constant(p.linear), tf.constant(p.scale), tf.constant(p.alpha)
        return tf.matmul(rows, linear) + 4.0 * tf.matmul(rows, scale) * tf.matmul(rows, alpha)

    def moment_loss(self, real: tf.Tensor, fake: tf.Tensor, groups: tf.Tensor | None = None) -> tf.Tensor:
        """Mean squared difference of the means and covariances of ``real`` and ``fake`` rows in
        value space, standardized with the real data's statistics (`value_projection`), per group
        (``groups``: a (batch, k) one-hot, e.g. the class asked for; None: one group), weighted
        by the groups' shares of the batch.

        The real and fake rows of a batch share their conditional vectors, so their moments per
        class estimate the same distribution. Feature matching (Salimans et al. 2016) on the data
        itself, per class, as table-GAN's information loss (Park et al. 2018) does on the
        critic's features.
        """
        center, scale = tf.constant(self._values.center), tf.constant(self._values.spread)
        z_real, z_fake = (self.values(real) - center) / scale, (self.values(fake) - center) / scale
        if groups is None:
            groups = tf.ones([tf.shape(real)[0], 1], tf.float32)
        counts = tf.reduce_sum(groups, axis=0)  # rows per group (the same for real and fake)
        present = tf.cast(counts > 1, tf.float32)
        safe = tf.maximum(counts, 1.0)[:, None]

        def moments(z: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            mean = tf.matmul(groups, z, transpose_a=True) / safe                        # (k, F)
            second = tf.einsum("nk,nf,ng->kfg", groups, z, z) / safe[:, :, None]       # (k, F, F)
            return mean, second - mean[:, :, None] * mean[:, None, :]

        mean_real, cov_real = (tf.stop_gradient(m) for m in moments(z_real))
        mean_fake, cov_fake = moments(z_fake)
        per_group = (tf.reduce_mean(tf.square(mean_real - mean_fake), axis=1)
                     + tf.reduce_mean(tf.square(cov_real - cov_fake), axis=[1, 2]))
        weights = counts * present
        return tf.reduce_sum(per_group * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)

    def _pack(self, rows: tf.Tensor, cond: tf.Tensor) -> tf.Tensor:
        """PacGAN: ``pac`` consecutive ``[row, cond]`` vectors become one critic input."""
        return tf.reshape(tf.concat([rows, cond], axis=1), [-1, self.pac * (self.data_dim + self.cond_dim)])

    def _activate(self, raw: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        """tanh for normalized values, Gumbel-softmax (temperature ``tau``) for one-hot blocks."""
        raw = tf.cast(raw, tf.float32)
        u = tf.random.stateless_uniform(tf.shape(raw), seed=seed, minval=1e-6, maxval=1.0 - 1e-6)
        noisy = (raw - tf.math.log(-tf.math.log(u))) / self.tau
        soft = tf.exp(self._segment_log_softmax(noisy))
        return tf.where(tf.constant(self._layout["tanh"])[None, :], tf.tanh(raw), soft)

    def _segment_log_softmax(self, x: tf.Tensor) -> tf.Tensor:
        """log-softmax of every block of ``x`` (batch, row), all blocks at once (segment ops: a
        wide table has hundreds of blocks, and an op per block costs more than the arithmetic)."""
        segments = tf.constant(self._layout["segments"])
        count = int(self._layout["count"])
        xt = tf.transpose(x)
        top = tf.gather(tf.math.unsorted_segment_max(xt, segments, count), segments)
        shifted = xt - tf.stop_gradient(top)
        total = tf.gather(tf.math.unsorted_segment_sum(tf.exp(shifted), segments, count), segments)
        return tf.transpose(shifted - tf.math.log(total))

    def _condition_loss(self, raw: tf.Tensor, cond: tf.Tensor) -> tf.Tensor:
        """Mean over the batch of the cross-entropy between the category the conditional vector
        asks for and the generator's logits for that column (0 where nothing is asked)."""
        if not self._cond_layout:
            return tf.zeros([], tf.float32)
        asked = tf.matmul(cond, tf.constant(self._layout["cond_to_row"]))  # the ask, in row positions
        return -tf.reduce_mean(tf.reduce_sum(asked * self._segment_log_softmax(tf.cast(raw, tf.float32)), axis=1))

    # ------------------------------------------------------------------ sampling
    def conditions(self, labels: np.ndarray | None, n: int, rng: np.random.Generator) -> np.ndarray:
        """Conditional vectors for sampling, as in training: the class one-hot and (with
        probability ``condition_rate``) one category of one condition block, the block drawn with
        ``condition_weights`` and the category with the real frequencies of that class
        (``condition_counts``), so the blocks' distributions — category shares, missing values
        included — come out as in the real data."""
        cond = np.zeros((n, self.cond_dim), np.float32)
        k = self.num_classes
        groups = np.zeros(n, np.int64)
        if k:
            if labels is None:
                raise DataError("Expected labels for a conditional GAN. Received: labels=None.")
            groups = np.asarray(labels, np.int64)
            cond[np.arange(n), groups] = 1.0
        blocks = self._cond_layout[1:] if k else self._cond_layout
        if not blocks or not self.condition_counts:
            return cond
        asked = rng.random(n) < self.condition_rate
        which = rng.choice(len(blocks), size=n, p=self.condition_weights)
        for c in np.unique(groups):
            for j, (_, size, offset) in enumerate(blocks):
                at = np.flatnonzero(asked & (groups == c) & (which == j))
                counts = np.asarray(self.condition_counts[c][j], np.float64)
                if not len(at) or counts.sum() <= 0:
                    continue
                v = rng.choice(size, size=len(at), p=counts / counts.sum())
                cond[at, offset + v] = 1.0
        return cond

    def generate(  # type: ignore[override]
        self,
        z: np.ndarray,
        labels: np.ndarray | None = None,
        *,
        seed: int = 0,
        use_ema: bool = True,
        batch_size: int = 4096,
    ) -> np.ndarray:
        """Encoded rows (float32, hard one-hots; the encoder's layout, without the class block)
        for the noise ``z`` and ``labels``.

        Categories, modes and missingness are drawn from the generator's softmax with the
        Gumbel-max trick, seeded by ``seed`` (a category no real row of the class has is never
        drawn for it); values are ``tanh`` of the raw outputs.
        """
        net = self._sampling_generator(use_ema)
        z = np.asarray(z, np.float32)
        rng = np.random.default_rng(seed)
        cond = self.conditions(labels, len(z), rng)
        raws = [keras.ops.convert_to_numpy(net([tf.constant(z[i : i + batch_size]),
                                                tf.constant(cond[i : i + batch_size])], training=False))
                for i in range(0, len(z), batch_size)]
        raw = np.concatenate(raws).astype(np.float64) if raws else np.zeros((0, self.data_dim))
        raw = raw + self._class_support(labels, len(raw))
        gumbel = -np.log(-np.log(rng.uniform(1e-12, 1.0, raw.shape)))
        out = np.zeros_like(raw, dtype=np.float32)
        rows = np.arange(len(raw))
        for span in self._spans:
            block = raw[:, span.start : span.start + span.size]
            if span.activation == "tanh":
                out[:, span.start : span.start + span.size] = np.tanh(block)
            else:
                pick = (block + gumbel[:, span.start : span.start + span.size]).argmax(axis=1)
                out[rows, span.start + pick] = 1.0
        return out[:, self.num_classes :]

    def _class_support(self, labels: np.ndarray | None, n: int) -> np.ndarray:
        """(n, data_dim) additive logit mask: ``-inf`` at the categories of a condition block that
        no real row of the sample's class has (hlthg = good health never comes with hlthf =
        fair health in randhie), 0 elsewhere. A class's rows keep to the categories seen with it."""
        mask = np.zeros((n, self.data_dim))
        k = self.num_classes
        if not k or labels is None or not self.condition_counts:
            return mask
        labels = np.asarray(labels, np.int64)
        for c in np.unique(labels):
            rows = labels == c
            for j, (start, size, _) in enumerate(self._cond_layout[1:]):
                unseen = np.asarray(self.condition_counts[c][j]) == 0
                if unseen.any() and not unseen.all():
                    mask[np.ix_(rows, start + np.flatnonzero(unseen))] = -np.inf
        return mask

    def sample_frame(self, labels: np.ndarray | None = None, *, n: int | None = None, seed: int = 0,
                     use_ema: bool = True) -> pd.DataFrame:
        """A DataFrame with the real schema: one row per label (or ``n`` rows unconditionally).

        The same seed gives the same rows.

        Example:
            >>> frame = gan.sample_frame(np.repeat([0, 1], 5), seed=0)  # doctest: +SKIP
        """
        count = len(labels) if labels is not None else int(n or 0)
        rng = np.random.default_rng(seed)
        z = rng.standard_normal((count, self.latent_dim)).astype(np.float32)
        encoded = self.generate(z, labels, seed=int(rng.integers(2**31 - 1)), use_ema=use_ema)
        return self.encoder.inverse_transform(encoded)

    # ------------------------------------------------------------------ serialization
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(encoder=self.encoder.get_config(), pac=self.pac, tau=self.tau,
                      condition_counts=self.condition_counts, condition_rate=self.condition_rate,
                      condition_weights=self.condition_weights, aux_weight=self.aux_weight,
                      moment_weight=self.moment_weight)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TabularGAN:
        """The model of ``config``. Table GANs saved by earlier versions carry the image GAN's
        options in their config (all off); they are left out."""
        kept = {key: value for key, value in config.items() if key not in _IMAGE_GAN_OPTIONS}
        return super().from_config(kept)  # type: ignore[return-value]


def _segment_layout(spans: tuple[Span, ...], data_dim: int, cond_layout: tuple[tuple[int, int, int], ...],
                    cond_dim: int) -> dict[str, Any]:
    """Constants for the vectorized activations: a segment id per row position (each block one
    segment, each tanh value its own), the tanh mask, and the (cond_dim, data_dim) 0/1 matrix that
    moves a conditional vector's asks to the row positions they ask for."""
    segments = np.zeros(data_dim, np.int32)
    tanh = np.zeros(data_dim, bool)
    for i, span in enumerate(spans):
        segments[span.start : span.start + span.size] = i
        tanh[span.start : span.start + span.size] = span.activation == "tanh"
    cond_to_row = np.zeros((cond_dim, data_dim), np.float32)
    for start, size, offset in cond_layout:
        cond_to_row[np.arange(offset, offset + size), np.arange(start, start + size)] = 1.0
    return {"segments": segments, "tanh": tanh, "count": len(spans), "cond_to_row": cond_to_row}


class ValueProjection(NamedTuple):
    """See `value_projection`."""

    linear: np.ndarray
    scale: np.ndarray
    alpha: np.ndarray
    center: np.ndarray
    spread: np.ndarray


def value_projection(encoder: TableEncoder, num_classes: int = 0, counts: list[int] | None = None
                     ) -> ValueProjection:
    """Constant matrices ``(linear, scale, alpha)``, each (row width, features), that map a row
    ``[class one-hot, encoded columns]`` to its *values*,
    ``values = row @ linear + 4 · (row @ scale) · (row @ alpha)``, and each value's real
    ``(center, spread)`` (mean and standard deviation from the fitted encoder, at least
    ``MIN_VALUE_SPREAD``) to standardize them.

    A continuous column becomes one number, ``Σ_k p_k μ_k + 4 α Σ_k p_k σ_k`` (the decoding of
    its mode-specific normalization; exact for a hard mode one-hot), plus its missingness
    indicator; a categorical column of numbers without missing values becomes its number
    ``Σ_v p_v v``; any other categorical block, and the class, stays one-hot.

    Example:
        >>> enc = TableEncoder().fit(pd.DataFrame({"k": [1, 2, 2, 3]}))
        >>> linear, _, _, center, spread = value_projection(enc)
        >>> linear.ravel().tolist(), center.tolist(), [round(float(s), 3) for s in spread]
        ([1.0, 2.0, 3.0], [2.0], [0.707])
    """
    rows = row_dim(encoder, num_classes)
    # per value: ({row position: linear}, {row position: scale}, alpha position, (mean, std))
    values: list[tuple[dict[int, float], dict[int, float], int | None, tuple[float, float]]] = []
    shares = _shares(counts if counts else [1] * num_classes)
    values += [({c: 1.0}, {}, None, _bernoulli(shares[c])) for c in range(num_classes)]
    for span in encoder.spans:
        start = span.start + num_classes
        c = encoder.columns[span.column]
        if span.role == "value":
            continue
        if span.role == "mode":
            w, mu, sd = (np.asarray(v, np.float64) for v in (c.weights, c.means, c.stds))
            w = _shares(w)
            mean = float(w @ mu)
            values.append(({start + i: float(m) for i, m in enumerate(mu)},
                           {start + i: float(d) for i, d in enumerate(sd)}, start - 1,  # value span first
                           (mean, float(np.sqrt(max(w @ (sd**2 + mu**2) - mean**2, 0.0))))))
        elif span.role == "missing":
            values.append(({start + 1: 1.0}, {}, None, _bernoulli(c.missing_rate)))
        elif not c.has_missing and c.values and all(_is_number(v) for v in c.values):
            p, v = _shares(c.counts), np.asarray(c.values, np.float64)
            values.append(({start + i: float(x) for i, x in enumerate(v)}, {}, None,
                           (float(p @ v), float(np.sqrt(max(p @ v**2 - (p @ v) ** 2, 0.0))))))
        else:
            p = _shares(c.counts)
            values += [({start + i: 1.0}, {}, None, _bernoulli(p[i])) for i in range(span.size)]
    width = max(len(values), 1)
    linear, scale, alpha = (np.zeros((rows, width), np.float32) for _ in range(3))
    center, spread = np.zeros(width, np.float32), np.ones(width, np.float32)
    for f, (lin, sc, at, (mean, std)) in enumerate(values):
        for i, v in lin.items():
            linear[i, f] = v
        for i, v in sc.items():
            scale[i, f] = v
        if at is not None:
            alpha[at, f] = 1.0
        center[f], spread[f] = mean, std if std > 0 else 1.0
    return ValueProjection(linear, scale, alpha, center, spread)


def _shares(counts: Any) -> np.ndarray:
    counts = np.maximum(np.asarray(counts, np.float64), 0.0)
    return counts / max(float(counts.sum()), 1e-12)


def _bernoulli(p: float) -> tuple[float, float]:
    return float(p), max(float(np.sqrt(p * (1.0 - p))), MIN_VALUE_SPREAD)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _check_counts(counts: Any, groups: int, sizes: list[int]) -> list[list[list[int]]]:
    """``counts[c][j][v]`` as plain ints, checked against the layout (empty: none known)."""
    if counts is None or (isinstance(counts, (list, tuple)) and len(counts) == 0):
        return []
    try:
        out = [[[int(v) for v in block] for block in group] for group in counts]
    except (TypeError, ValueError) as exc:
        raise DataError(f"Expected condition_counts as nested lists of ints. Received: {exc}.") from None
    if len(out) != groups or any([len(b) for b in g] != sizes for g in out):
        raise DataError(
            f"Expected condition_counts for {groups} classes and blocks of sizes {sizes}. "
            f"Received: {[[len(b) for b in g] for g in out]}."
        )
    return out


__all__ = [
    "DEFAULT_PAC",
    "TabularGAN",
    "ValueProjection",
    "build_table_classifier",
    "build_table_discriminator",
    "build_table_gan",
    "build_table_generator",
    "class_counts",
    "condition_dim",
    "prior_logits",
    "row_dim",
    "value_projection",
]
