"""Train-step throughput and time-to-quality of the default image GAN (CPU figures).

Prints:
  1. images/s of `train_step` for digits 8x8 and digits upsampled to 28x28, batch 64 and 256,
     XLA off and on;
  2. time-to-quality: training seconds (evaluation time excluded) until an independent classifier
     (an SVM trained on real digits) agrees with the conditioning label on >= 95% of generated
     samples; and, for the default 8x8 configuration, label fidelity and
     train-on-synthetic/test-on-real (TSTR) accuracy after the default training run;
  3. achieved FLOP/s (issue 14): for 28x28 digits at batch 64 and 256, the FLOPs of one GAN
     `train_step` counted from its traced graph, times the steady-state steps/s, against a plain
     Keras `fit` of a classifier with the same FLOPs per step (the ratio is the figure); XLA and
     mixed precision (float16, bfloat16) of the GAN step; the gradient passes alone (no Adam,
     EMA or metrics) to split the step's time; a large matmul as the machine's practical peak;
     and, from TensorFlow's profiler, how the default GAN step's and the fit's op time divides
     between conv/matmul, batch norm, Adam and the rest.

FLOPs are counted by TensorFlow's op registry (the `flops` statistics `tf.compat.v1.profiler`
uses) on the graph of `train_step` traced at a fixed batch, after pruning the ops whose results
nothing uses (as the runtime does); BatchMatMul is counted here because the registry ignores its
adjoint flags. An analytic count per layer (2 x multiply-adds of every Conv2D, Conv2DTranspose,
Dense and Dot, forward and the backward passes the step needs) cross-checks the matmul/conv part.
The settings are timed in interleaved rounds (the machine is shared): steps/s is the median over
rounds of the steady-state rate (first step of each round excluded); ratios are medians of
per-round ratios.

Targets (issue 2), 2 CPU cores: default digits reaches fidelity >= 0.98 and TSTR >= 0.90 within
90 s of training; 28x28 reaches fidelity 0.95 in under 3 minutes.

Usage: python bench/train_throughput.py [--quick] [--skip-throughput] [--skip-quality]
           [--skip-flops] [--flops-batches 64,256] [--rounds 4] [--round-seconds 1.5]
           [--fit-width W] [--skip-op-profile]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from sklearn.svm import SVC
from tensorflow.python.framework import ops as tf_ops

import gan_augment as ga
from gan_augment.models import build_image_gan
from gan_augment.models.gan import ConditionalGAN


def throughput(ds: ga.Dataset, batch: int, jit: bool, steps: int) -> float:
    gan = build_image_gan(ds.shape, ds.num_classes)
    gan.compile(jit_compile=jit)
    data = (tf.data.Dataset.from_tensor_slices((ds.x, ds.y.astype("int32")))
            .repeat().batch(batch, drop_remainder=True).prefetch(4))
    gan.fit(data, epochs=1, steps_per_epoch=5, shuffle=False, verbose=0)  # trace / compile
    start = time.perf_counter()
    gan.fit(data, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0)
    return steps * batch / (time.perf_counter() - start)


class FidelityClock(keras.callbacks.Callback):
    """Measures label fidelity every `every` epochs; stops at `target`. Evaluation time is
    excluded from the training clock."""

    def __init__(self, real: ga.Dataset, every: int, target: float | None, n: int = 1000) -> None:
        super().__init__()
        self.clf = SVC(gamma="scale", C=10).fit(real.x.reshape(len(real), -1), real.y)
        self.every, self.target, self.n = every, target, n
        self.train_seconds, self.curve = 0.0, []

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.train_seconds += time.perf_counter() - self.t0
        if (epoch + 1) % self.every:
            return
        gan = self.model
        labels = np.arange(self.n) % gan.num_classes
        z = np.random.default_rng(123).standard_normal((self.n, gan.latent_dim)).astype("float32")
        x = gan.generate(z, labels)
        fid = float(np.mean(self.clf.predict(x.reshape(len(x), -1)) == labels))
        self.curve.append((epoch + 1, round(self.train_seconds, 1), round(fid, 3)))
        if self.target is not None and fid >= self.target:
            self.model.stop_training = True


def tstr(gan: ga.TrainedGAN, real_test: ga.Dataset, n: int = 2000) -> float:
    s = gan.sample(n, seed=7)
    clf = SVC(gamma="scale", C=10).fit(s.x.reshape(len(s), -1), s.y)
    return float(clf.score(real_test.x.reshape(len(real_test), -1), real_test.y))

# ---------------------------------------------------------------------------------------------
# 3. Achieved FLOP/s of the GAN train step against a plain Keras `fit` of the same size
# ---------------------------------------------------------------------------------------------

#: Ops whose FLOPs the analytic per-layer count covers (the matmul/conv part of a step).
MATMUL_OPS = frozenset({"Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "MatMul",
                        "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3"})


def op_flops(graph: tf.Graph, op: tf.Operation) -> int | None:
    """FLOPs of one op by TensorFlow's registry (None: the op has no registered count).
    BatchMatMul is counted here: the registry reads ``transpose_a``, which BatchMatMulV2/V3 do
    not have (their flag is ``adj_x``), and overcounts the gradients of a Dot layer ~6000-fold."""
    if op.type.startswith("BatchMatMul"):
        a, out = op.inputs[0].shape, op.outputs[0].shape
        k = a[-2] if op.get_attr("adj_x") else a[-1]
        return 2 * int(k) * int(np.prod(out.as_list()))
    stats = tf_ops.get_stats_for_node_def(graph, op.node_def, "flops")
    return None if stats.value is None else int(stats.value)


def live_ops(fn: tf.types.experimental.ConcreteFunction) -> set[tf.Operation]:
    """The ops of ``fn``'s graph that run: those its outputs, its control outputs (variable
    updates) or a stateful op depend on; TensorFlow prunes the rest (e.g. the gradients of the
    generator that the discriminator's tape computes and nobody reads)."""
    graph = fn.graph
    todo = [t.op for t in fn.outputs] + list(graph.control_outputs)
    todo += [op for op in graph.get_operations() if getattr(op, "_is_stateful", False)]
    live: set[tf.Operation] = set()
    while todo:
        op = todo.pop()
        if op in live:
            continue
        live.add(op)
        todo.extend(t.op for t in op.inputs)
        todo.extend(op.control_inputs)
    return live


@dataclass
class FlopCount:
    total: int          # every live op with a registered count (convs, matmuls, elementwise, Adam...)
    matmul: int         # the live Conv2D*/MatMul/BatchMatMul ops only
    graph_total: int    # before pruning dead ops
    uncounted: int      # live ops with a registered count whose shapes were unknown (should be 0)


def count_step_flops(model: keras.Model, batch: int, image_shape: tuple[int, ...]) -> FlopCount:
    """FLOPs of one ``model.train_step`` on a batch of ``batch`` images (int32 labels)."""

    @tf.function
    def step(x, y):
        return model.train_step((x, y))

    fn = step.get_concrete_function(tf.TensorSpec([batch, *image_shape], tf.float32),
                                    tf.TensorSpec([batch], tf.int32))
    live = live_ops(fn)
    level = tf.get_logger().level
    tf.get_logger().setLevel("ERROR")  # the registry calls a deprecated TF1 shape helper
    total = matmul = graph_total = uncounted = 0
    for op in fn.graph.get_operations():
        try:
            f = op_flops(fn.graph, op)
        except ValueError:  # a shape not fully known
            uncounted += op in live
            continue
        if f is None:
            continue
        graph_total += f
        if op in live:
            total += f
            matmul += f if op.type in MATMUL_OPS else 0
    tf.get_logger().setLevel(level)
    return FlopCount(total, matmul, graph_total, uncounted)


def layer_macs(model: keras.Model) -> tuple[int, int]:
    """(multiply-adds of one image's forward pass through the Conv2D, Conv2DTranspose, Dense and
    Dot layers of ``model``, those of the layer that reads the model's image/noise input). For
    these layers the input-gradient and the weight-gradient passes cost as many as the forward."""
    from gan_augment.models.layers import InnerProduct

    total, first = 0, 0
    inputs = {id(t) for t in model.inputs}
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2DTranspose):
            kh, kw = layer.kernel_size
            _, h, w, cin = layer.input.shape
            macs = h * w * kh * kw * cin * layer.filters
        elif isinstance(layer, keras.layers.Conv2D):
            kh, kw = layer.kernel_size
            _, h, w, _ = layer.output.shape
            macs = h * w * kh * kw * layer.input.shape[-1] * layer.filters
        elif isinstance(layer, keras.layers.Dense):
            macs = layer.input.shape[-1] * layer.units
        elif isinstance(layer, keras.layers.Dot | InnerProduct):  # the label projection (InnerProduct now)
            macs = layer.input[0].shape[-1]
        else:
            continue
        total += macs
        if isinstance(layer, keras.layers.Conv2D | keras.layers.Conv2DTranspose) and id(layer.input) in inputs:
            first += macs
    return total, first


