"""Data sources (`load_dataset`) and the `Dataset` container.

TensorFlow is imported only by the TFDS tests (lazily, through `tensorflow_datasets`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from gan_augment.data import Dataset
from gan_augment.data.sources import list_sources, load_dataset, load_dataset_and_mask, source_kind
from gan_augment.errors import DataError, UnknownSourceError


# ---------------------------------------------------------------------- helpers
def write_png(path: Path, array: np.ndarray) -> Path:
    """Write a uint8 (h, w) grayscale or (h, w, 3) RGB array as a PNG file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, np.uint8)).save(path)
    return path


def make_image_folder(root: Path, classes=("cat", "dog"), per_class=3, size=(6, 5), rgb=False):
    rng = np.random.default_rng(0)
    shape = (*size, 3) if rgb else size
    for name in classes:
        for i in range(per_class):
            write_png(root / name / f"{i}.png", rng.integers(0, 256, shape))
    return root


@pytest.fixture
def table_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "height": [1.0, 2.5, 3.0, 0.5, 2.0, 1.5],
            "color": ["red", "blue", "red", "green", "blue", "red"],
            "count": [1, 2, 3, 4, 5, 6],
            "species": ["setosa", "virginica", "setosa", "versicolor", "virginica", "setosa"],
        }
    )


# ---------------------------------------------------------------------- built-in sources
def test_import_does_not_import_tensorflow_or_sklearn():
    code = (
        "import sys, gan_augment.data.sources, gan_augment.export\n"
        "bad = [m for m in ('tensorflow', 'tensorflow_datasets', 'sklearn') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_list_sources_names_the_builtins():
    assert list_sources() == ["digits", "breast_cancer", "wine", "penguins", "rendered_digits",
                              "sample_photos"]


def test_source_kind_without_reading_the_data(tmp_path):
    (tmp_path / "t.csv").write_text("a,label\n1,x\n")
    np.savez(tmp_path / "i.npz", x=np.zeros((2, 8, 8, 1)), y=np.zeros(2))
    kinds = {s: source_kind(s) for s in ("digits", "wine", "breast_cancer", "penguins", "tfds:mnist",
                                         str(tmp_path / "t.csv"), str(tmp_path / "i.npz"))}
    assert kinds == {"digits": "image", "wine": "table", "breast_cancer": "table", "penguins": "table",
                     "tfds:mnist": "image", str(tmp_path / "t.csv"): "table", str(tmp_path / "i.npz"): "image"}
    with pytest.raises(UnknownSourceError, match="pengiuns"):
        source_kind("pengiuns")


def test_digits_default_source():
    ds = load_dataset()
    assert ds.kind == "image"
    assert len(ds) == 1797
    assert ds.x.shape == (1797, 8, 8, 1) and ds.x.dtype == np.float32
    assert ds.x.min() == 0.0 and ds.x.max() == 1.0
    assert ds.y.dtype == np.int64 and ds.num_classes == 10
    assert ds.class_names == tuple(str(i) for i in range(10))
    assert ds.provenance["source"] == "digits"


@pytest.mark.parametrize("size, expected", [(28, (28, 28)), ((16, 12), (16, 12))])
def test_digits_resized(size, expected):
    ds = load_dataset("digits", image_size=size)
    assert ds.shape == (*expected, 1)
    assert ds.x.dtype == np.float32 and 0.0 <= ds.x.min() and ds.x.max() <= 1.0
    assert ds.provenance["image_size"] == list(expected)
    # the resized digits still look like the originals (mean brightness barely changes)
    assert abs(ds.x.mean() - load_dataset("digits").x.mean()) < 0.02


def test_bad_image_size():
    with pytest.raises(DataError, match="image_size"):
        load_dataset("digits", image_size=(0, 28))


@pytest.mark.parametrize(
    "name, n, n_features, classes",
    [("breast_cancer", 569, 30, ("malignant", "benign")), ("wine", 178, 13, None)],
)
def test_sklearn_tables(name, n, n_features, classes):
    ds = load_dataset(name)
    assert ds.kind == "table" and ds.x is None
    assert len(ds) == n and ds.frame.shape == (n, n_features)
    assert "target" not in ds.frame.columns and ds.target == "target"
    assert ds.y.dtype == np.int64 and ds.y.max() == ds.num_classes - 1
    if classes:
        assert ds.class_names == classes


# ---------------------------------------------------------------------- table files
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_table_file_with_target(tmp_path, table_frame, suffix):
    path = tmp_path / f"plants{suffix}"
    table_frame.to_csv(path, index=False) if suffix == ".csv" else table_frame.to_parquet(path)
    ds = load_dataset(path, target="species")
    assert ds.kind == "table" and ds.target == "species"
    assert list(ds.frame.columns) == ["height", "color", "count"]
    assert ds.class_names == ("setosa", "versicolor", "virginica")  # sorted unique values
    assert ds.y.tolist() == [0, 2, 0, 1, 2, 0]
    assert ds.frame["color"].tolist() == table_frame["color"].tolist()  # strings kept as is
    assert ds.provenance["source"] == str(path) and ds.provenance["target"] == "species"


def test_numeric_target_and_constant_target(tmp_path, table_frame):
    path = tmp_path / "t.csv"
    table_frame.assign(grade=[3, 1, 3, 2, 1, 3], const=7).to_csv(path, index=False)
    ds = load_dataset(str(path), target="grade")
    assert ds.class_names == ("1", "2", "3") and ds.y.tolist() == [2, 0, 2, 1, 0, 2]
    one = load_dataset(str(path), target="const")  # a single class is fine at load time
    assert one.num_classes == 1 and set(one.y) == {0}


def test_missing_target_column_lists_columns(tmp_path, table_frame):
    path = tmp_path / "t.csv"
    table_frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"'label'.*height.*color.*count.*species"):
        load_dataset(path, target="label")
    with pytest.raises(DataError, match="target=None"):
        load_dataset(path)


