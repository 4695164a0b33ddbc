"""Tabular GAN benchmark: training cost and synthetic-data quality on breast_cancer, wine, penguins.

For every data set and seed: a stratified 75/25 split of the real rows (the 25 % is the test set,
never trained on), `train_gan` on the 75 % with the default options, then

* training time (wall clock of `train_gan`, encoders included) and training rows/s
  (generator steps × batch size / training seconds), sampling rows/s (10 000 rows);
* synthetic rows drawn with the training labels (same class mix, same count);
* mean per-column distance (KS for continuous, total variation for categorical columns,
  `gan_augment.validation.validate.marginal_distances`) to the training rows;
* correlation-matrix difference of the encoded rows (`correlation_difference`);
* C2ST AUC: a gradient-boosting classifier telling training rows from synthetic rows
  (`metrics.c2st_auc` on `table_to_matrix` encodings; 0.5 = indistinguishable);
* train-on-synthetic / test-on-real (TSTR) accuracy of HistGradientBoosting and logistic
  regression, against train-on-real (TRTR) on the same test set.

Every distance has a real-vs-real baseline: the same metric between the training rows and the
real test rows, at the test set's size for both (equal counts). Mean ± std over seeds.

The machine is shared: timings are noisy. Usage:
    python bench/tabular.py [--seeds 3] [--datasets breast_cancer,wine,penguins] [--set pac=1 ...]
"""

from __future__ import annotations

import argparse
import ast
import os
import time
import warnings
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import numpy as np
import pandas as pd

import gan_augment as ga
from gan_augment.downstream import evaluate_downstream, table_to_matrix
from gan_augment.validation import metrics as M
from gan_augment.validation.validate import correlation_difference, marginal_distances


def equal(frame: pd.DataFrame, y: np.ndarray, n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    idx = M.equal_count_subsample(np.arange(len(frame)), n, seed=seed)
    return frame.iloc[idx].reset_index(drop=True), y[idx]


def run(name: str, seed: int, options: dict[str, Any]) -> dict[str, float]:
    data = ga.load_dataset(name)
    train, test = data.split(0.25, seed=seed)
    start = time.perf_counter()
    gan = ga.train_gan(train, seed=seed, verbose=0, **options)
    seconds = time.perf_counter() - start
    steps, batch = gan.model.steps_taken, gan.options["batch_size"]
    start = time.perf_counter()
    gan.sample(10_000, seed=seed + 1)
    sample_rate = 10_000 / (time.perf_counter() - start)

    synthetic = gan.sample(labels=train.y, seed=seed + 2)
    n = len(test)
    t_real, _ = equal(train.frame, train.y, n, seed)
    t_syn, _ = equal(synthetic.frame, synthetic.y, n, seed + 1)
    m_syn = float(np.mean(list(marginal_distances(t_real, t_syn).values())))
    m_base = float(np.mean(list(marginal_distances(t_real, test.frame).values())))
    f_real, encoding = table_to_matrix(t_real)
    f_syn, f_test = table_to_matrix(t_syn, encoding)[0], table_to_matrix(test.frame, encoding)[0]
    out = {
        "train_s": seconds, "steps": steps, "train_rows_per_s": steps * batch / seconds,
        "sample_rows_per_s": sample_rate,
        "ks_tv_mean": m_syn, "ks_tv_mean_real": m_base,
        "corr_diff": correlation_difference(f_real, f_syn), "corr_diff_real": correlation_difference(f_real, f_test),
        "c2st_auc": M.c2st_auc(f_real, f_syn, seed=seed), "c2st_auc_real": M.c2st_auc(f_real, f_test, seed=seed),
    }
    for clf in ("hgb", "logreg"):
        report = evaluate_downstream(train, test, synthetic, classifier=clf, seeds=[seed],
                                     classical_augmentation=False)
        rows = {r["setting"]: r["accuracy_mean"] for r in report.rows}
        out[f"trtr_{clf}"], out[f"tstr_{clf}"] = rows["real"], rows["synthetic-only"]
        out[f"real+syn_{clf}"] = rows["real+synthetic"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", default="breast_cancer,wine,penguins")
    parser.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE",
                        help="a train_gan option (Python literal), e.g. --set pac=1 --set d_steps=5")
    args = parser.parse_args()
    options = {k: ast.literal_eval(v) for k, v in (item.split("=", 1) for item in args.set)}
    print(f"train_gan options: {options or 'defaults'}", flush=True)
    rows = []
    for name in args.datasets.split(","):
        results = []
        for seed in range(args.seeds):
            r = run(name, seed, options)
            print(f"{name} seed {seed}: " + ", ".join(f"{k}={v:.3f}" for k, v in r.items()), flush=True)
            results.append(r)
        frame = pd.DataFrame(results)
        row = {"dataset": name}
        for key in frame.columns:
            row[key] = f"{frame[key].mean():.3f} ± {frame[key].std(ddof=1) if len(frame) > 1 else 0.0:.3f}"
        rows.append(row)
    table = pd.DataFrame(rows).set_index("dataset").T
    print()
    print(table.to_markdown())


if __name__ == "__main__":
    main()