def analytic_gan_flops(gan: ConditionalGAN, batch: int) -> int:
    """2 x multiply-adds of one default train step (one critic step, one discriminator, no
    DiffAugment or regularizers), pass by pass:
    critic step: G forward, D forward on real and fake, D weight gradients (both), D input
    gradients (both, except D's first layer: nothing upstream is trained by this step);
    generator step: G forward, D forward on fake, D input gradients (all layers, down to the
    image), G weight and input gradients (all: the label embedding is trained).
    Per image that is 4 G + 8 D - 2 D_first."""
    if gan.d_steps != 1 or gan.num_discriminators != 1 or gan.diffaugment or gan.regularizer_trackers \
            or gan.mode_seeking or gan.ada_target is not None or gan.loss_fn.gradient_penalty:
        raise ValueError("the analytic count covers the default step only")
    g, _ = layer_macs(gan.generator)
    d, d_first = layer_macs(gan.discriminator)
    return 2 * batch * (4 * g + 8 * d - 2 * d_first)


def analytic_fit_flops(model: keras.Model, batch: int) -> int:
    """2 x multiply-adds of one `fit` step: forward, weight gradients, input gradients except the
    first layer's (3 C - C_first per image)."""
    c, c_first = layer_macs(model)
    return 2 * batch * (3 * c - c_first)