def test_missing_target_values(tmp_path, table_frame):
    path = tmp_path / "t.csv"
    frame = table_frame.copy()
    frame.loc[[1, 4], "species"] = None
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match="2 of 6 rows with a missing value"):
        load_dataset(path, target="species")
    frame["species"] = np.nan
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match="all 6 rows with a missing value"):
        load_dataset(path, target="species")


def test_empty_table(tmp_path):
    header_only = tmp_path / "empty.csv"
    header_only.write_text("a,b,label\n")
    with pytest.raises(DataError, match="0 rows"):
        load_dataset(header_only, target="label")
    nothing = tmp_path / "nothing.csv"
    nothing.write_text("")
    with pytest.raises(DataError, match="empty file"):
        load_dataset(nothing, target="label")


def test_table_with_only_the_target_column(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"label": [0, 1]}).to_csv(path, index=False)
    with pytest.raises(DataError, match="at least one feature column"):
        load_dataset(path, target="label")


# ---------------------------------------------------------------------- image folders
def test_image_folder_class_layout(tmp_path):
    root = make_image_folder(tmp_path / "pets", classes=("dog", "cat", "bird"), per_class=2)
    ds = load_dataset(root)
    assert ds.kind == "image" and ds.shape == (6, 5, 1) and len(ds) == 6
    with pytest.raises(DataError, match="split folders"):
        load_dataset(root, split="test")
    assert ds.class_names == ("bird", "cat", "dog")  # sorted by name
    assert ds.y.tolist() == [0, 0, 1, 1, 2, 2]
    expected = np.asarray(Image.open(root / "cat" / "0.png"), np.float32) / 255.0
    np.testing.assert_allclose(ds.x[2, :, :, 0], expected)
    assert ds.provenance["source"] == str(root) and ds.provenance["layout"] == "classes"


def test_image_folder_split_layout(tmp_path):
    root = tmp_path / "pets"
    make_image_folder(root / "train", classes=("cat", "dog"), per_class=3)
    make_image_folder(root / "test", classes=("dog",), per_class=2)
    train = load_dataset(root)  # split="train" by default
    test = load_dataset(str(root), split="test")
    assert len(train) == 6 and len(test) == 2
    assert train.class_names == test.class_names == ("cat", "dog")  # union over splits
    assert test.y.tolist() == [1, 1]
    with pytest.raises(DataError, match=r"split folders.*\['test', 'train'\].*'valid'"):
        load_dataset(root, split="valid")


