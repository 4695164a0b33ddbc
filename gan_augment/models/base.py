"""What every GAN of the package shares (TensorFlow backend): `GANBase`, a `keras.Model` holding
a generator, a critic and optionally an EMA copy of the generator.

The base owns the model's random stream, the EMA, the optimizers and loss (`GANBase.compile`), the
step's common metrics and the common part of the config. A subclass plays the game in its own
``train_step`` with the helpers here (`_step_seed`, `_part_seeds`, `_noise`, `_adversarial_d_loss`,
`_end_step`) and samples in its own ``generate``.

All randomness comes from stateless ops seeded by the ``state`` variable (``[seed, step]``), which
is saved with the weights: the same seed gives the same run, and a restored model continues the
same random stream.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import keras
import numpy as np
import tensorflow as tf

from gan_augment.models.layers import FusedBatchNorm
from gan_augment.models.losses import GANLoss, get_loss, gradient_penalty


class GANBase(keras.Model):
    """A generator and its critic, trained against each other by a subclass's ``train_step``.

    A subclass sets `DEFAULT_LOSS` and `ADAM_BETA_2`, names its critic side in `_critic_networks`,
    lists its networks in `NETWORKS` (their config entries) and calls `_track_ema_generator` in
    its ``__init__`` once every critic network is an attribute: ``weights`` — and so checkpoints —
    list the networks in the order they were set.

    Args:
        generator: the generator (its output as the subclass's game expects it).
        discriminator: the critic.
        latent_dim: size of z.
        num_classes: number of classes; 0 trains an unconditional GAN.
        seed: seed of the model's random stream.
        metadata: free-form, JSON-serializable facts saved with the model (class names, …).
    """

    #: The adversarial loss `compile` uses when none is given (also the loss before `compile`).
    DEFAULT_LOSS: ClassVar[str]
    #: Adam's β₂ of both optimizers `compile` creates.
    ADAM_BETA_2: ClassVar[float]
    #: The attributes holding networks (a model, a list of models or None), saved in the config.
    NETWORKS: ClassVar[tuple[str, ...]] = ("generator", "discriminator", "ema_generator")

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        latent_dim: int,
        num_classes: int = 0,
        *,
        seed: int = 0,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.num_classes = int(num_classes)
        self.seed = int(seed)
        self.metadata = dict(metadata or {})
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
        self.loss_fn: GANLoss = get_loss(self.DEFAULT_LOSS)
        self.d_steps = 1
        self.ema_decay = 0.999
        self.built = True  # no `call`: keras must not try to build the wrapper on a data batch

    def _track_ema_generator(self, ema: bool, ema_generator: keras.Model | None) -> None:
        """Keep ``ema_generator`` (by default a copy of the generator) as the exponential moving
        average of the generator's weights, or none when ``ema`` is off."""
        if ema and ema_generator is None:
            ema_generator = keras.models.clone_model(self.generator)
            ema_generator.set_weights(self.generator.get_weights())
        self.ema_generator = ema_generator if ema else None

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
        self.g_optimizer = _loss_scaled(g_optimizer or keras.optimizers.Adam(learning_rate, **adam),
                                        self.generator)
        self.d_optimizer = _loss_scaled(d_optimizer or keras.optimizers.Adam(learning_rate, **adam),
                                        self.discriminator)
        # Built here, not lazily inside a replica context: under a distribution strategy a lazy
        # build fails with a placeholder error.
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.critic_variables)

    def _maybe_symbolic_build(self, iterator: Any = None, data_batch: Any = None) -> None:
        # Keras 3 averages a first batch eagerly across replicas here, which fails across workers
        # under MultiWorkerMirroredStrategy (keras-team/keras#20585); `compile` built everything.
        if isinstance(getattr(self, "_distribute_strategy", None), tf.distribute.MultiWorkerMirroredStrategy):
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def _critic_networks(self) -> list[keras.Model]:
        """The networks on the critic's side of the game."""
        raise NotImplementedError(f"{type(self).__name__} must name its critic networks.")

    @property
    def critic_variables(self) -> list:
        """The variables the critic's optimizer trains (those of every critic network)."""
        return [v for net in self._critic_networks() for v in net.trainable_variables]

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        """What a step logs, in order: d_loss, g_loss, `_loss_metrics`, d_real, d_fake,
        `_regularizer_metrics`."""
        return [self.d_loss_tracker, self.g_loss_tracker, *self._loss_metrics(), self.d_real_tracker,
                self.d_fake_tracker, *self._regularizer_metrics()]

    def _loss_metrics(self) -> list[keras.metrics.Metric]:
        """Trackers of the subclass's further losses, logged after g_loss (none here)."""
        return []

    def _regularizer_metrics(self) -> list[keras.metrics.Metric]:
        """Trackers of the subclass's regularizer terms, logged last (none here)."""
        return []

    @property
    def steps_taken(self) -> int:
        return int(keras.ops.convert_to_numpy(self.state)[1])

    # ------------------------------------------------------------------ step helpers
    def _step_seed(self) -> tf.Tensor:
        """A fresh stateless seed for this step (and this replica); advances the step counter."""
        state = tf.convert_to_tensor(self.state)
        ctx = tf.distribute.get_replica_context()
        replica = ctx.replica_id_in_sync_group if ctx is not None else 0
        seed = tf.random.experimental.stateless_fold_in(state, tf.cast(replica, tf.int64))
        self.state.assign_add(tf.constant([0, 1], tf.int64))
        return seed

    @staticmethod
    def _part_seeds(seed: tf.Tensor, part: int, count: int) -> tf.Tensor:
        """``count`` seeds for one part of a step (the critic updates 0, 1, …; the generator -1)."""
        return tf.random.experimental.stateless_split(tf.random.experimental.stateless_fold_in(seed, part), count)

    def _noise(self, batch: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        """A batch of z, standard normal."""
        return tf.random.stateless_normal([batch, self.latent_dim], seed=seed)

    def _adversarial_d_loss(self, critic: Callable[[tf.Tensor], tf.Tensor], real: tf.Tensor,
                            fake: tf.Tensor, gp_seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """The critic's loss on ``real`` and ``fake`` (with the loss's gradient penalty, if any),
        and the critic's logits of both."""
        real_logits, fake_logits = critic(real), critic(fake)
        d_loss = self.loss_fn.d_loss(real_logits, fake_logits)
        if self.loss_fn.gradient_penalty:
            d_loss += self.loss_fn.gradient_penalty * gradient_penalty(critic, real, fake, gp_seed)
        return d_loss, real_logits, fake_logits

    def _end_step(self, d_loss: tf.Tensor, g_loss: tf.Tensor, real_logits: tf.Tensor,
                  fake_logits: tf.Tensor, extra: dict[str, tf.Tensor] | None = None) -> dict[str, tf.Tensor]:
        """After both updates: the EMA generator follows, the metrics record the step (``extra``:
        values logged as they are, such as ADA's current p)."""
        self._average_moving_statistics()
        if self.ema_generator is not None:
            self._update_ema()
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_tracker.update_state(tf.reduce_mean(tf.sigmoid(real_logits)))
        self.d_fake_tracker.update_state(tf.reduce_mean(tf.sigmoid(fake_logits)))
        logs = {**{m.name: m.result() for m in self.metrics}, **(extra or {})}
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras 3 averages the logs across workers along axis 0 (keras-team/keras#20585)
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs

    def _average_moving_statistics(self) -> None:
        """On several replicas: the generator's batch-norm moving statistics become their mean over
        the replicas, so that every replica (and every worker) holds the same weights."""
        ctx = distributed_replica_context()
        if ctx is None:
            return
        # Keras' batch norm and this package's fused one (generators saved before it keep Keras')
        batch_norms = (keras.layers.BatchNormalization, FusedBatchNorm)
        stats = [w for layer in self.generator.layers if isinstance(layer, batch_norms)
                 for w in (layer.moving_mean, layer.moving_variance)]
        if not stats:
            return

        def merge(strategy: tf.distribute.Strategy, values: list) -> None:
            means = strategy.extended.batch_reduce_to(
                tf.distribute.ReduceOp.MEAN, [(value, w.value) for value, w in zip(values, stats)])
            for w, mean in zip(stats, means):
                strategy.extended.update(w.value, lambda var, new: var.assign(new), args=(mean,))

        ctx.merge_call(merge, args=([tf.identity(w.value) for w in stats],))

    def _update_ema(self) -> None:
        # Debias early steps like tf.train.ExponentialMovingAverage(num_updates=step).
        step = tf.cast(tf.convert_to_tensor(self.state)[1], tf.float32)
        decay = tf.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
        pairs = list(zip(self.ema_generator.weights, self.generator.weights))

        def blend(avg: tf.Variable, new: tf.Tensor) -> Any:
            return avg.assign(decay * avg + (1.0 - decay) * tf.cast(new, avg.dtype))

        ctx = distributed_replica_context()
        if ctx is not None:
            # Mirrored variables are updated once per device from the cross-replica context.
            def merge(strategy: tf.distribute.Strategy) -> None:
                for avg, new in pairs:
                    strategy.extended.update(avg.value, blend, args=(new.value,))

            ctx.merge_call(merge)
        else:
            for avg, new in pairs:
                blend(avg, new)

    # ------------------------------------------------------------------ sampling
    def _sampling_generator(self, use_ema: bool) -> keras.Model:
        """The network to sample from: the EMA generator when there is one and ``use_ema``."""
        return self.ema_generator if (use_ema and self.ema_generator is not None) else self.generator

    # ------------------------------------------------------------------ serialization
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({key: _serialize(getattr(self, key)) for key in self.NETWORKS})
        config.update(latent_dim=self.latent_dim, num_classes=self.num_classes,
                      ema=self.ema_generator is not None, seed=self.seed, metadata=self.metadata)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> GANBase:
        config = dict(config)
        for key in cls.NETWORKS:
            if key in config:
                config[key] = _deserialize(config[key])
        return cls(**config)


def distributed_replica_context() -> tf.distribute.ReplicaContext | None:
    """The replica context when a step runs on several replicas (``None`` on one)."""
    ctx = tf.distribute.get_replica_context()
    return ctx if ctx is not None and ctx.num_replicas_in_sync > 1 else None


def _loss_scaled(optimizer: keras.optimizers.Optimizer, net: keras.Model) -> keras.optimizers.Optimizer:
    """``optimizer`` wrapped in a `LossScaleOptimizer` when ``net`` computes in float16."""
    if _uses_float16(net) and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def _uses_float16(model: keras.Model) -> bool:
    return any(getattr(layer.dtype_policy, "compute_dtype", None) == "float16" for layer in model.layers)


def _serialize(value: keras.Model | list[keras.Model] | None) -> Any:
    if isinstance(value, list):
        return [keras.saving.serialize_keras_object(v) for v in value]
    return None if value is None else keras.saving.serialize_keras_object(value)


def _deserialize(value: Any) -> keras.Model | list[keras.Model] | None:
    if isinstance(value, list):
        return [keras.saving.deserialize_keras_object(v) for v in value]
    return None if value is None else keras.saving.deserialize_keras_object(value)


__all__ = ["GANBase", "distributed_replica_context"]