def reference_classifier(image_shape: tuple[int, int, int], num_classes: int, width: int) -> keras.Model:
    """A plain classifier of the discriminator's topology (3x3 convolutions, strides 2, 2, 1,
    widths w, 2w, 4w, LeakyReLU, a dense head)."""
    layers = keras.layers
    return keras.Sequential([
        keras.Input(image_shape),
        layers.Conv2D(width, 3, strides=2, padding="same"), layers.LeakyReLU(0.2),
        layers.Conv2D(2 * width, 3, strides=2, padding="same"), layers.LeakyReLU(0.2),
        layers.Conv2D(4 * width, 3, strides=1, padding="same"), layers.LeakyReLU(0.2),
        layers.Flatten(), layers.Dense(num_classes),
    ], name=f"reference_w{width}")


def build_reference_classifier(image_shape: tuple[int, int, int], num_classes: int, width: int,
                               jit: bool) -> keras.Model:
    """`reference_classifier`, compiled as a user would (Adam, sparse cross-entropy)."""
    keras.utils.set_random_seed(0)
    model = reference_classifier(image_shape, num_classes, width)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=jit)
    model.optimizer.build(model.trainable_variables)
    return model


def matched_width(image_shape: tuple[int, int, int], num_classes: int, target_per_image: float) -> int:
    """The classifier width (a multiple of 8) whose analytic FLOPs per image are closest to
    ``target_per_image`` (in ratio)."""
    def per_image(w: int) -> float:
        return analytic_fit_flops(reference_classifier(image_shape, num_classes, w), 1)

    return min(range(8, 257, 8), key=lambda w: abs(math.log(per_image(w) / target_per_image)))