def test_image_folder_rgb_and_mixed_channels(tmp_path):
    rgb = load_dataset(make_image_folder(tmp_path / "rgb", rgb=True))
    assert rgb.shape == (6, 5, 3)
    mixed = make_image_folder(tmp_path / "mixed")
    write_png(mixed / "cat" / "color.png", np.full((6, 5, 3), 200))
    ds = load_dataset(mixed)
    assert ds.shape == (6, 5, 3) and len(ds) == 7  # all converted to RGB


def test_image_folder_sizes_must_match(tmp_path):
    root = make_image_folder(tmp_path / "pets", size=(6, 5))
    write_png(root / "dog" / "big.png", np.zeros((9, 9)))
    with pytest.raises(DataError, match=r"one size.*cat.0\.png.*6x5.*big\.png.*9x9.*image_size"):
        load_dataset(root)
    ds = load_dataset(root, image_size=8)
    assert ds.shape == (8, 8, 1) and len(ds) == 7


def test_image_folder_corrupt_file_named(tmp_path):
    root = make_image_folder(tmp_path / "pets")
    (root / "dog" / "broken.png").write_bytes(b"not a png at all")
    with pytest.raises(DataError, match=r"corrupt.*broken\.png"):
        load_dataset(root)


def test_image_folder_empty(tmp_path):
    (tmp_path / "empty" / "cat").mkdir(parents=True)
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    with pytest.raises(DataError, match="empty folder"):
        load_dataset(tmp_path / "empty")


def test_image_folder_flat_is_unlabeled(tmp_path):
    for i in range(3):
        write_png(tmp_path / "flat" / f"{i}.png", np.zeros((4, 4)))
    ds = load_dataset(tmp_path / "flat")
    assert len(ds) == 3 and ds.y is None and not ds.labeled


# ---------------------------------------------------------------------- npz
def test_npz_uint8_with_class_names(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (5, 4, 4), dtype=np.uint8)
    path = tmp_path / "d.npz"
    np.savez(path, x=x, y=np.array([0, 1, 2, 1, 0]), class_names=np.array(["a", "b", "c"]))
    ds = load_dataset(path)
    assert ds.shape == (4, 4, 1) and ds.x.dtype == np.float32
    np.testing.assert_allclose(ds.x[..., 0], x / 255.0, rtol=1e-6)
    assert ds.class_names == ("a", "b", "c") and ds.y.tolist() == [0, 1, 2, 1, 0]


def test_npz_without_y(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros((3, 4, 4, 3), np.float32))
    ds = load_dataset(path, image_size=6)
    assert ds.y is None and ds.shape == (6, 6, 3)


@pytest.mark.parametrize(
    "arrays, match",
    [
        ({"images": np.zeros((2, 4, 4))}, r"named 'x'.*\['images'\]"),
        ({"x": np.zeros((0, 4, 4))}, "at least one image"),
        ({"x": np.array([object(), object()], dtype=object)}, "object array.*pickle"),
        ({"x": np.full((3, 4, 4), "a")}, "numeric images.*<U1"),
        ({"x": np.zeros((3, 4))}, r"shape.*Received: x\.shape=\(3, 4\)"),
        ({"x": np.full((2, 4, 4, 1), np.nan, np.float32)}, "NaN or inf in 2 images"),
        ({"x": np.zeros((3, 4, 4)), "y": np.array([0, 1])}, "3 samples and len\\(y\\)=2"),
        ({"x": np.full((2, 4, 4), 2.0)}, r"values in \[0, 1\]"),
    ],
    ids=["no-x", "empty", "object", "strings", "rank", "nan", "lengths", "range"],
)
def test_npz_bad_inputs(tmp_path, arrays, match):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=match):
        load_dataset(path)


