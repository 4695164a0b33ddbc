"""Real tables from installed packages, for the table benchmarks (no download).

Each entry returns ``(frame, target column)``; `load` writes it to CSV and reads it back with
`gan_augment.load_dataset(path, target=...)`, the way a user brings a table. The project's
built-ins (penguins, wine, breast_cancer), scikit-learn's iris and diabetes (target cut into
tertiles), and — when statsmodels is installed (``pip install -e '.[bench]'``) — anes96 (vote),
fair (had an affair), randhie (good health), modechoice (chosen), grunfeld (firm), and two mixed
tables statsmodels ships as test data: cattaneo2 (4642 births: birth weight, parents' ages and
schooling, smoking, marriage; target: trimester of the first prenatal visit, 4 imbalanced
classes) and racd10 (3629 elderly US adults: income, doctor visits, insurance; target: number
of chronic conditions, 0–3 and 4+). Derived duplicates of other columns are dropped.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

import gan_augment as ga


def _builtin(name: str) -> Callable[[], tuple[pd.DataFrame, str]]:
    def load() -> tuple[pd.DataFrame, str]:
        data = ga.load_dataset(name)
        target = data.target or "target"
        return data.frame.assign(**{target: np.asarray(data.class_names)[data.y]}), target
    return load


def _iris() -> tuple[pd.DataFrame, str]:
    from sklearn.datasets import load_iris

    raw = load_iris(as_frame=True)
    return raw.frame.assign(target=np.asarray(raw.target_names)[raw.target]), "target"


def _diabetes() -> tuple[pd.DataFrame, str]:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame
    return frame.assign(target=pd.qcut(frame["target"], 3, labels=["low", "mid", "high"]).astype(str)), "target"


def _statsmodels(name: str, prepare: Callable[[pd.DataFrame], pd.DataFrame], target: str):
    def load() -> tuple[pd.DataFrame, str]:
        frame = importlib.import_module(f"statsmodels.datasets.{name}").load_pandas().data
        return prepare(frame.copy()), target
    return load


def _statsmodels_file(relative: str, prepare: Callable[[pd.DataFrame], pd.DataFrame], target: str):
    def load() -> tuple[pd.DataFrame, str]:
        import statsmodels

        return prepare(pd.read_csv(Path(statsmodels.__file__).parent / relative)), target
    return load


def _cattaneo2(f: pd.DataFrame) -> pd.DataFrame:
    f = f.drop(columns=["mbsmoke_", "mmarried_", "fbaby_", "prenatal1_", "mage2", "lbweight", "prenatal1"])
    return f.assign(prenatal=f["prenatal"].map({0: "none", 1: "first", 2: "second", 3: "third"}))


def _racd10(f: pd.DataFrame) -> pd.DataFrame:
    f = f.drop(columns=["age2", "linc", "ldocvis", "ldocvisa", "docbin", "aget", "aget2", "incomet"])
    return f.assign(totchr=np.where(f["totchr"] >= 4, "4+", f["totchr"].astype(str)))


TABLES: dict[str, Callable[[], tuple[pd.DataFrame, str]]] = {
    "penguins": _builtin("penguins"),
    "wine": _builtin("wine"),
    "breast_cancer": _builtin("breast_cancer"),
    "iris": _iris,
    "diabetes": _diabetes,
    "anes96": _statsmodels("anes96", lambda f: f.assign(vote=f["vote"].map({0.0: "clinton", 1.0: "dole"})), "vote"),
    "fair": _statsmodels("fair", lambda f: f.assign(affair=np.where(f.pop("affairs") > 0, "yes", "no")), "affair"),
    "randhie": _statsmodels("randhie", lambda f: f.assign(hlthg=f["hlthg"].map({0: "no", 1: "yes"})), "hlthg"),
    "modechoice": _statsmodels("modechoice", lambda f: f.drop(columns="individual").assign(
        choice=f["choice"].map({0.0: "no", 1.0: "yes"})), "choice"),
    "grunfeld": _statsmodels("grunfeld", lambda f: f, "firm"),
    "cattaneo2": _statsmodels_file("treatment/tests/results/cataneo2.csv", _cattaneo2, "prenatal"),
    "racd10": _statsmodels_file("sandbox/regression/tests/racd10data_with_transformed.csv", _racd10, "totchr"),
}


def load(name: str, folder: Path) -> ga.Dataset:
    """The table ``name`` as a user would load it: written to ``folder/<name>.csv``, read back."""
    frame, target = TABLES[name]()
    path = Path(folder) / f"{name}.csv"
    frame.to_csv(path, index=False)
    return ga.load_dataset(path, target=target)