class GradientPassesOnly(ConditionalGAN):
    """The default step's network passes and gradients, nothing else: no optimizer updates, no
    EMA, no metrics (the gradients are summed so that they are computed). The generator step's
    discriminator pass waits for the critic's gradients, as it waits for the critic's update in
    the real step. Timing it splits the step's time between the layers and the bookkeeping."""

    def train_step(self, data):
        real, labels = data
        real = tf.cast(real, tf.float32) * 2.0 - 1.0
        batch = tf.shape(real)[0]
        seed = self._step_seed()
        s = self._part_seeds(seed, 0, 4)
        with tf.GradientTape() as tape:
            fake = self._generate(self._noise(batch, s[0]), labels, training=True)
            d_loss, _, _ = self._adversarial_d_loss(lambda x: self._discriminate(x, labels), real, fake, s[3])
        d_grads = tape.gradient(d_loss, self.critic_variables)
        s = self._part_seeds(seed, -1, 2)
        with tf.GradientTape() as tape:
            fake = self._generate(self._noise(batch, s[0]), labels, training=True)
            with tf.control_dependencies(d_grads):
                g_loss = self.loss_fn.g_loss(self._discriminate(fake, labels))
        g_grads = tape.gradient(g_loss, self.generator.trainable_variables)
        return {"grad_sum": tf.add_n([tf.reduce_sum(tf.cast(g, tf.float32)) for g in d_grads + g_grads])}


class StepClock(keras.callbacks.Callback):
    """The time at the end of every batch of a `fit` call."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())


@dataclass
class Setting:
    """One timed setting: a compiled model and its batches, or (``model`` None) a float32
    ``n`` x ``n`` matmul, the machine's practical peak."""

    name: str
    model: keras.Model | None
    data: tf.data.Dataset | None
    count: FlopCount                # counted FLOPs of one step
    steps: int = 3                  # steps of one timed round (set after the warm-up)
    rates: list[float] = field(default_factory=list)
    matmul: Callable[[], Any] | None = None
    best: float = 0.0               # the matmul's fastest single call (steps/s)

    @property
    def flops(self) -> int:
        return self.count.total

    def round(self, steps: int) -> float:
        """Steady-state steps/s over ``steps`` steps; the first step is not timed (for `fit`: it
        starts the iterator and fills the prefetch buffer)."""
        if self.matmul is not None:
            times = []
            for _ in range(steps):
                self.matmul()
                times.append(time.perf_counter())
            self.best = max([self.best, *(1 / (b - a) for a, b in itertools.pairwise(times))])
        else:
            clock = StepClock()
            self.model.fit(self.data, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0,
                           callbacks=[clock])
            times = clock.times
        return (len(times) - 1) / (times[-1] - times[0])


def matmul_setting(n: int = 2048) -> Setting:
    a = tf.random.normal([n, n])
    f = tf.function(lambda a: tf.reduce_sum(tf.matmul(a, a)))
    flops = 2 * n**3
    return Setting(f"float32 matmul {n}x{n}", None, None, FlopCount(flops, flops, flops, 0),
                   matmul=lambda: f(a).numpy())


def batches_of(ds: ga.Dataset, batch: int) -> tf.data.Dataset:
    return (tf.data.Dataset.from_tensor_slices((ds.x, ds.y.astype("int32")))
            .repeat().batch(batch, drop_remainder=True).prefetch(4))


#: Categories of the op-time profile: (label, predicate on (op type, op name)); first match wins.
OP_CATEGORIES: tuple[tuple[str, Callable[[str, str], bool]], ...] = (
    ("conv/matmul", lambda t, n: "Conv2D" in t or "MatMul" in t),
    ("batch norm", lambda t, n: "_bn" in n or "batch_normalization" in n),
    ("Adam", lambda t, n: "/adam" in n),
    ("other", lambda t, n: True),
)


