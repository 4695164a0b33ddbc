"""Expectation suites derived from real data (gan_augment.validation.expectations).

The suite derived from one half of a real frame must pass on the other half, and fail, naming
the right column, on typical defects of synthetic data.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from gan_augment.errors import DataError
from gan_augment.validation.expectations import (
    GXResult,
    SuiteSpec,
    derive_suite,
    to_gx_suite,
    validate_frame,
)


def make_table(n: int = 1200, seed: int = 0) -> pd.DataFrame:
    """A realistic mixed table: floats on different scales, a skewed float, an int count, a
    pandas "string" column, a category, a float with ~5 % NaN, a bool and an int label."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "height": rng.normal(170.0, 10.0, n),
            "weight": rng.normal(70.0, 12.0, n),
            "income": rng.lognormal(10.0, 0.6, n),
            "visits": rng.poisson(3.0, n),
            "city": pd.Series(
                rng.choice(
                    ["Oslo", "Lima", "Pune", "Kyiv", "Baku"], n, p=[0.4, 0.25, 0.15, 0.1, 0.1]
                ),
                dtype="string",
            ),
            "grade": pd.Categorical(rng.choice(["A", "B", "C"], n, p=[0.2, 0.5, 0.3])),
            "score": rng.normal(0.0, 1.0, n),
            "member": rng.random(n) < 0.35,
            "label": rng.integers(0, 3, n),
        }
    )
    frame.loc[rng.random(n) < 0.05, "score"] = np.nan
    return frame


@pytest.fixture(scope="module")
def halves() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = make_table()
    perm = np.random.default_rng(1).permutation(len(frame))
    train = frame.iloc[perm[:600]].reset_index(drop=True)
    holdout = frame.iloc[perm[600:]].reset_index(drop=True)
    return train, holdout


@pytest.fixture(scope="module")
def spec(halves) -> SuiteSpec:
    return derive_suite(halves[0], name="table")


@pytest.fixture(scope="module")
def holdout_result(halves, spec) -> GXResult:
    return validate_frame(halves[1], spec)


# ---------------------------------------------------------------------- the suite itself
def test_spec_covers_every_column_and_is_json(halves, spec):
    train = halves[0]
    assert json.loads(spec.to_json()) == spec.to_dict()
    assert SuiteSpec.from_dict(json.loads(spec.to_json())) == spec
    assert spec.columns() == list(train.columns)
    types = {e["type"] for e in spec.expectations}
    assert {
        "ExpectTableRowCountToBeBetween",
        "ExpectTableColumnsToMatchSet",
        "ExpectColumnToExist",
        "ExpectColumnValuesToBeInTypeList",
        "ExpectColumnValuesToBeOfType",
        "ExpectColumnValuesToNotBeNull",
        "ExpectColumnValuesToBeBetween",
        "ExpectColumnMeanToBeBetween",
        "ExpectColumnStdevToBeBetween",
        "ExpectColumnKLDivergenceToBeLessThan",
        "ExpectColumnValuesToBeInSet",
    } <= types
    assert not types & {"ExpectColumnQuantileValuesToBeBetween"}
    for e in spec.expectations:
        assert e["why"] and isinstance(e["kwargs"], dict)
    kinds = {c: m["role"] for c, m in spec.meta["columns"].items()}
    assert kinds["height"] == "numeric" and kinds["city"] == "categorical"
    assert kinds["grade"] == "categorical" and kinds["member"] == "categorical"
    assert kinds["visits"] == "numeric+categorical" and kinds["label"] == "numeric+categorical"
    # the null bound follows the real null rate (~5 %) plus slack
    (nn,) = [e for e in spec.for_column("score") if e["type"] == "ExpectColumnValuesToNotBeNull"]
    assert 0.8 < nn["kwargs"]["mostly"] < 0.95
    (nn,) = [e for e in spec.for_column("height") if e["type"] == "ExpectColumnValuesToNotBeNull"]
    assert 0.96 < nn["kwargs"]["mostly"] < 0.98  # none in 600 rows is not a rate of 0 (plus-four band)
    small = derive_suite(train.iloc[:100], name="small", n_compare=100)
    (nn_small,) = [e for e in small.for_column("height") if e["type"] == "ExpectColumnValuesToNotBeNull"]
    assert nn_small["kwargs"]["mostly"] < nn["kwargs"]["mostly"] - 0.02  # fewer rows, wider band
    # a Laplace-smoothed binned partition (no zero cell) and a categorical one
    kl = [
        e for e in spec.for_column("income") if e["type"] == "ExpectColumnKLDivergenceToBeLessThan"
    ]
    part = kl[0]["kwargs"]["partition_object"]
    assert len(part["bins"]) == len(part["weights"]) + 1 and min(part["weights"]) > 0
    assert abs(sum(part["weights"]) + sum(part["tail_weights"]) - 1) < 1e-9
    kl = [e for e in spec.for_column("city") if e["type"] == "ExpectColumnKLDivergenceToBeLessThan"]
    assert sorted(kl[0]["kwargs"]["partition_object"]["values"]) == [
        "Baku",
        "Kyiv",
        "Lima",
        "Oslo",
        "Pune",
    ]


