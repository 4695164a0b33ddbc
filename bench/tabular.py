"""Tabular GAN against CTGAN on real tables: fidelity, usefulness and training cost.

For every table and seed: a stratified 75/25 split of the real rows (the 25 % is the test set,
nothing trains on it). Each generator trains on the 75 % with its defaults: `train_gan`
(this project) and, when ``--ctgan-python`` names a Python where ``ctgan`` is installed, CTGAN
0.12 (its defaults, 300 epochs; the columns this project treats as categorical are passed as
its ``discrete_columns``, so both know the same about the table). Then, per generator:

* **shapes** — column shapes, mean of 1 − KS / 1 − TV per column; **pairs** — column pair
  trends, mean over column pairs of the correlation or contingency similarity
  (`gan_augment.validation.table_quality`, SDMetrics' definitions), synthetic rows drawn with
  the training labels (same class mix and count) against the training rows;
* **c2st** — ROC AUC of a gradient-boosting classifier telling training rows from synthetic rows
  (`metrics.c2st_auc` on `table_to_matrix` encodings, equal counts, at most ``C2ST_ROWS`` each;
  0.5 = indistinguishable);
* **tstr** — macro-F1 on the test set of a classifier trained on the synthetic rows only
  (train-on-synthetic, test-on-real);
* **fill** — macro-F1 gain on the test set when every class of the training rows is filled up to
  the largest class with synthetic rows, over real-only (0 on balanced tables);
* **cpu_s** / **wall_s** — training CPU seconds (process time of all threads) and wall seconds.

The "real" column is the real-vs-real reference: the test rows in place of synthetic ones
(shapes, pairs, C2ST at the test set's size) and train-on-real (TSTR column). The classifier is
scikit-learn's HistGradientBoosting with a fixed 200 iterations (no early stopping: every
setting gets the same number of boosting steps), seeded. Mean ± std over seeds.

The machine is shared: timings are noisy; CPU seconds are the fairer cost. Usage:
    python bench/tabular.py [--seeds 3] [--tables fair,cattaneo2,...] [--ctgan-python PATH]
                            [--ctgan-epochs 300] [--set moment_weight=0 ...]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import numpy as np
import pandas as pd
from real_tables import TABLES, load

import gan_augment as ga
from gan_augment.data.matrix import table_to_matrix
from gan_augment.models.table_encoding import column_kind
from gan_augment.validation import metrics as M
from gan_augment.validation.table_quality import column_shapes, pair_trends

#: Rows per side in the C2ST (a random subsample above that).
C2ST_ROWS = 3000
DEFAULT_TABLES = "penguins,breast_cancer,anes96,fair,cattaneo2,racd10"
WORKER = Path(__file__).with_name("ctgan_worker.py")


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def macro_f1(train_x: pd.DataFrame, train_y: np.ndarray, test: ga.Dataset, seed: int) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import f1_score

    x, encoding = table_to_matrix(train_x)
    clf = HistGradientBoostingClassifier(max_iter=200, early_stopping=False, random_state=seed)
    clf.fit(x, train_y)
    return float(f1_score(test.y, clf.predict(table_to_matrix(test.frame, encoding)[0]), average="macro",
                          labels=np.arange(test.num_classes)))


def fill_counts(train: ga.Dataset) -> np.ndarray:
    counts = train.class_counts()
    return counts.max() - counts


def conform(frame: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """A frame read back from CSV with the dtypes of the real frame (where the values allow)."""
    out = {}
    for col in like.columns:
        s = frame[col]
        dtype = like[col].dtype
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            s = pd.to_numeric(s, errors="coerce")
            if pd.api.types.is_integer_dtype(dtype) and not s.isna().any():
                s = s.round().astype(dtype)
        else:
            s = s.astype(object).where(s.notna(), None).astype(str).where(s.notna(), None)
            try:
                s = s.astype(dtype)
            except (TypeError, ValueError):
                pass
        out[col] = s
    return pd.DataFrame(out)


def c2st(real: pd.DataFrame, other: pd.DataFrame, seed: int) -> float:
    """C2ST AUC of ``other`` against ``real`` rows, equal counts of at most ``C2ST_ROWS``."""
    n = min(len(real), len(other), C2ST_ROWS)
    rng = np.random.default_rng(seed)
    a = real.iloc[rng.choice(len(real), n, replace=False)]
    b = other.iloc[rng.choice(len(other), n, replace=False)]
    f_a, encoding = table_to_matrix(a)
    return M.c2st_auc(f_a, table_to_matrix(b, encoding)[0], seed=seed)


def quality(train: ga.Dataset, frame: pd.DataFrame, y: np.ndarray, test: ga.Dataset, fill: tuple | None,
            seed: int) -> dict[str, float]:
    """The metrics of one synthetic set (``frame``/``y`` drawn with the training labels; ``fill``:
    extra rows per class to fill up with) against the training and test rows."""
    real_frame = train.frame
    out = {"shapes": column_shapes(real_frame, frame)["mean"], "pairs": pair_trends(real_frame, frame)["mean"],
           "c2st": c2st(real_frame, frame, seed)}
    out["tstr"] = macro_f1(frame, y, test, seed) if len(np.unique(y)) > 1 else float("nan")
    real_f1 = macro_f1(real_frame, train.y, test, seed)
    if fill is not None and len(fill[0]):
        out["fill"] = macro_f1(pd.concat([real_frame, fill[0]], ignore_index=True),
                               np.concatenate([train.y, fill[1]]), test, seed) - real_f1
    else:
        out["fill"] = 0.0
    return out


def run_ours(train: ga.Dataset, test: ga.Dataset, seed: int, options: dict[str, Any]) -> dict[str, float]:
    wall, cpu = time.perf_counter(), cpu_seconds()
    gan = ga.train_gan(train, seed=seed, verbose=0, **options)
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    synthetic = gan.sample(labels=train.y, seed=seed + 1)
    extra = np.repeat(np.arange(train.num_classes), fill_counts(train))
    fill = gan.sample(labels=extra, seed=seed + 2) if len(extra) else None
    out = quality(train, synthetic.frame, train.y, test, (fill.frame, extra) if fill is not None else None, seed)
    return {**out, "cpu_s": cpu, "wall_s": wall, "steps": float(gan.model.steps_taken)}


def run_ctgan(python: str, train: ga.Dataset, test: ga.Dataset, seed: int, epochs: int,
              folder: Path) -> dict[str, float]:
    target = train.target or "target"
    names = np.asarray(train.class_names)
    frame = train.frame.assign(**{target: names[train.y]})
    path, out_path = folder / "ctgan_train.csv", folder / "ctgan_out.csv"
    frame.to_csv(path, index=False)
    discrete = [c for c in train.frame.columns if column_kind(train.frame[c]) == "categorical"]
    counts = train.class_counts() + fill_counts(train)
    result = subprocess.run(
        [python, str(WORKER), str(path), str(out_path), "--target", target, "--epochs", str(epochs),
         "--seed", str(seed), "--discrete", ",".join(map(str, discrete)),
         "--counts", json.dumps({str(n): int(c) for n, c in zip(names, counts)})],
        capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(f"CTGAN failed: {result.stderr.strip().splitlines()[-1:]}")
    info = json.loads(result.stdout.strip().splitlines()[-1])
    raw = pd.read_csv(out_path)
    labels = raw[target].astype(str)
    known = labels.isin(names)
    y = pd.Series(labels[known]).map({n: i for i, n in enumerate(names)}).to_numpy(np.int64)
    rows = conform(raw[known].drop(columns=target).reset_index(drop=True), train.frame)
    # per class: the first training-count rows are the synthetic copy, the rest fill up
    first = np.zeros(len(y), bool)
    for c, count in enumerate(train.class_counts()):
        first[np.flatnonzero(y == c)[:count]] = True
    fill = (rows[~first].reset_index(drop=True), y[~first])
    out = quality(train, rows[first].reset_index(drop=True), y[first], test, fill, seed)
    return {**out, "cpu_s": info["cpu_s"], "wall_s": info["train_s"], "steps": float("nan")}


def run_real(train: ga.Dataset, test: ga.Dataset, seed: int) -> dict[str, float]:
    """The real-vs-real reference: the test rows in place of synthetic ones (shapes and pairs
    against as many training rows)."""
    a = train.frame.iloc[np.random.default_rng(seed).choice(len(train), min(len(train), len(test)), replace=False)]
    return {"shapes": column_shapes(a, test.frame)["mean"], "pairs": pair_trends(a, test.frame)["mean"],
            "c2st": c2st(train.frame, test.frame, seed),
            "tstr": macro_f1(train.frame, train.y, test, seed), "fill": 0.0}


def summarize(name: str, data: ga.Dataset, results: dict[str, list[dict[str, float]]]) -> str:
    metrics = ["shapes", "pairs", "c2st", "tstr", "fill", "cpu_s", "wall_s"]
    settings = [s for s in ("real", "gan_augment", "ctgan") if results.get(s)]
    counts = data.class_counts()
    lines = [f"**{name}** — {len(data)} rows, {data.frame.shape[1]} columns, classes {counts.min()}–{counts.max()}",
             "", "| metric | " + " | ".join(settings) + " |", "|---|" + "---:|" * len(settings)]
    for metric in metrics:
        cells = []
        for s in settings:
            values = np.array([r.get(metric, np.nan) for r in results[s]], float)
            if np.all(np.isnan(values)):
                cells.append("–")
                continue
            std = np.nanstd(values, ddof=1) if np.sum(~np.isnan(values)) > 1 else 0.0
            digits = 0 if metric.endswith("_s") else 3
            cells.append(f"{np.nanmean(values):.{digits}f} ± {std:.{digits}f}")
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--tables", default=DEFAULT_TABLES, help=f"comma-separated, from {sorted(TABLES)}")
    parser.add_argument("--ctgan-python", default=None, help="a Python with ctgan installed (see ctgan_worker.py)")
    parser.add_argument("--ctgan-epochs", type=int, default=300)
    parser.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE",
                        help="a train_gan option (Python literal), e.g. --set moment_weight=0")
    args = parser.parse_args()
    options = {k: ast.literal_eval(v) for k, v in (item.split("=", 1) for item in args.set)}
    print(f"train_gan options: {options or 'defaults'}; CTGAN: {args.ctgan_python or 'not run'}", flush=True)
    blocks = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in args.tables.split(","):
            try:
                data = load(name, folder)
            except ModuleNotFoundError as exc:
                print(f"{name}: skipped ({exc}; pip install -e '.[bench]')", flush=True)
                continue
            results: dict[str, list[dict[str, float]]] = {"real": [], "gan_augment": [], "ctgan": []}
            for seed in range(args.seeds):
                train, test = data.split(0.25, seed=seed)
                results["real"].append(run_real(train, test, seed))
                results["gan_augment"].append(run_ours(train, test, seed, options))
                if args.ctgan_python:
                    results["ctgan"].append(run_ctgan(args.ctgan_python, train, test, seed, args.ctgan_epochs, folder))
                for setting, rows in results.items():
                    if rows and len(rows) == seed + 1:
                        print(f"{name} seed {seed} {setting}: " + ", ".join(f"{k}={v:.3f}" for k, v in rows[-1].items()),
                              flush=True)
            blocks.append(summarize(name, data, results))
            print("\n" + blocks[-1] + "\n", flush=True)
    print("\n\n".join(blocks))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