def op_profile(st: Setting, steps: int) -> str:
    """Where a step's time goes: ``steps`` steps under TensorFlow's profiler, the op events'
    durations summed by `OP_CATEGORIES`; and the conv/matmul ops' own FLOP/s."""
    try:
        from tensorflow.tsl.profiler.protobuf import xplane_pb2
    except ImportError:  # a private module of TensorFlow; the profile is optional
        return f"{st.name}: op profile unavailable (no tensorflow.tsl xplane_pb2)"
    import glob
    import tempfile

    with tempfile.TemporaryDirectory() as logdir:
        start = time.perf_counter()
        tf.profiler.experimental.start(logdir)
        st.round(steps + 1)
        tf.profiler.experimental.stop()
        wall = (time.perf_counter() - start) / (steps + 1)
        space = xplane_pb2.XSpace()
        with open(max(glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True)), "rb") as fh:
            space.ParseFromString(fh.read())
    seconds = dict.fromkeys((label for label, _ in OP_CATEGORIES), 0.0)
    n_ops = 0
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):  # the executor's threads: one event per op
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name  # "scope/op_name:OpType"
                if ":" not in name or "::" in name or name.startswith("Iterator"):
                    continue
                op_name, op_type = name.rsplit(":", 1)
                label = next(label for label, test in OP_CATEGORIES if test(op_type, op_name))
                seconds[label] += event.duration_ps * 1e-12
                n_ops += 1
    # the first step of the round is in the profile too; scale to one step
    per_step = {k: v / (steps + 1) for k, v in seconds.items()}
    total = sum(per_step.values())
    shares = ", ".join(f"{k} {v / total:.0%}" for k, v in per_step.items())
    conv_rate = st.count.matmul / per_step["conv/matmul"] / 1e9 if per_step["conv/matmul"] else float("nan")
    return (f"{st.name}: {n_ops / (steps + 1):.0f} ops/step, op time {total * 1e3:.0f} ms/step "
            f"(wall {wall * 1e3:.0f} ms, profiler on): {shares}; conv/matmul ops alone "
            f"{conv_rate:.1f} GFLOP/s")


