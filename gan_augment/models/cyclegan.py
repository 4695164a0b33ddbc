"""CycleGAN (Zhu et al. 2017) as a `keras.Model` with a custom `train_step` (TensorFlow backend):
unpaired translation between two image domains A and B.

One call of `train_step` on a batch ``(a, b)`` of unpaired images in [0, 1]:

    G: A→B and F: B→A update on  adversarial(D_B(G(a)), D_A(F(b)))
                                 + λ_cycle · (|F(G(a)) − a| + |G(F(b)) − b|)
                                 + λ_identity · (|G(b) − b| + |F(a) − a|)
    →  the fakes G(a), F(b) go through a history pool of past fakes (Shrivastava et al. 2017)
    →  D_A, D_B update on real vs pooled fakes  →  EMA of G and F  →  metrics

With a frozen classifier ``semantic`` and ``semantic_weight`` λ_sem > 0 (CyCADA's semantic
consistency, Hoffman et al. 2018) batches are ``(a, b, y_a)``, ``y_a`` the classes of the source
images, and the generators' loss adds

    λ_sem · (CE(semantic(G(a)), y_a) + CE(semantic(F(b)), argmax semantic(b)))

Cycle and identity losses only ask that an image survive the round trip, which a translator can
satisfy by hiding the class in imperceptible detail (or by barely changing the image); this term
ties a translated image to the class it came from, in either direction (pseudo-labels for the
unlabelled target side). Without it (the default) the model, its config and its weights are
exactly those of a plain CycleGAN.

It is a `GANBase`: the base's "generator" is the pair ``[a, b] -> [G(a), F(b)]`` and its
"discriminator" the pair ``[a, b] -> [D_A(a), D_B(b)]`` (`translation_nets.translator_pair`,
`critic_pair`). So the base's pieces work unchanged for two networks a side: `compile` builds the
generators' optimizer on G and F and the critic's on D_A and D_B (Adam is per weight, so one
optimizer over two disjoint networks is two optimizers), the EMA copy follows both generators,
the config saves the pairs, and `gan_augment.checkpoint` saves the full state (weights, pool,
``state``, both optimizers) with no change. The base's ``latent_dim`` and ``num_classes`` do not
apply (0) and stay out of the config; the base's ``d_real``/``d_fake`` trackers give way to one
pair per domain.

All randomness (the pool's replacements, the gradient penalty of ``wasserstein_gp``) comes from
the base's stateless seed stream, and the pool is a set of non-trainable variables: a restored
model continues the same run. The learning rates decay linearly to 0 over the second half of
``total_steps``, computed each step from the model's own step counter, so the decay continues
after a checkpoint restore or a ``.keras`` reload.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from gan_augment.models.base import GANBase
from gan_augment.models.steps import apply_own_gradients, gradient_objective
from gan_augment.models.translation_nets import (
    DISCRIMINATOR_A,
    DISCRIMINATOR_B,
    GENERATOR_AB,
    GENERATOR_BA,
    build_patch_discriminator,
    build_resnet_generator,
    check_image_shape,
    critic_pair,
    translator_pair,
)

#: Seed part of a step (`GANBase._part_seeds`) for the pool's replacements (critic updates use
#: 0..d_steps-1).
_POOL_PART = -1
#: Which domain a direction of `CycleGAN.translate` reads, and the generator it uses.
DIRECTIONS = {"a2b": GENERATOR_AB, "b2a": GENERATOR_BA}


@keras.saving.register_keras_serializable(package="gan_augment")
class CycleGAN(GANBase):
    """Two generators G: A→B, F: B→A and two discriminators D_A, D_B trained together.

    Args:
        generator: ``[a, b] -> [G(a), F(b)]`` in [-1, 1] (`translator_pair`).
        discriminator: ``[a, b] -> [D_A(a), D_B(b)]``, scores (`critic_pair`).
        cycle_weight: λ_cycle of the L1 cycle-consistency loss (CycleGAN: 10).
        identity_weight: λ_identity of the L1 identity loss (default ``0.5 · cycle_weight``, as
            in CycleGAN; 0: off). It keeps the colours of images already in the target domain.
        pool_size: number of past fakes per domain the discriminators see (0: only the current
            ones). While the pool fills, fakes enter it and pass through; once full, each fake
            is swapped with probability ½ for a random stored one, which it replaces.
        total_steps: the training length the learning rates decay over: constant for the first
            half, then linearly to 0 at ``total_steps`` (0: constant).
        ema: keep an exponential moving average of both generators and translate with it.
        ema_generator: the EMA pair when loading (default: a copy of ``generator``).
        seed: seed of the model's random stream.
        metadata: free-form, JSON-serializable facts saved with the model (domain names, …).
        semantic: a classifier of images in [0, 1] of either domain → class logits, frozen here
            and saved with the model; required exactly when ``semantic_weight`` > 0.
        semantic_weight: λ_sem of the semantic-consistency loss (0: off, batches ``(a, b)``).

    Example:
        >>> gan = build_cyclegan((8, 8, 1), total_steps=1000)
        >>> gan.compile()
        >>> gan.fit(tf.data.Dataset.zip((a, b)).batch(16), epochs=1)  # doctest: +SKIP
        >>> gan.translate(a, "a2b").shape  # doctest: +SKIP
    """

    DEFAULT_LOSS = "least_squares"
    ADAM_BETA_2 = 0.999
    NETWORKS = (*GANBase.NETWORKS, "semantic")

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        *,
        cycle_weight: float = 10.0,
        identity_weight: float | None = None,
        pool_size: int = 50,
        total_steps: int = 0,
        ema: bool = True,
        ema_generator: keras.Model | None = None,
        semantic: keras.Model | None = None,
        semantic_weight: float = 0.0,
        **base_options: Any,
    ) -> None:
        """``seed``, ``metadata`` (see Args) and Keras's own options go to `GANBase` as they are."""
        _check_pair(generator, (GENERATOR_AB, GENERATOR_BA), "generator")
        _check_pair(discriminator, (DISCRIMINATOR_A, DISCRIMINATOR_B), "discriminator")
        super().__init__(generator, discriminator, latent_dim=0, num_classes=0, **base_options)
        self.image_shape = tuple(generator.get_layer(GENERATOR_AB).input_shape[1:])
        self.cycle_weight = float(cycle_weight)
        self.identity_weight = (0.5 * self.cycle_weight if identity_weight is None
                                else float(identity_weight))
        self.pool_size = int(pool_size)
        self.total_steps = int(total_steps)
        _check_options(self.cycle_weight, self.identity_weight, self.pool_size, self.total_steps)
        self._track_ema_generator(ema, ema_generator)
        if self.pool_size:
            # Past fakes of each domain and how many slots of each are filled; only_first_replica:
            # under a distribution strategy the pools follow the first replica's fakes.
            self.pools = [keras.Variable(np.zeros((self.pool_size, *self.image_shape), "float32"),
                                         trainable=False, aggregation="only_first_replica",
                                         name=f"pool_{domain}") for domain in ("a", "b")]
            self.pool_filled = keras.Variable(np.zeros(2, "int32"), trainable=False,
                                              aggregation="only_first_replica", name="pool_filled")
        self.cycle_tracker = keras.metrics.Mean(name="cycle_loss")
        self.identity_tracker = keras.metrics.Mean(name="identity_loss")
        self.score_trackers = {name: keras.metrics.Mean(name=name)
                               for name in ("d_a_real", "d_a_fake", "d_b_real", "d_b_fake")}
        self._initial_learning_rates: tuple[float, float] | None = None
        # Tracked last, so a model without the term keeps today's weights in today's order.
        self.semantic_weight = float(semantic_weight)
        self.semantic = _frozen_semantic(semantic, self.semantic_weight, self.image_shape)
        self.semantic_tracker = (keras.metrics.Mean(name="semantic_loss") if self.semantic is not None
                                 else None)

    # ------------------------------------------------------------------ networks
    def translator(self, direction: str, use_ema: bool = False) -> keras.Model:
        """G (``"a2b"``) or F (``"b2a"``), from the EMA pair when ``use_ema`` and there is one."""
        if direction not in DIRECTIONS:
            raise ValueError(f"Expected direction to be one of {sorted(DIRECTIONS)}. "
                             f"Received: direction={direction!r}.")
        return self._sampling_generator(use_ema).get_layer(DIRECTIONS[direction])

    def critic(self, domain: str) -> keras.Model:
        """D_A (``"a"``) or D_B (``"b"``)."""
        return self.discriminator.get_layer({"a": DISCRIMINATOR_A, "b": DISCRIMINATOR_B}[domain])

    def _critic_networks(self) -> list[keras.Model]:
        return [self.discriminator]

    # ------------------------------------------------------------------ compile
    def compile(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """`GANBase.compile`; with ``total_steps`` the optimizers' learning rates (plain numbers,
        not schedules) are what the linear decay scales."""
        super().compile(*args, **kwargs)
        if self.total_steps:
            self._initial_learning_rates = (_settable_learning_rate(self.g_optimizer),
                                            _settable_learning_rate(self.d_optimizer))

    def _decay_learning_rates(self, step: tf.Tensor) -> None:
        """Set both learning rates for ``step``: full for the first half of ``total_steps``, then
        linearly down to 0 at ``total_steps``."""
        half = self.total_steps - self.total_steps // 2
        factor = tf.clip_by_value(tf.cast(self.total_steps - step, tf.float32) / half, 0.0, 1.0)
        optimizers = (self.g_optimizer, self.d_optimizer)
        for optimizer, initial in zip(optimizers, self._initial_learning_rates):
            optimizer.learning_rate = initial * factor

    # ------------------------------------------------------------------ metrics
    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        """What a step logs: d_loss (D_A's plus D_B's), g_loss (the generators' whole objective),
        cycle_loss and identity_loss (unweighted), then the mean raw scores of D_A and D_B on
        real and (pooled) fake images (least squares: targets 1 and 0); with the semantic term
        last its semantic_loss (unweighted)."""
        semantic = [self.semantic_tracker] if self.semantic_tracker is not None else []
        return [self.d_loss_tracker, self.g_loss_tracker, self.cycle_tracker, self.identity_tracker,
                *self.score_trackers.values(), *semantic]

    # ------------------------------------------------------------------ the game
    def train_step(self, data: Any) -> dict[str, tf.Tensor]:
        """One round on a batch ``(a, b)`` of unpaired images in [0, 1], ``(a, b, y_a)`` with the
        semantic term (see the module doc).

        A non-finite loss is not skipped: it shows in the step's logs (and so in the epoch's
        means), where the training driver's NaN guard restores the last good state.
        """
        a, b, y_a = self._check_batch(data)
        if self.total_steps:
            self._decay_learning_rates(tf.convert_to_tensor(self.state)[1])
        seed = self._step_seed()

        with tf.GradientTape() as tape:
            losses = self.generator_losses(a, b, y_a)
            g_objective = gradient_objective(self.g_optimizer, losses["g_loss"])
        apply_own_gradients(self.g_optimizer, tape, g_objective, self.generator.trainable_variables)

        fake_a, fake_b = self._through_pools([losses["fake_a"], losses["fake_b"]], seed)
        for i in range(self.d_steps):
            gp_seeds = self._part_seeds(seed, i, 2)
            with tf.GradientTape() as tape:
                d_loss_a, real_a, scored_a = self._adversarial_d_loss(self._score("a"), a, fake_a,
                                                                      gp_seeds[0])
                d_loss_b, real_b, scored_b = self._adversarial_d_loss(self._score("b"), b, fake_b,
                                                                      gp_seeds[1])
                d_loss = d_loss_a + d_loss_b
                d_objective = gradient_objective(self.d_optimizer, d_loss)
            apply_own_gradients(self.d_optimizer, tape, d_objective, self.critic_variables)

        if self.ema_generator is not None:
            self._update_ema()
        scores = {"d_a_real": real_a, "d_a_fake": scored_a, "d_b_real": real_b, "d_b_fake": scored_b}
        return self._record(losses, d_loss, scores)

    def _record(self, losses: dict[str, tf.Tensor], d_loss: tf.Tensor,
                scores: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """The metrics take in the step: the losses and the mean of each set of scores."""
        for name, tracker in self.score_trackers.items():
            tracker.update_state(tf.reduce_mean(scores[name]))
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(losses["g_loss"])
        self.cycle_tracker.update_state(losses["cycle_loss"])
        self.identity_tracker.update_state(losses["identity_loss"])
        if self.semantic_tracker is not None:
            self.semantic_tracker.update_state(losses["semantic_loss"])
        return {m.name: m.result() for m in self.metrics}

    def generator_losses(self, a: tf.Tensor, b: tf.Tensor,
                         y_a: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        """The generators' side of a step on ``a``, ``b`` in [-1, 1] (and the classes ``y_a`` of
        ``a`` with the semantic term): ``g_loss`` (the objective), its ``cycle_loss``,
        ``identity_loss`` and, with the term, ``semantic_loss`` (unweighted), and the fakes
        ``fake_a`` = F(b), ``fake_b`` = G(a)."""
        g_ab, g_ba = self.translator("a2b"), self.translator("b2a")
        fake_b, fake_a = _float32(g_ab(a, training=True)), _float32(g_ba(b, training=True))
        cycle = (_l1(_float32(g_ba(fake_b, training=True)), a)
                 + _l1(_float32(g_ab(fake_a, training=True)), b))
        identity = (_l1(_float32(g_ab(b, training=True)), b) + _l1(_float32(g_ba(a, training=True)), a)
                    if self.identity_weight else tf.constant(0.0))
        adversarial = (self.loss_fn.g_loss(self._score("b")(fake_b))
                       + self.loss_fn.g_loss(self._score("a")(fake_a)))
        g_loss = adversarial + self.cycle_weight * cycle + self.identity_weight * identity
        losses = {"cycle_loss": cycle, "identity_loss": identity, "fake_a": fake_a, "fake_b": fake_b}
        if self.semantic is not None:
            losses["semantic_loss"] = self._semantic_loss(fake_b, y_a) + self._semantic_loss(
                fake_a, tf.argmax(self._logits(b), axis=-1))
            g_loss += self.semantic_weight * losses["semantic_loss"]
        return {"g_loss": g_loss, **losses}

    def _logits(self, images: tf.Tensor) -> tf.Tensor:
        """The frozen classifier's float32 logits of ``images`` in [-1, 1] (it reads [0, 1])."""
        return _float32(self.semantic((images + 1.0) / 2.0, training=False))

    def _semantic_loss(self, images: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        """Mean cross-entropy of the frozen classifier on ``images`` in [-1, 1] against ``labels``."""
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.cast(labels, tf.int32), logits=self._logits(images)))

    def _score(self, domain: str) -> Any:
        """D_A or D_B as a function to float32 scores."""
        net = self.critic(domain)

        def score(images: tf.Tensor) -> tf.Tensor:
            return _float32(net(images, training=True))

        return score

    def _through_pools(self, fakes: list[tf.Tensor], seed: tf.Tensor) -> list[tf.Tensor]:
        """The fakes [of A, of B] the discriminators see, through the pools (`pool_exchange`),
        which take in this step's fakes."""
        fakes = [tf.stop_gradient(images) for images in fakes]
        if not self.pool_size:
            return fakes
        seeds = self._part_seeds(seed, _POOL_PART, 2)
        filled = tf.convert_to_tensor(self.pool_filled)
        seen, counts = [], []
        for k, (pool, images) in enumerate(zip(self.pools, fakes)):
            out, new_pool = pool_exchange(tf.convert_to_tensor(pool), filled[k], images, seeds[k])
            pool.assign(new_pool)
            seen.append(out)
            counts.append(tf.minimum(filled[k] + tf.shape(images)[0], self.pool_size))
        self.pool_filled.assign(tf.stack(counts))
        return seen

    def _check_batch(self, data: Any) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor | None]:
        """``data`` as images (a, b) in [-1, 1] and, with the semantic term, the classes y_a of
        a; or a clear error for anything else."""
        size = 2 if self.semantic is None else 3
        if not (isinstance(data, tuple | list) and len(data) == size):
            what = ("(a, b) of unpaired images from domains A and B" if size == 2 else
                    "(a, b, y_a) of unpaired images from domains A and B and the classes of a "
                    "(semantic_weight > 0)")
            raise ValueError(f"Expected a batch {what}. Received: a {type(data).__name__}"
                             + (f" of {len(data)}." if isinstance(data, tuple | list) else "."))
        out = []
        shape = ", ".join(map(str, self.image_shape))
        for domain, images in zip("AB", data):
            images = tf.convert_to_tensor(images)
            if tuple(images.shape[1:]) != self.image_shape:
                raise ValueError(f"Expected images of domain {domain} of shape (batch, {shape}). "
                                 f"Received: {tuple(images.shape)}.")
            tf.debugging.assert_positive(tf.shape(images)[0],
                                         message=f"Expected a non-empty batch of domain {domain}")
            out.append(tf.cast(images, tf.float32) * 2.0 - 1.0)
        y_a = None if self.semantic is None else tf.reshape(tf.cast(data[2], tf.int32), [-1])
        return out[0], out[1], y_a

    # ------------------------------------------------------------------ sampling
    def translate(self, images: np.ndarray, direction: str = "a2b", *, use_ema: bool = True,
                  batch_size: int = 256) -> np.ndarray:
        """``images`` in [0, 1] of the source domain translated (``"a2b"``: by G, ``"b2a"``: by
        F), as float32 in [0, 1], computed ``batch_size`` at a time."""
        net = self.translator(direction, use_ema)
        images = np.asarray(images, np.float32)
        if images.shape[1:] != self.image_shape:
            raise ValueError(f"Expected images of shape (n, {', '.join(map(str, self.image_shape))}). "
                             f"Received: {images.shape}.")
        out = [keras.ops.convert_to_numpy(net(images[i : i + batch_size] * 2.0 - 1.0, training=False))
               for i in range(0, len(images), batch_size)]
        translated = np.concatenate(out) if out else np.zeros((0, *self.image_shape), np.float32)
        return np.clip((translated.astype(np.float32) + 1.0) / 2.0, 0.0, 1.0)

    # ------------------------------------------------------------------ serialization
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["latent_dim"], config["num_classes"]
        config.update(cycle_weight=self.cycle_weight, identity_weight=self.identity_weight,
                      pool_size=self.pool_size, total_steps=self.total_steps)
        if self.semantic is None:
            del config["semantic"]  # without the term, today's config
        else:
            config.update(semantic_weight=self.semantic_weight)
        return config


def pool_exchange(pool: tf.Tensor, filled: tf.Tensor, fakes: tf.Tensor,
                  seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """The history pool's rule for one batch, as a pure function: (what the discriminator sees,
    the new pool).

    Fake ``i`` of the batch fills slot ``filled + i`` while the pool has room and passes through.
    Otherwise, with probability ½, it is swapped for the fake in slot ``perm[i]`` (a seeded
    permutation, so no two fakes of a batch share a slot) when that slot was filled before this
    batch; else it passes through unstored. Fakes beyond the pool's size always pass through.
    """
    size = pool.shape[0]
    n = tf.shape(fakes)[0]
    index = tf.range(n)
    coin_seed, perm_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    fill = filled + index < size
    perm = tf.argsort(tf.random.stateless_uniform([size], seed=perm_seed))
    swap_slot = tf.gather(perm, tf.minimum(index, size - 1))
    swap = (~fill & (index < size) & (swap_slot < filled)
            & (tf.random.stateless_uniform([n], seed=coin_seed) < 0.5))
    slot = tf.where(fill, filled + index, swap_slot)
    stored = tf.gather(pool, tf.minimum(slot, size - 1))
    seen = tf.where(tf.reshape(swap, [-1, 1, 1, 1]), stored, fakes)
    write = fill | swap
    pool = tf.tensor_scatter_nd_update(pool, tf.boolean_mask(slot, write)[:, None],
                                       tf.boolean_mask(fakes, write))
    return seen, pool


def build_cyclegan(
    image_shape: tuple[int, int, int],
    *,
    width: int | None = None,
    blocks: int | None = None,
    **options: Any,
) -> CycleGAN:
    """A `CycleGAN` between two domains of images of ``image_shape`` = (h, w, c): ResNet
    generators and PatchGAN discriminators sized by the image (`translation_nets`).

    Args:
        image_shape: (height, width, channels) of both domains.
        width: base filters of all four networks (default `translation_nets.translation_width`).
        blocks: residual blocks of the generators (default `translation_nets.residual_blocks`).
        **options: `CycleGAN`'s options (cycle_weight, identity_weight, pool_size, total_steps,
            ema, seed, metadata, semantic, semantic_weight).
    """
    shape = check_image_shape(image_shape)
    generators = translator_pair(*(build_resnet_generator(shape, width=width, blocks=blocks, name=name)
                                   for name in (GENERATOR_AB, GENERATOR_BA)))
    critics = critic_pair(*(build_patch_discriminator(shape, width=width, name=name)
                            for name in (DISCRIMINATOR_A, DISCRIMINATOR_B)))
    return CycleGAN(generators, critics, **options)


def _check_pair(pair: keras.Model, names: tuple[str, str], role: str) -> None:
    """A clear error unless ``pair`` holds both networks by ``names``, on images of one shape."""
    try:
        shapes = [tuple(pair.get_layer(name).input_shape[1:]) for name in names]
    except ValueError:
        layers = [layer.name for layer in pair.layers]
        raise ValueError(f"Expected the {role} to be a pair of networks named {names} (see "
                         f"translation_nets.translator_pair and critic_pair). Received: a model "
                         f"with layers {layers}.") from None
    if shapes[0] != shapes[1]:
        raise ValueError(f"Expected the {role}s of both domains to take images of one shape. "
                         f"Received: {shapes}.")


def _check_options(cycle_weight: float, identity_weight: float, pool_size: int, total_steps: int) -> None:
    for name, value in (("cycle_weight", cycle_weight), ("identity_weight", identity_weight),
                        ("pool_size", pool_size), ("total_steps", total_steps)):
        if not value >= 0:
            raise ValueError(f"Expected {name} >= 0. Received: {name}={value}.")


def _frozen_semantic(semantic: keras.Model | None, weight: float,
                     image_shape: tuple[int, ...]) -> keras.Model | None:
    """``semantic`` made non-trainable, after checking it comes exactly with a weight > 0 and
    reads images of ``image_shape``."""
    if not weight >= 0:
        raise ValueError(f"Expected semantic_weight >= 0. Received: semantic_weight={weight}.")
    if (semantic is None) != (weight == 0):
        raise ValueError("Expected a semantic classifier exactly when semantic_weight > 0. Received: "
                         f"semantic={'a model' if semantic is not None else None}, semantic_weight={weight}.")
    if semantic is not None:
        reads = tuple(semantic.input_shape[1:])
        if not (len(reads) == len(image_shape) and all(r in (None, i) for r, i in zip(reads, image_shape))):
            raise ValueError(f"Expected a semantic classifier of images of shape {image_shape}. "
                             f"Received: one of {reads}.")
        semantic.trainable = False
    return semantic


def _settable_learning_rate(optimizer: keras.optimizers.Optimizer) -> float:
    """The optimizer's learning rate as a number, checked to be settable (not a schedule: the
    decay sets it each step)."""
    rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    try:
        optimizer.learning_rate = rate
    except TypeError:
        raise ValueError("Expected optimizers with a constant learning rate when total_steps > 0 "
                         "(CycleGAN decays it itself). Received: a learning-rate schedule.") from None
    return rate


def _l1(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(tf.abs(x - y))


def _float32(x: tf.Tensor) -> tf.Tensor:
    return tf.cast(x, tf.float32)


__all__ = ["DIRECTIONS", "CycleGAN", "build_cyclegan", "pool_exchange"]
