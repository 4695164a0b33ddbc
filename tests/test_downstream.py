"""Downstream evaluation: settings, scores that must move the right way, seeds, classifiers, tables."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import gan_augment as ga
from gan_augment.downstream import (
    SETTINGS,
    DownstreamReport,
    classical_augment,
    evaluate_downstream,
    table_to_matrix,
)
from gan_augment.errors import DataError

CLASSES = [str(i) for i in range(10)]


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return ga.Dataset.from_arrays(bunch.images / 16.0, bunch.target, CLASSES)


@pytest.fixture(scope="module")
def split(digits):
    """(train: 10 per class, stand-in synthetic: all other training digits, test)."""
    pool, test = digits.split(0.3, seed=0)
    rng = np.random.default_rng(0)
    small, rest = [], []
    for c in range(10):
        members = rng.permutation(np.flatnonzero(pool.y == c))
        small.append(members[:10])
        rest.append(members[10:])
    return pool.take(np.sort(np.concatenate(small))), pool.take(np.concatenate(rest)), test


@pytest.fixture(scope="module")
def logreg_report(split):
    train, synthetic, test = split
    return evaluate_downstream(train, test, synthetic, classifier="logreg", seeds=2)


# ---------------------------------------------------------------------- scores
def test_logreg_all_settings_and_real_like_synthetic_helps(logreg_report, split):
    train, synthetic, test = split
    report = logreg_report
    assert report.settings == list(SETTINGS)
    assert report.seeds == [0, 1]
    assert report.n_test == len(test)
    for row in report.rows:
        assert len(row["accuracy_per_seed"]) == len(row["macro_f1_per_seed"]) == 2
        for value in (*row["accuracy_per_seed"], *row["macro_f1_per_seed"],
                      row["accuracy_mean"], row["macro_f1_mean"]):
            assert 0.0 <= value <= 1.0
        assert row["accuracy_std"] >= 0.0
    n = {r["setting"]: r["n_train"] for r in report.rows}
    assert n == {"real": 100, "real+classical": 500, "real+synthetic": len(train) + len(synthetic),
                 "real+synthetic+classical": 500 + len(synthetic), "synthetic-only": len(synthetic)}
    # more real-like data must help; training on (real) "synthetic" data must transfer
    assert report.gain() > 0.03
    assert report.row("real+synthetic")["accuracy_mean"] > report.row("real")["accuracy_mean"]
    assert report.row("synthetic-only")["accuracy_mean"] > 0.7
    assert report.row("real")["accuracy_mean"] > 0.6
    assert isinstance(report.beats_classical(), bool)


def test_shuffled_synthetic_labels_give_chance(split):
    train, synthetic, test = split
    shuffled = synthetic.with_labels(np.random.default_rng(1).permutation(synthetic.y))
    report = evaluate_downstream(train, test, shuffled, classifier="logreg", seeds=1,
                                 classical_augmentation=False)
    assert report.settings == ["real", "real+synthetic", "synthetic-only"]
    assert report.row("synthetic-only")["accuracy_mean"] < 0.3
    assert report.gain() < 0  # label noise must hurt


def test_logreg_reproducible(split, logreg_report):
    train, synthetic, test = split
    again = evaluate_downstream(train, test, synthetic, classifier="logreg", seeds=[0, 1])
    assert again.to_dict() == logreg_report.to_dict()


def test_cnn_learns_and_is_reproducible(digits):
    pool, test = digits.split(0.3, seed=1)
    train = pool.subsample(per_class=50, seed=0)
    kwargs = {"classifier": "cnn", "seeds": [3], "classical_augmentation": False, "epochs": 12}
    first = evaluate_downstream(train, test, **kwargs)
    second = evaluate_downstream(train, test, **kwargs)
    assert first.classifier == "cnn"
    assert first.row("real")["accuracy_mean"] > 0.5
    assert first.to_dict() == second.to_dict()


def test_default_classifier_for_images_is_cnn(split):
    train, _, test = split
    report = evaluate_downstream(train, test.take(np.arange(60)), seeds=1,
                                 classical_augmentation=False, epochs=1)
    assert report.classifier == "cnn"
    assert report.settings == ["real"]


# ---------------------------------------------------------------------- classifiers
def test_sklearn_estimator_instance_is_cloned_and_seeded(split):
    from sklearn.ensemble import RandomForestClassifier

    train, synthetic, test = split
    forest = RandomForestClassifier(n_estimators=15)
    report = evaluate_downstream(train, test, synthetic, classifier=forest, seeds=2,
                                 classical_augmentation=False)
    assert report.classifier == "RandomForestClassifier"
    assert not hasattr(forest, "estimators_")  # the instance itself is never fitted
    real = report.row("real")["accuracy_per_seed"]
    assert real[0] != real[1]  # random_state follows the seed…
    again = evaluate_downstream(train, test, synthetic, classifier=forest, seeds=2,
                                classical_augmentation=False)
    assert again.to_dict() == report.to_dict()  # …so the numbers repeat
    assert report.row("real+synthetic")["accuracy_mean"] > report.row("real")["accuracy_mean"]


@pytest.mark.parametrize("name", ["hgb", "svm"])
def test_named_sklearn_classifiers(split, name):
    train, _, test = split
    report = evaluate_downstream(train, test, classifier=name, seeds=1,
                                 classical_augmentation=False)
    assert report.classifier == name
    assert report.row("real")["accuracy_mean"] > 0.5


def test_keras_factory_and_model(split):
    import keras

    train, synthetic, test = split
    shapes = []

    def factory(input_shape, num_classes):
        shapes.append((input_shape, num_classes))
        return keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(),
                                 keras.layers.Dense(num_classes, activation="softmax")])

    report = evaluate_downstream(train, test, synthetic.take(np.random.default_rng(0).permutation(len(synthetic))[:300]), classifier=factory,
                                 seeds=1, classical_augmentation=False, epochs=15)
    assert shapes == [((8, 8, 1), 10)] * 3
    assert report.classifier == "keras-factory:factory"
    assert report.row("synthetic-only")["accuracy_mean"] > 0.5

    model = factory((8, 8, 1), 10)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy")
    before = [w.copy() for w in model.get_weights()]
    report = evaluate_downstream(train, test, classifier=model, seeds=1,
                                 classical_augmentation=False, epochs=15)
    assert report.classifier.startswith("keras:")
    assert report.row("real")["accuracy_mean"] > 0.6  # needs the clone of its fast optimizer
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # cloned


# ---------------------------------------------------------------------- tables
@pytest.fixture(scope="module")
def wine():
    from sklearn.datasets import load_wine

    bunch = load_wine(as_frame=True)
    frame = bunch.data.copy()
    frame["strength"] = np.where(frame["alcohol"] > frame["alcohol"].median(), "strong", "light")
    frame.loc[::17, "strength"] = None
    frame.loc[::13, "magnesium"] = np.nan
    return ga.Dataset(kind="table", frame=frame, y=np.asarray(bunch.target),
                      class_names=tuple(bunch.target_names), target="target")


def test_table_default_classifier(wine):
    pool, test = wine.split(0.3, seed=0)
    train, synthetic = pool.split(0.5, seed=1)
    report = evaluate_downstream(train, test, synthetic, seeds=2)
    assert report.classifier == "hgb"
    assert report.kind == "table"
    assert report.settings == list(SETTINGS)
    assert report.row("real")["accuracy_mean"] > 0.8
    assert report.row("synthetic-only")["accuracy_mean"] > 0.8
    assert any("SMOTE" in note for note in report.notes)
    # columns in another order are aligned, logreg works on the one-hot matrix too
    shuffled = pool.take(np.arange(len(pool)))
    shuffled = type(pool)(kind="table", frame=shuffled.frame[shuffled.frame.columns[::-1]],
                          y=shuffled.y, class_names=pool.class_names)
    logreg = evaluate_downstream(train, test, shuffled, classifier="logreg", seeds=1)
    assert logreg.row("real+synthetic")["accuracy_mean"] > 0.85


def test_synthetic_samples_of_one_class_skip_synthetic_only(wine):
    """augment(balance=True) on two classes fills only the rare one: synthetic-only cannot train
    a classifier, so it is skipped with a note; real+synthetic still runs."""
    pool, test = wine.split(0.3, seed=0)
    train, extra = pool.split(0.5, seed=1)
    one_class = extra.take(np.flatnonzero(extra.y == 2))
    report = evaluate_downstream(train, test, one_class, classifier="logreg", seeds=1,
                                 classical_augmentation=False)
    assert report.settings == ["real", "real+synthetic"]
    assert any("synthetic-only: skipped" in note and "'class_2'" in note for note in report.notes)


def test_table_to_matrix_one_hot_impute_and_reuse():
    frame = pd.DataFrame({"num": [1.0, np.nan, 3.0, 5.0], "cat": ["a", "b", None, "b"],
                          "flag": [True, False, True, True]})
    matrix, enc = table_to_matrix(frame)
    assert matrix.dtype == np.float32 and matrix.shape == (4, 4)
    assert enc.feature_names == ["num", "flag", "cat=a", "cat=b"]
    assert np.isfinite(matrix).all()
    np.testing.assert_allclose(matrix[:, 0].mean(), 0.0, atol=1e-6)  # standardised
    np.testing.assert_array_equal(matrix[:, 2:], [[1, 0], [0, 1], [0, 1], [0, 1]])  # mode "b"
    other = pd.DataFrame({"cat": ["a", "zzz"], "flag": [False, True], "num": [3.0, None]})
    out, same = table_to_matrix(other, enc)
    assert same is enc and out.shape == (2, 4)
    np.testing.assert_array_equal(out[:, 2:], [[1, 0], [0, 0]])  # unseen category: all zeros
    np.testing.assert_allclose(out[1, 0], out[0, 0])  # missing -> training median (3.0)
    with pytest.raises(DataError, match="Expected the columns"):
        table_to_matrix(other.drop(columns="cat"), enc)


def test_classical_augment_tables_interpolates_within_class(wine):
    a = classical_augment(wine, seed=4, copies=2)
    b = classical_augment(wine, seed=4, copies=2)
    assert len(a) == 2 * len(wine)
    assert list(a.frame.columns) == list(wine.frame.columns)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    np.testing.assert_array_equal(a.y, np.tile(wine.y, 2))
    assert set(a.frame["strength"].dropna()) <= {"strong", "light"}
    for c in range(3):  # numeric values stay inside the class's range
        real = wine.frame[wine.y == c]["alcohol"]
        new = a.frame[a.y == c]["alcohol"]
        assert new.min() >= real.min() - 1e-9 and new.max() <= real.max() + 1e-9
    assert not a.frame["alcohol"].equals(pd.concat([wine.frame["alcohol"]] * 2, ignore_index=True))


def test_classical_augment_images(split):
    train, _, _ = split
    a = classical_augment(train, seed=0)
    assert a.x.shape == (4 * len(train), 8, 8, 1) and a.x.dtype == np.float32
    assert a.x.min() >= 0.0 and a.x.max() <= 1.0
    np.testing.assert_array_equal(a.x, classical_augment(train, seed=0).x)
    assert not np.array_equal(a.x, classical_augment(train, seed=1).x)
    assert not np.allclose(a.x[: len(train)], train.x)  # really moved
    # still mostly the same picture: closer to its own original than to other images
    own = np.abs(a.x[: len(train)] - train.x).mean()
    other = np.abs(a.x[: len(train)] - train.x[::-1]).mean()
    assert own < other


# ---------------------------------------------------------------------- validation
def test_mismatches_raise_data_error(split, wine):
    train, synthetic, test = split
    with pytest.raises(DataError, match="same kind"):
        evaluate_downstream(train, wine, classifier="logreg")
    bigger = ga.Dataset.from_arrays(np.zeros((20, 10, 10, 1), "float32"), np.arange(20) % 10,
                                    CLASSES)
    with pytest.raises(DataError, match="shape"):
        evaluate_downstream(train, test, bigger, classifier="logreg")
    renamed = synthetic.with_labels(synthetic.y, [f"digit{i}" for i in range(10)])
    with pytest.raises(DataError, match="same classes"):
        evaluate_downstream(train, test, renamed, classifier="logreg")
    with pytest.raises(DataError, match="labels"):
        evaluate_downstream(train, test.with_labels(None), classifier="logreg")
    with pytest.raises(DataError, match="columns"):
        evaluate_downstream(wine, wine.take(np.arange(30)).__class__(
            kind="table", frame=wine.frame.drop(columns="strength"), y=wine.y,
            class_names=wine.class_names))
    with pytest.raises(DataError, match="Expected classifier"):
        evaluate_downstream(train, test, classifier="forest")
    with pytest.raises(DataError, match="image data"):
        evaluate_downstream(wine, wine, classifier="cnn")
    with pytest.raises(DataError, match="seeds"):
        evaluate_downstream(train, test, classifier="logreg", seeds=0)


def test_class_missing_from_train_warns(split):
    train, _, test = split
    without_nine = train.take(np.flatnonzero(train.y != 9))
    with pytest.warns(UserWarning, match="no samples"):
        report = evaluate_downstream(without_nine, test, classifier="logreg", seeds=1,
                                     classical_augmentation=False)
    assert report.row("real")["accuracy_mean"] < 0.95


# ---------------------------------------------------------------------- report
def test_report_json_markdown_plot_and_progress(logreg_report, tmp_path, split, capsys):
    data = json.loads(json.dumps(logreg_report.to_dict()))
    back = DownstreamReport.from_dict(data)
    assert back.to_dict() == logreg_report.to_dict()
    assert back.gain() == pytest.approx(logreg_report.gain())
    md = logreg_report.to_markdown().splitlines()
    assert len(md) == 2 + len(SETTINGS)
    for setting, line in zip(SETTINGS, md[2:]):
        assert line.startswith(f"| {setting} |") and " ± " in line
    frame = logreg_report.to_frame()
    assert list(frame["setting"]) == list(SETTINGS)
    assert {"accuracy_mean", "accuracy_std", "macro_f1_mean", "macro_f1_std"} <= set(frame)
    assert len(logreg_report.to_frame(per_seed=True)) == 2 * len(SETTINGS)
    with pytest.raises(DataError, match="setting"):
        logreg_report.gain("nope")
    png = logreg_report.save_plot(tmp_path / "plots" / "downstream.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in png.parent.iterdir()] == ["downstream.png"]  # no temp file left

    train, _, test = split
    evaluate_downstream(train, test, classifier="logreg", seeds=2, verbose=1)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("[downstream]")]
    assert len(lines) == 4 and "seed=1" in lines[-1]


def test_every_setting_gets_the_same_gradient_steps_and_weights_reach_the_loss(split):
    from sklearn.neighbors import KNeighborsClassifier

    from gan_augment.downstream import training_set
    from gan_augment.models.classifier import fixed_step_order

    assert len(fixed_step_order(100, 600, 32, seed=0)) == len(fixed_step_order(5000, 600, 32, seed=0)) == 600 * 32
    order = fixed_step_order(100, 10, 32, seed=0)
    assert sorted(order[:100].tolist()) == list(range(100))  # whole passes over the data
    train, synthetic, _ = split
    data, weights = training_set("real+synthetic+classical", train, synthetic, seed=0, synthetic_weight=0.25)
    assert len(data) == len(weights) == 5 * len(train) + len(synthetic)
    assert (weights[-len(synthetic):] == 0.25).all() and (weights[: 5 * len(train)] == 1).all()
    with pytest.raises(DataError, match="sample_weight"):
        evaluate_downstream(train, split[2], synthetic, classifier=KNeighborsClassifier(), seeds=1,
                            synthetic_weight=0.5, classical_augmentation=False)
