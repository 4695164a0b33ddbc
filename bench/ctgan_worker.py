"""Train CTGAN (the reference implementation, sdv-dev/CTGAN) on a CSV and sample rows per class.

Run by `bench/tabular.py` with the Python of an environment where ``ctgan`` installs (it needs
PyTorch; keep it apart from the project's environment if their pins conflict):

    python -m venv .venv-ctgan && .venv-ctgan/bin/pip install ctgan
    python bench/tabular.py --ctgan-python .venv-ctgan/bin/python

Usage (by hand):
    python bench/ctgan_worker.py TRAIN.csv OUT.csv --target y --counts '{"a": 100, "b": 40}'
        [--discrete c1,c2] [--epochs 300] [--seed 0]

Prints one JSON line: training wall and CPU seconds (this process, all threads), and rows/s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
import warnings

warnings.filterwarnings("ignore")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("train")
    p.add_argument("out")
    p.add_argument("--target", required=True)
    p.add_argument("--counts", required=True, help="JSON {class value: rows to sample}")
    p.add_argument("--discrete", default="", help="comma-separated discrete columns besides the target")
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    import numpy as np
    import pandas as pd
    import torch
    from ctgan import CTGAN

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    frame = pd.read_csv(args.train)
    frame[args.target] = frame[args.target].astype(str)
    discrete = [args.target] + [c for c in args.discrete.split(",") if c]
    continuous = [c for c in frame.columns if c not in discrete]
    frame = frame.dropna(subset=continuous)  # CTGAN refuses missing values in continuous columns
    model = CTGAN(epochs=args.epochs, verbose=False)
    wall, cpu = time.perf_counter(), cpu_seconds()
    model.set_random_state(args.seed)
    model.fit(frame, discrete_columns=discrete)
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    parts = []
    for value, n in json.loads(args.counts).items():
        if n > 0:
            parts.append(model.sample(int(n), condition_column=args.target, condition_value=str(value)))
    out = pd.concat(parts, ignore_index=True) if parts else frame.iloc[:0]
    tmp = args.out + ".part"
    out.to_csv(tmp, index=False)
    os.replace(tmp, args.out)
    print(json.dumps({"train_s": wall, "cpu_s": cpu, "rows": len(frame), "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
