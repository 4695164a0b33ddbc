"""One process of tests/test_multi_worker.py: trains a tiny digits GAN and writes what it ended
with (generator steps, a SHA-256 of the weights, the weights) to ``OUT.npz``.

    python tests/multi_worker_script.py MODE CHECKPOINT_DIR EPOCHS OUT [PER_CLASS BATCH_SIZE]

MODE: ``multi_worker`` (``strategy="multi_worker"``, the cluster from ``TF_CONFIG``),
``mirrored`` (a MirroredStrategy over two logical CPUs in this one process) or ``single``.
"""

import hashlib
import json
import sys
import time

import tensorflow as tf

mode, checkpoint_dir, epochs, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
per_class, batch_size = (int(a) for a in sys.argv[5:7]) if len(sys.argv) > 5 else (3, 10)
if mode == "mirrored":  # logical devices must be set before any TF op runs
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np

import gan_augment as ga

strategy = {"multi_worker": "multi_worker", "single": None,
            "mirrored": tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]) if mode == "mirrored" else None}[mode]
small = ga.load_dataset("digits").subsample(per_class=per_class, seed=0)
start = time.perf_counter()
gan = ga.train_gan(small, epochs=epochs, batch_size=batch_size, seed=0, strategy=strategy,
                   checkpoint_dir=None if checkpoint_dir == "-" else checkpoint_dir, verbose=0)
seconds = time.perf_counter() - start
weights = [np.asarray(w) for w in gan.model.weights]
digest = hashlib.sha256(b"".join(np.ascontiguousarray(w).tobytes() for w in weights)).hexdigest()
np.savez(out, *weights, info=np.array(json.dumps({
    "steps": gan.model.steps_taken, "sha256": digest, "seconds": seconds,
    "train_seconds": gan.history.get("train_seconds", [])[-1:], "epochs": len(gan.history.get("d_loss", []))})))
print("WORKER_DONE", gan.model.steps_taken, digest, flush=True)