def test_npz_synthetic_mask_filters(tmp_path):
    path = tmp_path / "aug.npz"
    mask = np.array([False, False, True, True, True])
    np.savez(path, x=np.zeros((5, 2, 2)), y=np.array([0, 1, 0, 1, 0]), synthetic=mask)
    ds, got = load_dataset_and_mask(path)
    assert len(ds) == 5 and got.tolist() == mask.tolist()
    assert ds.provenance["n_synthetic"] == 3
    assert len(load_dataset(path, synthetic="drop")) == 2
    only, only_mask = load_dataset_and_mask(path, synthetic="only")
    assert len(only) == 3 and only_mask.all()
    with pytest.raises(DataError, match="no synthetic mask"):
        load_dataset("digits", synthetic="only")


# ---------------------------------------------------------------------- bad sources
def test_unknown_source_lists_forms():
    with pytest.raises(UnknownSourceError, match=r"'digits'.*'breast_cancer'.*'wine'.*tfds:"):
        load_dataset("no_such_source")
    with pytest.raises(UnknownSourceError, match="Did you mean 'digits'"):
        load_dataset("digit")


def test_missing_path(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(tmp_path / "nope.npz")
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(str(tmp_path / "folder"))


def test_unsupported_file_and_option(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("x")
    with pytest.raises(DataError, match=r"\.npz, \.csv"):
        load_dataset(path)
    with pytest.raises(DataError, match="Received: target"):
        load_dataset("digits", target="label")
    with pytest.raises(DataError, match="synthetic='keep'"):
        load_dataset("digits", synthetic="maybe")


# ---------------------------------------------------------------------- Dataset container
def test_dataset_rejects_bad_arrays():
    with pytest.raises(DataError, match="NaN"):
        Dataset.from_arrays(np.full((2, 4, 4, 1), np.nan, np.float32))
    with pytest.raises(DataError, match="as many labels as samples"):
        Dataset.from_arrays(np.zeros((3, 4, 4, 1), np.float32), np.array([0, 1]))
    with pytest.raises(DataError, match="shape"):
        Dataset.from_arrays(np.zeros((3, 4), np.float32))
    with pytest.raises(DataError, match="dtype"):
        Dataset.from_arrays(np.full((2, 4, 4), "a"))
    ds = Dataset.from_arrays(np.full((2, 4, 4), 255, np.uint8), source="test")
    assert ds.x.dtype == np.float32 and ds.x.max() == 1.0 and ds.provenance == {"source": "test"}


def test_split_is_stratified_and_deterministic():
    ds = load_dataset("digits")
    train, test = ds.split(0.2, seed=3)
    assert len(train) + len(test) == len(ds)
    assert abs(len(test) - 0.2 * len(ds)) <= ds.num_classes
    ratio = test.class_counts() / ds.class_counts()
    assert np.all(np.abs(ratio - 0.2) < 0.02)  # every class keeps its share
    again_train, again_test = ds.split(0.2, seed=3)
    np.testing.assert_array_equal(train.x, again_train.x)
    np.testing.assert_array_equal(test.y, again_test.y)
    _, other_test = ds.split(0.2, seed=4)
    assert not np.array_equal(test.x, other_test.x)
    assert test.provenance["part"] == "test"


def test_subsample_concat_take():
    ds = load_dataset("digits")
    small = ds.subsample(per_class=5, seed=0)
    assert len(small) == 50 and np.all(small.class_counts() == 5)
    np.testing.assert_array_equal(small.x, ds.subsample(per_class=5, seed=0).x)
    both = small.concat(small)
    assert len(both) == 100 and np.all(both.class_counts() == 10)
    picked = ds.take([5, 0, 5])
    np.testing.assert_array_equal(picked.x[1], ds.x[0])
    assert picked.y.tolist() == [ds.y[5], ds.y[0], ds.y[5]]
    with pytest.raises(DataError, match="same kind"):
        ds.concat(load_dataset("wine"))
    table = load_dataset("wine").subsample(per_class=3)
    assert len(table) == 9 and table.frame.index.tolist() == list(range(9))


# ---------------------------------------------------------------------- TFDS
def test_tfds_catalog_name_with_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=12, policy=tfds.testing.MockPolicy.USE_CODE):
        ds = load_dataset("tfds:mnist")
        small = load_dataset("tfds:mnist", max_examples=5, image_size=14)
    assert ds.shape == (28, 28, 1) and len(ds) == 12 and ds.x.dtype == np.float32
    assert 0.0 <= ds.x.min() and ds.x.max() <= 1.0
    assert ds.class_names == tuple(str(i) for i in range(10))
    assert small.shape == (14, 14, 1) and len(small) == 5
    assert ds.provenance["source"] == "tfds:mnist" and ds.provenance["split"] == "train"


def test_tfds_not_prepared_does_not_download(tmp_path):
    pytest.importorskip("tensorflow_datasets")
    with pytest.raises(
        DataError, match=r"'mnist'.*not in that data_dir.*download=False.*data_dir=.*download=True"
    ):
        load_dataset("tfds:mnist", data_dir=tmp_path, download=False)
    assert not (tmp_path / "downloads").exists()


def test_tfds_unknown_name():
    pytest.importorskip("tensorflow_datasets")
    with pytest.raises(UnknownSourceError, match=r"tfds:mnistt.*Did you mean 'tfds:mnist'"):
        load_dataset("tfds:mnistt")


def test_tfds_directory_source(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    from gan_augment.export import export_tfds

    real = load_dataset("digits").subsample(per_class=2)
    out = export_tfds(real, tmp_path / "exports", name="tiny_digits")
    for source in (out, str(out), f"tfds_dir:{out}", out.parent):  # version folder or its parent
        ds = load_dataset(source)
        assert len(ds) == 20 and ds.class_names == real.class_names
        np.testing.assert_array_equal(ds.y, real.y)
    builder = tfds.builder_from_directory(str(out))
    assert builder.info.splits["train"].num_examples == 20
    with pytest.raises(DataError, match=r"split.*\['train'\].*'test'"):
        load_dataset(out, split="test")
    with pytest.raises(DataError, match=r"label feature 'digit'.*\['image', 'label'\]"):
        load_dataset(out, label_key="digit")


def test_rendered_digits_are_seeded_labelled_images():
    from gan_augment.data.rendered import render_digits

    ds = render_digits(per_class=3, seed=0)
    assert ds.shape == (8, 8, 1) and len(ds) == 30 and ds.class_counts().tolist() == [3] * 10
    assert 0.0 <= ds.x.min() and ds.x.max() <= 1.0 and ds.x.mean() > 0.05
    np.testing.assert_array_equal(ds.x, render_digits(per_class=3, seed=0).x)
    assert not np.array_equal(ds.x, render_digits(per_class=3, seed=1).x)
    assert render_digits(per_class=1, image_size=28).shape == (28, 28, 1)
    with pytest.raises(DataError, match="per_class"):
        render_digits(per_class=0)


def test_fingerprint_is_equal_for_equal_data_of_either_kind():
    digits = load_dataset("digits").subsample(per_class=3, seed=0)
    assert digits.fingerprint() == digits.take(np.arange(len(digits))).fingerprint()
    assert digits.fingerprint() != digits.take(np.arange(1, len(digits))).fingerprint()
    penguins = load_dataset("penguins")
    assert penguins.fingerprint() == load_dataset("penguins").fingerprint()
    changed = penguins.frame.assign(year=penguins.frame["year"] + 1)
    assert Dataset(kind="table", frame=changed, y=penguins.y, class_names=penguins.class_names,
                      target=penguins.target).fingerprint() != penguins.fingerprint()


# ---------------------------------------------------------------------- column types
def _types(**columns) -> dict[str, str]:
    from gan_augment.data.columns import column_type

    return {name: column_type(pd.Series(values) if not isinstance(values, pd.Series) else values)
            for name, values in columns.items()}


def test_column_type_numeric_includes_few_level_counts_and_mixed_numbers():
    assert set(_types(
        floats=[0.5, 1.25, 2.0],
        counts=[0, 3, 1, 2, 3] * 20,  # few levels: still a number (order and distance matter)
        coded=[1.0, 2.0, 1.0, 2.0],  # a two-level code that is not 0/1
        nullable=pd.Series([1, None, 3], dtype="Int64"),
        nullable_float=pd.Series([1.5, None], dtype="Float64"),
        mixed_float=[1, 2.5, None],  # ints and floats: float64
        mixed_object=pd.Series([1, 2.5, None], dtype=object),
        constant_zero=[0, 0, 0],  # 0 alone is not a boolean
    ).values()) == {"numeric"}


def test_column_type_boolean_bool_dtypes_and_zero_one_numbers():
    assert set(_types(
        flag=[True, False, True],
        with_na=pd.Series([True, None, False], dtype="boolean"),
        from_csv=pd.Series([True, None, False], dtype=object),  # a CSV bool column with gaps
        zero_one=[0, 1, 1, 0],
        zero_one_float=[0.0, 1.0, None],
    ).values()) == {"boolean"}
    assert _types(yes_no=["yes", "no"], declared=pd.Series([True, False], dtype="category")) == {
        "yes_no": "categorical", "declared": "categorical"}  # text is not parsed; a category stays one


def test_column_type_categorical_and_identifier_text():
    rng = np.random.default_rng(0)
    assert _types(
        strings=["a", "b", "a"],
        string_dtype=pd.Series(["a", None, "b"], dtype="string"),
        category=pd.Series(["x", "y", "x"], dtype="category"),
        fifty_unique=[f"id{i}" for i in range(50)],  # at most 50 values: always categories
        many_levels=rng.choice([f"c{i}" for i in range(60)], 1000),  # 60 levels that repeat
        mixed_objects=pd.Series([1, "a", None], dtype=object),
        unique_names=[f"id{i}" for i in range(51)],
        unique_categories=pd.Series([f"k{i}" for i in range(80)], dtype="category"),
        mostly_unique=[f"t{i // 2 if i < 40 else i}" for i in range(120)],  # 100 values in 120 rows
    ) == {"strings": "categorical", "string_dtype": "categorical", "category": "categorical",
          "fifty_unique": "categorical", "many_levels": "categorical", "mixed_objects": "categorical",
          "unique_names": "identifier", "unique_categories": "identifier", "mostly_unique": "identifier"}


def test_column_type_numeric_id_column_is_an_identifier_but_not_a_measurement():
    rng = np.random.default_rng(0)
    ids = pd.Series(np.arange(200))
    assert _types(
        row_number=ids,
        split=ids.sample(frac=0.6, random_state=0),  # a training split of the row numbers
        nullable_ids=pd.Series(np.arange(1, 101), dtype="Int64"),
        small=np.arange(50),  # 50 values or fewer: a number
        sparse=rng.choice(10**6, 200, replace=False),  # all distinct, spread: a measurement
        float_range=np.arange(100.0),  # floats are measurements
        repeated=np.arange(200) // 2,
    ) == {"row_number": "identifier", "split": "identifier", "nullable_ids": "identifier",
          "small": "numeric", "sparse": "numeric", "float_range": "numeric", "repeated": "numeric"}


def test_column_type_datetime_values_but_not_date_strings():
    import datetime

    iso = [f"2024-01-{d:02d}" for d in range(1, 29)] * 3
    assert _types(
        stamps=pd.Series(pd.to_datetime(["2024-01-05", None, "2024-02-01"])),
        zoned=pd.Series(pd.to_datetime(["2024-01-05", "2024-02-01"])).dt.tz_localize("UTC"),
        durations=pd.Series(pd.to_timedelta([1, None], unit="D")),
        dates=pd.Series([datetime.date(2024, 1, 5), None], dtype=object),
        parsed=pd.Series(pd.to_datetime(iso)),
        few_date_strings=iso,  # text is never parsed: 28 levels that repeat
        unique_date_strings=[f"2024-01-01T{h:02d}:{m:02d}" for h in range(10) for m in range(0, 60, 6)],
    ) == {"stamps": "datetime", "zoned": "datetime", "durations": "datetime", "dates": "datetime",
          "parsed": "datetime", "few_date_strings": "categorical", "unique_date_strings": "identifier"}


def test_column_type_all_missing_follows_the_dtype():
    assert _types(
        floats=[np.nan, np.nan],
        objects=pd.Series([None, None], dtype=object),
        booleans=pd.Series([None, None], dtype="boolean"),
        stamps=pd.Series([pd.NaT, pd.NaT], dtype="datetime64[ns]"),
        empty=pd.Series([], dtype=float),
    ) == {"floats": "numeric", "objects": "categorical", "booleans": "boolean", "stamps": "datetime",
          "empty": "numeric"}


def test_column_type_drives_the_encoder_the_gx_suite_and_the_matrix():
    from gan_augment.data.matrix import is_numeric_column, table_to_matrix
    from gan_augment.models.table_encoding import column_kind
    from gan_augment.validation.expectations import derive_suite

    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame({
        "x": rng.normal(size=n), "visits": rng.poisson(2.0, n), "flag": rng.random(n) < 0.3,
        "zero_one": rng.integers(0, 2, n), "city": rng.choice(["a", "b", "c"], n),
        "id": np.arange(n), "name": [f"n{i}" for i in range(n)],
        "day": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90, n), unit="D"),
    })
    kinds = {}
    for col in frame.columns:
        try:
            kinds[col] = column_kind(frame[col])
        except DataError as err:
            kinds[col] = "refused: " + ("row number" if "row number" in str(err) else
                                        "identifier" if "identifier" in str(err) else "dates")
    assert kinds == {"x": "continuous", "visits": "categorical", "flag": "categorical",
                     "zero_one": "categorical", "city": "categorical", "id": "refused: row number",
                     "name": "refused: identifier", "day": "refused: dates"}
    roles = {c: m["role"] for c, m in derive_suite(frame).meta["columns"].items()}
    assert roles == {"x": "numeric", "visits": "numeric+categorical", "flag": "categorical",
                     "zero_one": "numeric+categorical", "city": "categorical", "id": "text",
                     "name": "text", "day": "other"}
    matrix, enc = table_to_matrix(frame)
    # numbers, booleans and dates one standardised feature each (in column order), text one-hot,
    # identifiers left out
    assert enc.feature_names == ["x", "visits", "flag", "zero_one", "day", "city=a", "city=b", "city=c"]
    assert matrix.shape == (n, 8) and np.isfinite(matrix).all()
    np.testing.assert_allclose(matrix[:, :5].mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(matrix[:, :5].std(axis=0), 1.0, atol=1e-4)
    out, same = table_to_matrix(frame.iloc[:5][frame.columns[::-1]], enc)  # any column order
    assert same is enc
    np.testing.assert_array_equal(out, matrix[:5])
    assert [c for c in frame.columns if is_numeric_column(frame[c])] == ["x", "visits", "flag", "zero_one"]


def test_table_to_matrix_imputes_booleans_with_their_mode_and_drops_empty_text():
    from gan_augment.data.matrix import table_to_matrix

    frame = pd.DataFrame({"b": pd.Series([True, True, None, False], dtype=object),
                          "none": pd.Series([None] * 4, dtype=object), "z": [np.nan] * 4})
    matrix, enc = table_to_matrix(frame)
    assert enc.feature_names == ["b", "z"] and enc.medians == (1.0, 0.0)
    np.testing.assert_allclose(matrix[2], matrix[0])  # missing -> True, the more frequent value
    np.testing.assert_array_equal(matrix[:, 1], 0.0)  # all missing: a constant 0
    with pytest.raises(DataError, match="at least one row"):
        table_to_matrix(frame.iloc[:0])
    assert table_to_matrix(frame.iloc[:0], enc)[0].shape == (0, 2)


def test_rendered_digits_is_a_builtin_source_with_its_options():
    ds = load_dataset("rendered_digits", per_class=2, seed=3)
    assert ds.shape == (8, 8, 1) and ds.num_classes == 10 and len(ds) == 20
    np.testing.assert_array_equal(ds.x, load_dataset("rendered_digits", per_class=2, seed=3).x)
    assert "rendered_digits" in list_sources()
    with pytest.raises(DataError, match="split"):
        load_dataset("rendered_digits", split="train")