def test_gx_suite_builds(spec):
    suite = to_gx_suite(spec)
    assert suite.name == "table"
    assert len(suite.expectations) == len(spec.expectations)


def test_module_does_not_import_gx():
    code = (
        "import sys, pandas as pd\n"
        "import gan_augment.validation.expectations as m\n"
        "m.derive_suite(pd.DataFrame({'a': [1.0, 2.0, 3.0]}))\n"
        "assert 'great_expectations' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_bad_arguments():
    with pytest.raises(DataError, match="non-empty"):
        derive_suite(pd.DataFrame())
    with pytest.raises(DataError, match="tolerance"):
        derive_suite(pd.DataFrame({"a": [1.0, 2.0]}), tolerance=0)
    with pytest.raises(DataError, match="unknown columns"):
        derive_suite(pd.DataFrame({"a": [1.0, 2.0]}), categorical=["b"])
    with pytest.raises(DataError, match="DataFrame"):
        validate_frame(np.zeros((3, 2)), SuiteSpec("x", []))


# ---------------------------------------------------------------------- a real holdout passes
def test_real_holdout_passes(holdout_result):
    r = holdout_result
    assert r.success, r.summary() + "\n" + json.dumps(r.failed(), indent=1)
    assert r.statistics["unsuccessful_expectations"] == 0
    assert r.statistics["evaluated_expectations"] == len(r.results) > 40
    assert r.summary() == f"GX: {len(r.results)}/{len(r.results)} expectations passed"
    assert r.n_rows == 600


def test_result_is_strict_json_and_round_trips(halves, spec, holdout_result):
    frame = halves[1].copy()
    frame["height"] += 30.0  # a failing result too: observed values, partial lists
    for r in (holdout_result, validate_frame(frame, spec)):
        text = json.dumps(r.to_dict(), allow_nan=False)
        back = GXResult.from_dict(json.loads(text))
        assert back == r
        assert back.summary() == r.summary()
        for entry in back.results:
            assert set(entry) == {
                "type",
                "column",
                "kwargs",
                "success",
                "observed_value",
                "why",
                "error",
            }
            assert type(entry["success"]) is bool
        assert back.failed() == [e for e in back.results if not e["success"]]


# ---------------------------------------------------------------------- defects fail
def _shift(f: pd.DataFrame, train: pd.DataFrame) -> pd.DataFrame:
    f["weight"] = f["weight"] + 2.0 * train["weight"].std()
    return f


def _constant(f: pd.DataFrame, train: pd.DataFrame) -> pd.DataFrame:
    f["income"] = float(train["income"].mean())
    return f


def _new_category(f: pd.DataFrame, train: pd.DataFrame) -> pd.DataFrame:
    mask = np.random.default_rng(3).random(len(f)) < 0.2
    f["city"] = f["city"].where(~mask, "Atlantis")
    return f


def _more_nulls(f: pd.DataFrame, train: pd.DataFrame) -> pd.DataFrame:
    f.loc[np.random.default_rng(4).random(len(f)) < 0.3, "score"] = np.nan
    return f


def _swap(f: pd.DataFrame, train: pd.DataFrame) -> pd.DataFrame:
    f["height"], f["weight"] = f["weight"].to_numpy(), f["height"].to_numpy()
    return f


@pytest.mark.parametrize(
    ("defect", "column"),
    [
        (_shift, "weight"),
        (_constant, "income"),
        (_new_category, "city"),
        (_more_nulls, "score"),
    ],
    ids=["shift-2sigma", "constant", "new-category", "more-nulls"],
)
def test_defect_fails_on_its_column_only(halves, spec, defect, column):
    train, holdout = halves
    r = validate_frame(defect(holdout.copy(), train), spec)
    assert not r.success
    assert r.failed_columns() == [column], r.summary()
    assert str(column) in r.summary()


def test_defect_types_are_the_expected_ones(halves, spec):
    train, holdout = halves
    failed = {e["type"] for e in validate_frame(_shift(holdout.copy(), train), spec).failed()}
    assert (
        "ExpectColumnMeanToBeBetween" in failed and "ExpectColumnKLDivergenceToBeLessThan" in failed
    )
    failed = {e["type"] for e in validate_frame(_constant(holdout.copy(), train), spec).failed()}
    assert "ExpectColumnStdevToBeBetween" in failed
    failed = {
        e["type"] for e in validate_frame(_new_category(holdout.copy(), train), spec).failed()
    }
    assert "ExpectColumnValuesToBeInSet" in failed


def test_missing_column_fails(halves, spec):
    r = validate_frame(halves[1].drop(columns=["income"]), spec)
    assert not r.success
    failed = {(e["type"], e["column"]) for e in r.failed()}
    assert ("ExpectTableColumnsToMatchSet", None) in failed
    assert ("ExpectColumnToExist", "income") in failed
    assert set(r.failed_columns()) == {"income"}
    errors = [e["error"] for e in r.failed() if e["error"]]
    assert errors and all("missing" in msg for msg in errors)


def test_extra_column_fails(halves, spec):
    frame = halves[1].assign(extra=1.0)
    r = validate_frame(frame, spec)
    assert [(e["type"], e["column"]) for e in r.failed()] == [
        ("ExpectTableColumnsToMatchSet", None)
    ]


def test_swapped_columns_fail(halves, spec):
    train, holdout = halves
    r = validate_frame(_swap(holdout.copy(), train), spec)
    assert not r.success
    assert set(r.failed_columns()) == {"height", "weight"}


def test_empty_frame_fails_without_crashing(halves, spec):
    r = validate_frame(halves[1].iloc[:0], spec)
    assert not r.success
    assert ("ExpectTableRowCountToBeBetween", None) in {
        (e["type"], e["column"]) for e in r.failed()
    }
    json.dumps(r.to_dict(), allow_nan=False)


# ---------------------------------------------------------------------- types
def test_compatible_dtypes_pass(halves, spec):
    f = halves[1].copy()
    f["city"] = f["city"].astype(object)  # pandas 3 infers "str"; both must pass as strings
    f["height"] = f["height"].astype("float32")
    f["visits"] = f["visits"].astype("Int64")
    f["label"] = f["label"].astype("int32")
    f["member"] = f["member"].astype("boolean")
    # nullable dtypes holding pd.NA (GX's binned KL cannot read them; validate_frame converts)
    f["score"] = f["score"].astype("Float64")
    f["visits"] = f["visits"].mask(np.arange(len(f)) == 5)
    assert f["score"].isna().any() and f["visits"].isna().sum() == 1
    r = validate_frame(f, spec)
    assert r.success, r.summary() + json.dumps(r.failed())
    (score_type,) = [e for e in r.results if e["column"] == "score" and "Type" in e["type"]]
    assert score_type["observed_value"] == "Float64"


def test_incompatible_dtypes_fail(halves, spec):
    f = halves[1].copy()
    f["visits"] = f["visits"].astype(float)  # an int column generated as floats
    f["grade"] = f["grade"].astype(str)  # category lost
    f["height"] = f["height"].round().astype(int)  # floats cast to int
    r = validate_frame(f, spec)
    failed = {(e["type"], e["column"]) for e in r.failed()}
    assert ("ExpectColumnValuesToBeInTypeList", "visits") in failed
    assert ("ExpectColumnValuesToBeOfType", "grade") in failed
    assert ("ExpectColumnValuesToBeInTypeList", "height") in failed
    assert set(r.failed_columns()) == {"visits", "grade", "height"}


# ---------------------------------------------------------------------- options
def test_skip_distribution_for_a_rebalanced_label(halves):
    train, holdout = halves
    spec = derive_suite(train, skip_distribution=["label"])
    assert {e["type"] for e in spec.for_column("label")} == {
        "ExpectColumnToExist",
        "ExpectColumnValuesToBeInTypeList",
        "ExpectColumnValuesToNotBeNull",
        "ExpectColumnValuesToBeInSet",
    }
    f = holdout.copy()
    f["label"] = np.where(np.arange(len(f)) % 10 == 0, 0, 2)  # very different class mix
    assert validate_frame(f, spec).success
    f.loc[:30, "label"] = 7  # an unknown class still fails
    assert validate_frame(f, spec).failed_columns() == ["label"]


def test_tolerance_and_explicit_categorical(halves):
    train = halves[0]
    strict, lenient = derive_suite(train, tolerance=0.5), derive_suite(train, tolerance=2.0)

    def mean_band(s: SuiteSpec) -> float:
        (e,) = [e for e in s.for_column("height") if e["type"] == "ExpectColumnMeanToBeBetween"]
        return e["kwargs"]["max_value"] - e["kwargs"]["min_value"]

    assert mean_band(lenient) == pytest.approx(4 * mean_band(strict))
    spec = derive_suite(train, categorical=["visits"], kl_threshold=0.05)
    types = [e["type"] for e in spec.for_column("visits")]
    assert "ExpectColumnMeanToBeBetween" not in types and "ExpectColumnValuesToBeInSet" in types
    assert {e["kwargs"]["threshold"] for e in spec.expectations if "threshold" in e["kwargs"]} == {
        0.05
    }


# ---------------------------------------------------------------------- image features
def test_digits_feature_table_80_20():
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images / 16.0
    table = pd.DataFrame(
        {
            "mean_intensity": images.mean(axis=(1, 2)),
            "contrast": images.std(axis=(1, 2)),
            "ink_fraction": (images > 0.5).mean(axis=(1, 2)),
            "label": digits.target.astype(np.int64),
        }
    )
    perm = np.random.default_rng(0).permutation(len(table))
    cut = int(0.8 * len(table))
    train = table.iloc[perm[:cut]].reset_index(drop=True)
    test = table.iloc[perm[cut:]].reset_index(drop=True)
    spec = derive_suite(train, name="digits")
    r = validate_frame(test, spec)
    assert r.success, r.summary()
    # and a blurry, washed-out "generator" fails on intensity statistics
    fake = test.copy()
    fake["contrast"] = fake["contrast"] * 0.5
    fake["ink_fraction"] = 0.0
    failed = validate_frame(fake, spec).failed_columns()
    assert set(failed) == {"contrast", "ink_fraction"}


def test_ten_thousand_rows_validate_quickly():
    big = make_table(10_000, seed=5)
    spec = derive_suite(big)
    r = validate_frame(make_table(10_000, seed=6), spec)
    assert r.success, r.summary()
    assert r.n_rows == 10_000 and r.seconds < 20.0