def flops_comparison(ds: ga.Dataset, batches: tuple[int, ...], rounds: int, round_seconds: float,
                     fit_width: int | None, profile_steps: int) -> None:
    shape, k = ds.shape, ds.num_classes
    probe = build_image_gan(shape, k)
    probe.compile()
    per_image_gan = analytic_gan_flops(probe, 1)
    width = fit_width or matched_width(shape, k, per_image_gan)
    del probe
    print(f"\n== achieved FLOP/s of the train step vs plain Keras fit ({shape[0]}x{shape[1]} digits, "
          f"{k} classes; reference: classifier of the discriminator's topology, width {width}) ==")
    print("FLOPs: TensorFlow's op registry on the traced train_step graph, dead ops pruned; an analytic "
          "per-layer count cross-checks the conv/matmul part.")

    def gan(jit: bool = False, mixed: str | None = None, cls: type = ConditionalGAN) -> keras.Model:
        g = build_image_gan(shape, k, mixed_precision=mixed)
        if cls is not ConditionalGAN:
            g = cls(g.generator, g.discriminator, g.latent_dim, g.num_classes, ema=False)
        g.compile(jit_compile=jit)
        return g

    # (name, builder, index of the setting whose count it shares: XLA compiles the same graph)
    builders: list[tuple[str, Callable[[], keras.Model], int | None]] = [
        ("GAN step (default: fp32, XLA off)", lambda: gan(), None),
        ("GAN step, XLA", lambda: gan(jit=True), 0),
        ("GAN step, mixed_float16", lambda: gan(mixed="mixed_float16"), None),
        ("GAN step, mixed_bfloat16", lambda: gan(mixed="mixed_bfloat16"), None),
        ("GAN gradient passes only", lambda: gan(cls=GradientPassesOnly), None),
        (f"fit: classifier w{width} (plain)", lambda: build_reference_classifier(shape, k, width, False), None),
        (f"fit: classifier w{width}, XLA", lambda: build_reference_classifier(shape, k, width, True), 5),
    ]
    GAN, FIT = 0, 5  # indices of the default GAN step and of the plain fit
    rows, notes = [], []
    for batch in batches:
        settings: list[Setting] = []
        for name, build, same_as in builders:
            model = build()
            count = settings[same_as].count if same_as is not None else count_step_flops(model, batch, shape)
            if count.uncounted:
                notes.append(f"warning: {count.uncounted} live ops of {name} have unknown shapes; not counted")
            settings.append(Setting(name, model, batches_of(ds, batch), count))
        g_count, f_count = settings[GAN].count, settings[FIT].count
        g_analytic = analytic_gan_flops(settings[GAN].model, batch)
        f_analytic = analytic_fit_flops(settings[FIT].model, batch)
        notes.append(
            f"batch {batch}: GAN step {g_count.total / 1e9:.3f} GFLOP counted, of which conv/matmul "
            f"{g_count.matmul / 1e9:.3f} (analytic {g_analytic / 1e9:.3f}, {g_count.matmul / g_analytic:.3f}x); "
            f"{g_count.graph_total / 1e9:.3f} before pruning dead ops. fit step {f_count.total / 1e9:.3f} "
            f"(conv/matmul {f_count.matmul / 1e9:.3f}, analytic {f_analytic / 1e9:.3f}). "
            f"GAN/fit FLOPs per step: {g_count.total / f_count.total:.2f}")
        settings.append(matmul_setting())
        for st in settings:  # trace / compile (untimed first step), size a round to ~round_seconds
            st.steps = max(2, round(round_seconds * st.round(3)) + 1)
        for r in range(rounds):  # interleaved: a rotating order, every setting once per round
            shift = r % len(settings)
            for st in settings[shift:] + settings[:shift]:
                st.rates.append(st.round(st.steps))
        peak = settings[-1].best * settings[-1].flops  # the fastest matmul seen: this machine's limit
        for st in settings:
            def median_ratio(other: Setting, flops: bool = True, st: Setting = st) -> float:
                """Median over rounds of st's FLOP/s (steps/s) over ``other``'s."""
                return statistics.median((a * (st.flops if flops else 1)) / (b * (other.flops if flops else 1))
                                         for a, b in zip(st.rates, other.rates))
            is_model = st.model is not None
            sps = statistics.median(st.rates)
            rows.append(f"{st.name:<36}{batch if is_model else '-':>6}{st.flops / 1e9:>12.3f}{sps:>9.2f}"
                        f"{sps * st.flops / 1e9:>9.1f}"
                        + (f"{median_ratio(settings[FIT]):>14.2f}{median_ratio(settings[GAN], False):>15.2f}"
                           if is_model else f"{'':>14}{'':>15}")
                        + f"{sps * st.flops / peak:>10.0%}")
        notes.append(f"batch {batch}: {rounds} rounds; steps per round: {', '.join(str(s.steps) for s in settings)}; "
                     f"peak (fastest single matmul): {peak / 1e9:.1f} GFLOP/s")
        if profile_steps:
            for st in (settings[GAN], settings[FIT]):
                notes.append(f"op profile, batch {batch}: " + op_profile(st, profile_steps))
        print(f"  (batch {batch} done)", flush=True)
        del settings
        gc.collect()
    for note in notes:
        print(note)
    print(f"{'setting':<36}{'batch':>6}{'GFLOP/step':>12}{'steps/s':>9}{'GFLOP/s':>9}"
          f"{'ratio to fit':>14}{'x GAN default':>15}{'of peak':>10}")
    for row in rows:
        print(row)
    print("ratio to fit: FLOP/s over the plain fit's (fp32, XLA off) at the same batch; x GAN default: "
          "steps/s over the default GAN step's (both medians of per-round ratios); of peak: median FLOP/s over "
          "the fastest single float32 matmul seen in the batch's rounds (a shared machine: an underestimate). "
          "FLOPs are counted on each row's own traced graph (the XLA rows: the same graph, compiled by XLA).")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer steps, for a smoke run")
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--skip-quality", action="store_true")
    p.add_argument("--skip-flops", action="store_true", help="skip the FLOP/s comparison with a plain fit")
    p.add_argument("--flops-batches", default="64,256", help="batch sizes of the FLOP/s comparison")
    p.add_argument("--rounds", type=int, default=None, help="interleaved timing rounds (default 4; quick 2)")
    p.add_argument("--round-seconds", type=float, default=None,
                   help="time of one setting's round (default 1.5; quick 0.5)")
    p.add_argument("--fit-width", type=int, default=None,
                   help="width of the reference classifier (default: the one matching the GAN's FLOPs)")
    p.add_argument("--skip-op-profile", action="store_true",
                   help="skip the op-time profile (TensorFlow profiler) of the GAN step and the fit")
    args = p.parse_args()
    print(f"CPU cores visible: {os.cpu_count()}; TensorFlow {tf.__version__}, Keras {keras.__version__}; "
          f"GPUs: {len(tf.config.list_physical_devices('GPU'))}")
    digits8 = ga.load_dataset("digits")
    digits28 = ga.load_dataset("digits", image_size=28)

    if not args.skip_throughput:
        print("\n== train_step throughput (images/s) ==")
        print(f"{'data':<12}{'batch':>6}{'XLA off':>12}{'XLA on':>12}")
        for name, ds in (("digits 8x8", digits8), ("digits 28x28", digits28)):
            for batch in (64, 256):
                steps = 10 if args.quick else (60 if name.endswith("8x8") else 20)
                off = throughput(ds, batch, False, steps)
                on = throughput(ds, batch, True, steps)
                print(f"{name:<12}{batch:>6}{off:>12.0f}{on:>12.0f}", flush=True)

    if not args.skip_quality:
        print("\n== time to quality (training seconds, evaluation excluded) ==")
        train8, test8 = digits8.split(0.25, seed=0)
        clock = FidelityClock(train8, every=5, target=None)
        gan = ga.train_gan(train8, seed=0, verbose=0, callbacks=[clock],
                           **({"epochs": 20} if args.quick else {}))
        reached = next(((e, s) for e, s, f in clock.curve if f >= 0.95), None)
        final_fid = clock.curve[-1][2]
        print(f"digits 8x8, default options ({gan.options['epochs']} epochs, batch "
              f"{gan.options['batch_size']}): fidelity curve (epoch, s, fidelity): {clock.curve}")
        print(f"  fidelity 0.95 reached after: {reached[1] if reached else 'not reached'} s"
              f" (epoch {reached[0] if reached else '-'})")
        print(f"  after {clock.train_seconds:.1f} s of training: label fidelity {final_fid:.3f} "
              f"(target >= 0.98), TSTR accuracy {tstr(gan, test8):.3f} (target >= 0.90), "
              f"train-on-real accuracy {SVC(gamma='scale', C=10).fit(train8.x.reshape(len(train8), -1), train8.y).score(test8.x.reshape(len(test8), -1), test8.y):.3f}")

        train28, test28 = digits28.split(0.25, seed=0)
        clock28 = FidelityClock(train28, every=5, target=0.95)
        gan28 = ga.train_gan(train28, seed=0, verbose=0, callbacks=[clock28],
                             epochs=20 if args.quick else 400)
        print(f"digits 28x28: fidelity curve (epoch, s, fidelity): {clock28.curve}")
        hit = clock28.curve[-1][2] >= 0.95
        print(f"  fidelity 0.95 {'reached' if hit else 'NOT reached'} after {clock28.train_seconds:.1f} s "
              f"of training (target < 180 s); TSTR accuracy {tstr(gan28, test28):.3f}")

    if not args.skip_flops:
        flops_comparison(digits28, tuple(int(b) for b in args.flops_batches.split(",")),
                         rounds=args.rounds or (2 if args.quick else 4),
                         round_seconds=args.round_seconds or (0.5 if args.quick else 1.5),
                         fit_width=args.fit_width, profile_steps=0 if args.skip_op_profile else 2)


if __name__ == "__main__":
    main()
