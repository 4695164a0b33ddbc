"""The GAN as a `keras.Model` with a custom `train_step` (TensorFlow backend).

One call of `train_step` plays one round of the minimax game of Goodfellow et al. (2014):

    sample z  →  discriminator update(s)  →  generator update  →  EMA of G  →  metrics

The model works in [-1, 1] internally; it takes real images in [0, 1] (as a `Dataset` stores
them) and `generate` returns [0, 1] again, so nothing outside this module sees the model's range.
All randomness comes from stateless ops seeded by the model's own ``state`` variable
(``[seed, step]``), which is saved with the weights: the same seed gives the same run, and a
restored model continues the same random stream.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from gan_augment.models.diffaugment import diff_augment, parse_policy
from gan_augment.models.losses import GANLoss, get_loss, gradient_penalty


@keras.saving.register_keras_serializable(package="gan_augment")
class ConditionalGAN(keras.Model):
    """A generator and a discriminator trained against each other.

    Args:
        generator: ``[z, label] -> image`` (or ``z -> image`` when unconditional), tanh output.
        discriminator: ``[image, label] -> logit`` (or ``image -> logit``).
        latent_dim: size of z.
        num_classes: number of classes; 0 trains an unconditional GAN.
        ema: keep an exponential moving average of the generator's weights and sample from it.
        diffaugment: DiffAugment policy such as ``"color,translation"`` (``None``: off).
        seed: seed of the model's random stream (noise, augmentation, penalty weights).
        metadata: free-form, JSON-serializable facts saved with the model (class names, …).

    Example:
        >>> from gan_augment.models import build_image_gan
        >>> gan = build_image_gan((8, 8, 1), num_classes=10)
        >>> gan.compile(loss="hinge")
        >>> gan.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(64), epochs=1)  # doctest: +SKIP
    """

    #: The adversarial loss `compile` uses when none is given.
    DEFAULT_LOSS = "non_saturating"
    #: Adam's β₂ of both optimizers `compile` creates.
    ADAM_BETA_2 = 0.99

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        latent_dim: int,
        num_classes: int = 0,
        *,
        ema: bool = True,
        diffaugment: str | None = None,
        seed: int = 0,
        metadata: dict[str, Any] | None = None,
        ema_generator: keras.Model | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.num_classes = int(num_classes)
        self.diffaugment = ",".join(parse_policy(diffaugment))
        self.seed = int(seed)
        self.metadata = dict(metadata or {})
        if ema and ema_generator is None:
            ema_generator = keras.models.clone_model(generator)
            ema_generator.set_weights(generator.get_weights())
        self.ema_generator = ema_generator if ema else None
        # [seed, number of train steps taken]; only_first_replica keeps replicas in step.
        self.state = keras.Variable(
            np.array([self.seed, 0], dtype="int64"),
            trainable=False,
            aggregation="only_first_replica",
            name="state",
        )
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")  # mean D(x) as a probability
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")  # mean D(G(z)) as a probability
        self.loss_fn: GANLoss = get_loss("non_saturating")
        self.d_steps = 1
        self.ema_decay = 0.999
        self.built = True  # no `call`: keras must not try to build the wrapper on a data batch

    # ------------------------------------------------------------------ compile
    def compile(  # type: ignore[override]
        self,
        g_optimizer: keras.optimizers.Optimizer | None = None,
        d_optimizer: keras.optimizers.Optimizer | None = None,
        loss: str | GANLoss | None = None,
        *,
        d_steps: int | None = None,
        ema_decay: float = 0.999,
        learning_rate: float = 2e-4,
        jit_compile: bool = False,
        **kwargs: Any,
    ) -> None:
        """Set the optimizers (Adam, β₁ = 0.5, β₂ = ``ADAM_BETA_2`` by default), the loss
        (default ``DEFAULT_LOSS``) and the critic steps (default: the loss's own). The critic's
        optimizer trains `critic_variables`.

        Call it inside ``strategy.scope()`` when training under a distribution strategy.
        """
        super().compile(jit_compile=jit_compile, **kwargs)
        self.loss_fn = get_loss(self.DEFAULT_LOSS if loss is None else loss)
        self.d_steps = int(d_steps or self.loss_fn.d_steps)
        self.ema_decay = float(ema_decay)
        adam = {"beta_1": 0.5, "beta_2": self.ADAM_BETA_2}
        self.g_optimizer = g_optimizer or keras.optimizers.Adam(learning_rate, **adam)
        self.d_optimizer = d_optimizer or keras.optimizers.Adam(learning_rate, **adam)
        if _uses_float16(self.generator) and not isinstance(self.g_optimizer, keras.optimizers.LossScaleOptimizer):
            self.g_optimizer = keras.optimizers.LossScaleOptimizer(self.g_optimizer)
        if _uses_float16(self.discriminator) and not isinstance(self.d_optimizer, keras.optimizers.LossScaleOptimizer):
            self.d_optimizer = keras.optimizers.LossScaleOptimizer(self.d_optimizer)
        # Built here, not lazily inside a replica context (FIELD_NOTES: strategy placeholder error).
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.critic_variables)

    @property
    def critic_variables(self) -> list:
        """The variables the discriminator's optimizer trains."""
        return list(self.discriminator.trainable_variables)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker, self.d_fake_tracker]

    @property
    def steps_taken(self) -> int:
        return int(keras.ops.convert_to_numpy(self.state)[1])

    # ------------------------------------------------------------------ the game
    def train_step(self, data: Any) -> dict[str, tf.Tensor]:
        real, labels = data if isinstance(data, tuple) else (data, None)
        real = tf.cast(real, tf.float32) * 2.0 - 1.0
        batch = tf.shape(real)[0]
        seed = self._step_seed()

        for i in range(self.d_steps):
            s = tf.random.experimental.stateless_split(tf.random.experimental.stateless_fold_in(seed, i), 4)
            z = tf.random.stateless_normal([batch, self.latent_dim], seed=s[0])
            with tf.GradientTape() as tape:
                fake = self._generate(z, labels, training=True)
                real_aug, fake_aug = self._augment(real, s[1]), self._augment(fake, s[2])
                real_logits = self._discriminate(real_aug, labels)
                fake_logits = self._discriminate(fake_aug, labels)
                d_loss = self.loss_fn.d_loss(real_logits, fake_logits)
                if self.loss_fn.gradient_penalty:
                    d_loss += self.loss_fn.gradient_penalty * gradient_penalty(
                        lambda x: self._discriminate(x, labels), real_aug, fake_aug, s[3]
                    )
                d_objective = _for_gradients(self.d_optimizer, d_loss)
            _apply(self.d_optimizer, tape, d_objective, self.critic_variables)

        s = tf.random.experimental.stateless_split(tf.random.experimental.stateless_fold_in(seed, -1), 2)
        z = tf.random.stateless_normal([batch, self.latent_dim], seed=s[0])
        with tf.GradientTape() as tape:
            fake = self._generate(z, labels, training=True)
            g_logits = self._discriminate(self._augment(fake, s[1]), labels)
            g_loss = self.loss_fn.g_loss(g_logits)
            g_objective = _for_gradients(self.g_optimizer, g_loss)
        _apply(self.g_optimizer, tape, g_objective, self.generator.trainable_variables)
        return self._end_step(d_loss, g_loss, real_logits, fake_logits)

    def _end_step(self, d_loss: tf.Tensor, g_loss: tf.Tensor, real_logits: tf.Tensor,
                  fake_logits: tf.Tensor) -> dict[str, tf.Tensor]:
        """After both updates: the EMA generator follows, the metrics record the step."""
        if self.ema_generator is not None:
            self._update_ema()
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_tracker.update_state(tf.reduce_mean(tf.sigmoid(real_logits)))
        self.d_fake_tracker.update_state(tf.reduce_mean(tf.sigmoid(fake_logits)))
        return {m.name: m.result() for m in self.metrics}

    def _generate(self, z: tf.Tensor, labels: tf.Tensor | None, training: bool) -> tf.Tensor:
        inputs = [z, labels] if self.num_classes else z
        return tf.cast(self.generator(inputs, training=training), tf.float32)

    def _discriminate(self, images: tf.Tensor, labels: tf.Tensor | None) -> tf.Tensor:
        inputs = [images, labels] if self.num_classes else images
        return tf.cast(self.discriminator(inputs, training=True), tf.float32)

    def _augment(self, images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        policy = parse_policy(self.diffaugment)
        return diff_augment(images, policy, seed) if policy else images

    def _step_seed(self) -> tf.Tensor:
        """A fresh stateless seed for this step (and this replica); advances the step counter."""
        state = tf.convert_to_tensor(self.state)
        ctx = tf.distribute.get_replica_context()
        replica = ctx.replica_id_in_sync_group if ctx is not None else 0
        seed = tf.random.experimental.stateless_fold_in(state, tf.cast(replica, tf.int64))
        self.state.assign_add(tf.constant([0, 1], tf.int64))
        return seed

    def _update_ema(self) -> None:
        # Debias early steps like tf.train.ExponentialMovingAverage(num_updates=step).
        step = tf.cast(tf.convert_to_tensor(self.state)[1], tf.float32)
        decay = tf.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
        pairs = list(zip(self.ema_generator.weights, self.generator.weights))

        def blend(avg: tf.Variable, new: tf.Tensor) -> Any:
            return avg.assign(decay * avg + (1.0 - decay) * tf.cast(new, avg.dtype))

        ctx = tf.distribute.get_replica_context()
        if ctx is not None and ctx.num_replicas_in_sync > 1:
            # Mirrored variables are updated once per device from the cross-replica context.
            def merge(strategy: tf.distribute.Strategy) -> None:
                for avg, new in pairs:
                    strategy.extended.update(avg.value, blend, args=(new.value,))

            ctx.merge_call(merge)
        else:
            for avg, new in pairs:
                blend(avg, new)

    # ------------------------------------------------------------------ sampling
    def generate(
        self,
        z: np.ndarray,
        labels: np.ndarray | None = None,
        *,
        use_ema: bool = True,
        batch_size: int = 1024,
    ) -> np.ndarray:
        """Images in [0, 1] for the noise ``z`` (and ``labels``), as a float32 numpy array."""
        net = self.ema_generator if (use_ema and self.ema_generator is not None) else self.generator
        if self.num_classes and labels is None:
            raise ValueError("Expected labels for a conditional GAN. Received: labels=None.")
        out = []
        for start in range(0, len(z), batch_size):
            zb = tf.convert_to_tensor(z[start : start + batch_size], tf.float32)
            inputs = [zb, tf.convert_to_tensor(labels[start : start + batch_size], tf.int32)] if self.num_classes else zb
            out.append(keras.ops.convert_to_numpy(net(inputs, training=False)))
        images = np.concatenate(out) if out else np.zeros((0, *net.output_shape[1:]), "float32")
        return np.clip((images.astype(np.float32) + 1.0) / 2.0, 0.0, 1.0)

    # ------------------------------------------------------------------ serialization
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            ema_generator=None
            if self.ema_generator is None
            else keras.saving.serialize_keras_object(self.ema_generator),
            latent_dim=self.latent_dim,
            num_classes=self.num_classes,
            ema=self.ema_generator is not None,
            diffaugment=self.diffaugment or None,
            seed=self.seed,
            metadata=self.metadata,
        )
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ConditionalGAN:
        config = dict(config)
        for key in ("generator", "discriminator", "ema_generator"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def _for_gradients(optimizer: keras.optimizers.Optimizer, loss: tf.Tensor) -> tf.Tensor:
    """The quantity to differentiate (computed inside the tape): the per-replica share of the
    loss (gradients are summed over replicas under tf.distribute), loss-scaled for float16."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    scaled = loss / replicas if replicas > 1 else loss
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        scaled = optimizer.scale_loss(scaled)
    return scaled


def _apply(optimizer: keras.optimizers.Optimizer, tape: tf.GradientTape, objective: tf.Tensor,
           variables: list) -> None:
    """Gradient step on ``objective`` for ``variables`` only: each player moves only its own weights."""
    grads = tape.gradient(objective, variables)
    optimizer.apply_gradients(zip(grads, variables))


def _uses_float16(model: keras.Model) -> bool:
    return any(getattr(layer.dtype_policy, "compute_dtype", None) == "float16" for layer in model.layers)
