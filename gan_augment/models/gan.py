"""The GAN as a `keras.Model` with a custom `train_step` (TensorFlow backend).

One call of `train_step` plays one round of the minimax game of Goodfellow et al. (2014):

    sample z  →  discriminator update(s)  →  generator update  →  EMA of G  →  metrics

The model works in [-1, 1] internally; it takes real images in [0, 1] (as a `Dataset` stores
them) and `generate` returns [0, 1] again, so nothing outside this module sees the model's range.
The random stream, the EMA, the optimizers and the common metrics come from `GANBase`.

Few-shot levers (`gan_augment.models.regularizers`), all off by default: several discriminators
(GMAN), R1, LeCam, bCR and adaptive discriminator augmentation (ADA). With all of them off the
step computes exactly what the plain game computes.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from gan_augment.models import regularizers as reg
from gan_augment.models.base import GANBase
from gan_augment.models.diffaugment import diff_augment, parse_policy
from gan_augment.models.steps import apply_own_gradients, gradient_objective

#: Offset of the seeds of the regularizers' randomness (bCR transforms) in a step's seed stream;
#: the critic steps use offsets 0..d_steps-1 and the generator step -1.
_REGULARIZER_STREAM = 1 << 16


@keras.saving.register_keras_serializable(package="gan_augment")
class ConditionalGAN(GANBase):
    """A generator and one or more discriminators trained against each other.

    Args:
        generator: ``[z, label] -> image`` (or ``z -> image`` when unconditional), tanh output.
        discriminator: ``[image, label] -> logit`` (or ``image -> logit``).
        extra_discriminators: further discriminators of the same signature (GMAN, Durugkar et
            al. 2017): each plays its own game on the same batch; the critic objective is the sum
            of their losses and the generator's loss is the ``aggregation`` of its losses
            against each. Default: none (one discriminator).
        aggregation: "mean", "softmax" (Σ softmax(λ·L)·L, λ = `GMAN_SOFTMAX_LAMBDA`) or "max"
            of the generator losses against the discriminators.
        r1: weight γ of the R1 penalty γ/2·E‖∇D(x)‖² on real images as the discriminator sees
            them (after augmentation) (0: off).
        lecam: weight λ of the LeCam regularizer (0: off); its anchors are the non-trainable
            variable ``lecam_anchors`` ([K, 2]: α_R, α_F per discriminator).
        bcr: weight λ of balanced consistency regularization (0: off), with T = the DiffAugment
            policy, or "translation" when the model has none.
        ada_target: target of E[sign(D(real))] for adaptive discriminator augmentation (None:
            off; e.g. 0.6). The DiffAugment policy (default `ADA_DEFAULT_POLICY`) is then applied
            per image and per transform with probability ``ada_p`` (a non-trainable variable,
            from 0), adjusted every `ADA_INTERVAL` steps.
        mode_seeking: weight λ of the mode-seeking term (MSGAN) in the generator's loss (0: off):
            a second noise batch with the same labels, penalty E[1 / (r + ε)] with r the image
            distance over the noise distance (`regularizers.mode_seeking_penalty`).
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

    DEFAULT_LOSS = "non_saturating"
    ADAM_BETA_2 = 0.99
    NETWORKS = (*GANBase.NETWORKS, "extra_discriminators")

    def __init__(
        self, generator: keras.Model, discriminator: keras.Model, latent_dim: int, num_classes: int = 0,
        *,
        ema: bool = True,
        diffaugment: str | None = None,
        ema_generator: keras.Model | None = None,
        extra_discriminators: list[keras.Model] | None = None,
        aggregation: str = "mean",
        r1: float = 0.0, lecam: float = 0.0, bcr: float = 0.0,
        ada_target: float | None = None,
        mode_seeking: float = 0.0,
        **base_options: Any,
    ) -> None:
        """``seed``, ``metadata`` (see Args) and Keras's own options go to `GANBase` as they are."""
        super().__init__(generator, discriminator, latent_dim, num_classes, **base_options)
        reg.check_regularizers(r1=r1, lecam=lecam, bcr=bcr, ada_target=ada_target,
                               mode_seeking=mode_seeking)
        self.mode_seeking = float(mode_seeking)
        self.extra_discriminators = list(extra_discriminators or [])
        self._track_ema_generator(ema, ema_generator)
        self.aggregation = reg.check_aggregation(aggregation)
        self.r1, self.lecam, self.bcr = float(r1), float(lecam), float(bcr)
        self.ada_target = None if ada_target is None else float(ada_target)
        self.diffaugment = ",".join(parse_policy(diffaugment))
        # Few-shot regularizers: their state and metrics exist only when they are on, so a plain
        # model has exactly the variables (and checkpoints) it had before they existed.
        self.regularizer_trackers = {name: keras.metrics.Mean(name=name)
                                     for name in ("r1", "lecam", "bcr") if getattr(self, name)}
        if self.lecam:
            self.lecam_anchors = keras.Variable(np.zeros((self.num_discriminators, 2), "float32"),
                                                trainable=False, aggregation="mean",
                                                name="lecam_anchors")
        if self.ada_target is not None:
            self.ada_p = keras.Variable(np.float32(0.0), trainable=False, aggregation="mean",
                                        name="ada_p")
            # [Σ sign(D(real)), number of real images] since the last adjustment of p
            self.ada_stats = keras.Variable(np.zeros(2, "float32"), trainable=False,
                                            aggregation="mean", name="ada_stats")

    @property
    def num_discriminators(self) -> int:
        """K, the number of discriminators (1 unless built with extra ones)."""
        return 1 + len(self.extra_discriminators)

    def all_discriminators(self) -> list[keras.Model]:
        """``[discriminator, *extra_discriminators]`` (a method, so saving walks each once)."""
        return [self.discriminator, *self.extra_discriminators]

    def _critic_networks(self) -> list[keras.Model]:
        return self.all_discriminators()

    def _regularizer_metrics(self) -> list[keras.metrics.Metric]:
        return list(self.regularizer_trackers.values())

    # ------------------------------------------------------------------ the game
    def train_step(self, data: Any) -> dict[str, tf.Tensor]:
        real, labels = data if isinstance(data, tuple) else (data, None)
        real = tf.cast(real, tf.float32) * 2.0 - 1.0
        batch = tf.shape(real)[0]
        seed = self._step_seed()
        nets = self.all_discriminators()
        ada_p = tf.convert_to_tensor(self.ada_p) if self.ada_target is not None else None

        for i in range(self.d_steps):
            s = self._part_seeds(seed, i, 4)
            z = self._noise(batch, s[0])
            with tf.GradientTape() as tape:
                fake = self._generate(z, labels, training=True)
                real_aug, fake_aug = self._augment(real, s[1], ada_p), self._augment(fake, s[2], ada_p)
                reg_seed = tf.random.experimental.stateless_fold_in(seed, _REGULARIZER_STREAM + i)
                games = [self._critic_game(k, net, real_aug, fake_aug, labels, s[3], reg_seed)
                         for k, net in enumerate(nets)]
                # K = 1: exactly the plain game; K > 1: the critic objective is the sum (GMAN).
                d_loss = games[0]["d_loss"] if len(games) == 1 else tf.add_n([g["d_loss"] for g in games])
                d_objective = gradient_objective(self.d_optimizer, d_loss)
            apply_own_gradients(self.d_optimizer, tape, d_objective, self.critic_variables)
            if self.lecam:
                self.lecam_anchors.assign(tf.stack([g["anchors"] for g in games]))

        s = self._part_seeds(seed, -1, 2)
        z = self._noise(batch, s[0])
        with tf.GradientTape() as tape:
            fake = self._generate(z, labels, training=True)
            fake_aug = self._augment(fake, s[1], ada_p)
            g_losses = [self.loss_fn.g_loss(self._discriminate(fake_aug, labels, net)) for net in nets]
            g_loss = (g_losses[0] if len(nets) == 1
                      else reg.aggregate_losses(tf.stack(g_losses), self.aggregation))
            if self.mode_seeking:
                z_2 = self._noise(batch, tf.random.experimental.stateless_fold_in(s[0], 1))
                g_loss += self.mode_seeking * reg.mode_seeking_penalty(
                    fake, self._generate(z_2, labels, training=True), z, z_2)
            g_objective = gradient_objective(self.g_optimizer, g_loss)
        apply_own_gradients(self.g_optimizer, tape, g_objective, self.generator.trainable_variables)

        if len(games) == 1:
            real_logits, fake_logits = games[0]["real_logits"], games[0]["fake_logits"]
        else:  # the metrics report the mean over discriminators
            d_loss = d_loss / len(games)
            real_logits = tf.concat([g["real_logits"] for g in games], axis=0)
            fake_logits = tf.concat([g["fake_logits"] for g in games], axis=0)
        for name, tracker in self.regularizer_trackers.items():
            tracker.update_state(tf.add_n([g[name] for g in games]) / len(games))
        extra = {}
        if self.ada_target is not None:
            extra["ada_p"] = self._ada_update(real_logits, batch, len(games))
        return self._end_step(d_loss, g_loss, real_logits, fake_logits, extra)

    def _critic_game(self, k: int, net: keras.Model, real: tf.Tensor, fake: tf.Tensor,
                     labels: tf.Tensor | None, gp_seed: tf.Tensor,
                     reg_seed: tf.Tensor) -> dict[str, tf.Tensor]:
        """Discriminator ``k``'s loss on the (augmented) batch, with its regularizers; returns
        ``d_loss``, the logits, each active regularizer's weighted term and LeCam's new anchors."""

        def critic(x: tf.Tensor) -> tf.Tensor:
            return self._discriminate(x, labels, net)

        d_loss, real_logits, fake_logits = self._adversarial_d_loss(critic, real, fake, gp_seed)
        out = {"real_logits": real_logits, "fake_logits": fake_logits}
        if self.r1:
            out["r1"] = reg.r1_penalty(critic, real, self.r1)
        if self.lecam:
            old = tf.convert_to_tensor(self.lecam_anchors)[k]
            means = tf.stop_gradient(tf.stack([tf.reduce_mean(real_logits), tf.reduce_mean(fake_logits)]))
            out["anchors"] = reg.ema(old, means, reg.LECAM_DECAY)
            out["lecam"] = self.lecam * reg.lecam_penalty(real_logits, fake_logits, out["anchors"][0],
                                                          out["anchors"][1])
        if self.bcr:
            policy = parse_policy(self.diffaugment) or reg.BCR_DEFAULT_POLICY

            def transform(x: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
                return diff_augment(x, policy, seed)

            seeds = tf.random.experimental.stateless_split(reg_seed, 2)
            out["bcr"] = self.bcr * reg.consistency_penalty(critic, real, fake, transform, seeds,
                                                            real_logits, fake_logits)
        for name in self.regularizer_trackers:
            d_loss += out[name]
        out["d_loss"] = d_loss
        return out

    def _ada_update(self, real_logits: tf.Tensor, batch: tf.Tensor, k: int) -> tf.Tensor:
        """ADA bookkeeping after a step: accumulate sign(D(real)) (``real_logits`` of the ``k``
        discriminators, concatenated); every `ADA_INTERVAL` steps move p by `ada_adjust` for the
        real images seen (all replicas') and start counting again. Returns the (new) p."""
        # Per replica; the variable's "mean" aggregation averages replicas, hence the factor.
        replicas = float(tf.distribute.get_strategy().num_replicas_in_sync)
        stats = tf.convert_to_tensor(self.ada_stats) + replicas * tf.stack(
            [tf.reduce_sum(tf.sign(real_logits)) / k, tf.cast(batch, tf.float32)])
        due = tf.equal(tf.convert_to_tensor(self.state)[1] % reg.ADA_INTERVAL, 0)
        r_t = stats[0] / tf.maximum(stats[1], 1.0)
        adjusted = reg.ada_adjust(self.ada_p, r_t, self.ada_target, stats[1])
        p = tf.where(due, adjusted, tf.convert_to_tensor(self.ada_p))
        self.ada_p.assign(p)
        self.ada_stats.assign(tf.where(due, tf.zeros_like(stats), stats))
        return p

    def _generate(self, z: tf.Tensor, labels: tf.Tensor | None, training: bool) -> tf.Tensor:
        inputs = [z, labels] if self.num_classes else z
        return tf.cast(self.generator(inputs, training=training), tf.float32)

    def _discriminate(self, images: tf.Tensor, labels: tf.Tensor | None,
                      net: keras.Model | None = None) -> tf.Tensor:
        inputs = [images, labels] if self.num_classes else images
        return tf.cast((net or self.discriminator)(inputs, training=True), tf.float32)

    def _augment(self, images: tf.Tensor, seed: tf.Tensor, ada_p: tf.Tensor | None = None) -> tf.Tensor:
        """DiffAugment with the model's policy; with ADA each transform is applied per image
        with probability ``ada_p`` (policy default `ADA_DEFAULT_POLICY`)."""
        policy = parse_policy(self.diffaugment)
        if self.ada_target is not None:
            return diff_augment(images, policy or reg.ADA_DEFAULT_POLICY, seed, p=ada_p)
        return diff_augment(images, policy, seed) if policy else images

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
        net = self._sampling_generator(use_ema)
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
        config.update(diffaugment=self.diffaugment or None, aggregation=self.aggregation, r1=self.r1,
                      mode_seeking=self.mode_seeking, lecam=self.lecam, bcr=self.bcr,
                      ada_target=self.ada_target)
        return config
