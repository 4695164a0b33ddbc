"""Train-step throughput and time-to-quality of the default image GAN (CPU figures).

Prints:
  1. images/s of `train_step` for digits 8x8 and digits upsampled to 28x28, batch 64 and 256,
     XLA off and on;
  2. time-to-quality: training seconds (evaluation time excluded) until an independent classifier
     (an SVM trained on real digits) agrees with the conditioning label on >= 95% of generated
     samples; and, for the default 8x8 configuration, label fidelity and
     train-on-synthetic/test-on-real (TSTR) accuracy after the default training run.

Targets (issue 2), 2 CPU cores: default digits reaches fidelity >= 0.98 and TSTR >= 0.90 within
90 s of training; 28x28 reaches fidelity 0.95 in under 3 minutes.

Usage: python bench/train_throughput.py [--quick] [--skip-throughput] [--skip-quality]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from sklearn.svm import SVC

import gan_augment as ga
from gan_augment.models import build_image_gan


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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer steps, for a smoke run")
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--skip-quality", action="store_true")
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


if __name__ == "__main__":
    main()
