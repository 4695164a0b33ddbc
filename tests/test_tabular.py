"""The tabular GAN: column encoders, training-by-sampling, the model, training on penguins,
sampling with the real schema, save/load, validation gates for tables, table data errors."""

from __future__ import annotations

import json

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import gan_augment as ga
from gan_augment.data.tables import MIN_ROWS_PER_CLASS, frame_to_dataset
from gan_augment.errors import DataError
from gan_augment.models import build_gan
from gan_augment.models.table_encoding import TableEncoder, TrainingSampler, column_kind
from gan_augment.validation.features import TableDomain
from gan_augment.validation.validate import (
    TABLE_GATES,
    class_matched_accuracy,
    correlation_difference,
    marginal_distances,
    validate,
)


def mixed_frame(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """Every column type the encoders handle, with missing values where the dtype allows them."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "bimodal": np.round(np.concatenate([rng.normal(0, 1, n // 2), rng.normal(10, 2, n - n // 2)]), 3),
        "float32": rng.normal(5, 1, n).astype("float32"),
        "count": rng.integers(0, 1000, n),                      # int64, many values: continuous
        "level": rng.integers(1, 4, n),                         # int64, 3 values: categorical
        "color": pd.Series(rng.choice(["red", "green", "blue"], n), dtype="str"),
        "shade": pd.Series(rng.choice(["dark", "light", None], n), dtype="string"),
        "obj": pd.Series(rng.choice(["u", "v"], n).astype(object), dtype=object),
        "size": pd.Categorical(rng.choice(["S", "M", "L"], n), categories=["S", "M", "L", "XL"], ordered=True),
        "flag": rng.random(n) < 0.3,
        "maybe": pd.array(np.where(rng.random(n) < 0.1, None, rng.random(n) < 0.5), dtype="boolean"),
        "visits": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 500, n)), dtype="Int64"),
        "weight": np.where(rng.random(n) < 0.2, np.nan, rng.gamma(2.0, 3.0, n).round(1)),
    })


def assert_same_schema(frame: pd.DataFrame, real: pd.DataFrame) -> None:
    """Columns, order, dtypes (category sets included), value ranges and sets, integer values."""
    assert list(frame.columns) == list(real.columns)
    pd.testing.assert_series_equal(frame.dtypes, real.dtypes)
    for col in real.columns:
        r, s = real[col].dropna(), frame[col].dropna()
        if isinstance(r.dtype, pd.CategoricalDtype):
            assert list(frame[col].cat.categories) == list(real[col].cat.categories)
        if column_kind(real[col]) == "continuous":
            lo, hi = r.astype("float64").min(), r.astype("float64").max()
            values = s.astype("float64")
            assert values.min() >= lo and values.max() <= hi, col
            if pd.api.types.is_integer_dtype(real[col].dtype) or np.all(r.astype("float64") % 1 == 0):
                assert np.all(values % 1 == 0), col
        else:
            assert set(s.astype(object)) <= set(r.astype(object)), col


# ====================================================================== encoders
def test_encoder_round_trip_on_every_column_type():
    frame = mixed_frame()
    enc = TableEncoder().fit(frame, seed=0)
    kinds = dict(zip(frame.columns, (c.kind for c in enc.columns)))
    assert kinds["bimodal"] == kinds["count"] == kinds["weight"] == kinds["visits"] == "continuous"
    assert kinds["level"] == kinds["color"] == kinds["size"] == kinds["flag"] == "categorical"
    assert enc.columns[0].n_modes >= 2  # the bimodal column gets (at least) its two modes
    matrix = enc.transform(frame, seed=0)
    assert matrix.shape == (len(frame), enc.output_dim) and matrix.dtype == np.float32
    assert np.abs(matrix).max() <= 1.0
    back = enc.inverse_transform(matrix)
    pd.testing.assert_frame_equal(back, frame, check_exact=False, rtol=1e-6)
    # Everything fitted is JSON: the encoder rebuilt from its config decodes identically.
    again = TableEncoder.from_config(json.loads(json.dumps(enc.get_config())))
    pd.testing.assert_frame_equal(again.inverse_transform(matrix), back)


def test_decoding_any_output_keeps_the_schema():
    frame = mixed_frame()
    enc = TableEncoder().fit(frame, seed=0)
    noise = np.random.default_rng(1).normal(0.0, 3.0, (500, enc.output_dim))  # soft, out of range
    decoded = enc.inverse_transform(noise)
    assert_same_schema(decoded, frame)
    assert decoded["shade"].isna().any() and decoded["weight"].isna().any()  # missingness decodes
    assert not decoded["flag"].isna().any()  # a numpy bool column has none to decode


def test_continuous_columns_on_a_grid_decode_onto_it():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"log_visits": np.log1p(rng.poisson(4, 600)).round(6),  # ~15 values: a grid
                          "amount": rng.gamma(2.0, 3.0, 600)})                   # all distinct: none
    enc = TableEncoder().fit(frame, seed=0)
    grid, free = enc.columns
    assert grid.kind == free.kind == "continuous" and len(grid.grid) == frame["log_visits"].nunique()
    assert free.grid == () and TableEncoder.from_config(enc.get_config()).columns[0].grid == grid.grid
    noise = np.random.default_rng(1).uniform(-1, 1, (500, enc.output_dim)).astype(np.float32)
    decoded = enc.inverse_transform(noise)
    assert set(decoded["log_visits"]) <= set(frame["log_visits"])
    assert decoded["amount"].nunique() > 300  # not snapped (clipping to the range repeats some)


def test_an_exact_copy_of_a_column_is_decoded_as_a_copy():
    # racd10 repeats `physician` as `docvis`: generated, the copy must stay exact
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"visits": rng.poisson(4, 300).astype(float), "kind": rng.choice(["a", "b"], 300)})
    frame.loc[:9, "visits"] = np.nan
    frame = frame.assign(docvis=frame["visits"], as_int=frame["kind"], other=frame["visits"] + 1)
    frame["as_int"] = frame["kind"]
    enc = TableEncoder().fit(frame, seed=0)
    assert enc.copies == {"docvis": "visits", "as_int": "kind"}  # `other` differs: modelled
    assert enc.column_names == list(frame.columns) and len(enc.columns) == 3
    decoded = enc.inverse_transform(np.random.default_rng(1).uniform(-1, 1, (200, enc.output_dim)))
    assert list(decoded.columns) == list(frame.columns) and (decoded.dtypes == frame.dtypes).all()
    assert decoded["docvis"].equals(decoded["visits"]) and decoded["as_int"].equals(decoded["kind"])
    again = TableEncoder.from_config(json.loads(json.dumps(enc.get_config())))
    assert again.copies == enc.copies and again.transform(frame).shape == enc.transform(frame).shape


@pytest.mark.parametrize("column, match", [
    (pd.Series([np.nan] * 10), "all 10 values missing"),
    (pd.Series([[1], [2]] * 5, dtype=object), "neither|numbers or strings"),
    (pd.Series(pd.date_range("2024-01-01", periods=10)), "dates"),
    (pd.Series([f"id{i}" for i in range(60)]), "identifier"),
    (pd.Series([1.0, np.inf] * 5), "inf"),
])
def test_encoder_rejects_columns_it_cannot_model(column, match):
    with pytest.raises(DataError, match=match):
        TableEncoder().fit(pd.DataFrame({"x": column}))


def test_training_by_sampling_matches_rows_and_favours_rare_values():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], [190, 10])                       # a rare class
    codes = np.stack([rng.integers(0, 2, 200), np.where(rng.random(200) < 0.05, 1, 0)], axis=1)
    sampler = TrainingSampler(codes, [2, 2], y, num_classes=2, p_category=1.0)
    rows, cond = sampler.sample(np.random.default_rng(1), 4000)
    assert cond.shape == (4000, 2 + 4) and np.all(cond[:, :2].argmax(1) == y[rows])
    assert np.all(cond[:, 2:].sum(1) == 1)  # one category of one column asked every time
    for j in range(2):
        asked = cond[:, 2 + 2 * j : 4 + 2 * j]
        on = asked.sum(1) == 1
        assert np.all(asked[on].argmax(1) == codes[rows[on], j])  # the real row has it
    share_rare = np.mean(y[rows] == 1)
    assert 0.25 < share_rare < 0.5  # log-frequency: log(11) / (log(11) + log(191)) = 0.31, not 0.05
    counts = sampler.condition_counts()
    assert counts[1][0] == np.bincount(codes[y == 1, 0], minlength=2).tolist()


# ====================================================================== the model
@pytest.fixture(scope="module")
def small_table():
    frame = mixed_frame(200)
    y = (frame["bimodal"] > 5).to_numpy().astype(np.int64)
    return frame, y


def _gan(frame, y, **options):
    enc = TableEncoder().fit(frame, seed=0)
    return build_gan("table", (frame.shape[1],), 2, encoder=enc, width=32, pac=5, **options)


def _batch(gan, frame, y, n=20):
    enc = gan.encoder
    rows = enc.transform(frame, seed=0)
    sampler = TrainingSampler(enc.condition_codes(frame), [b.size for b in enc.condition_blocks()], y, 2)
    idx, cond = sampler.sample(np.random.default_rng(0), n)
    return tf.constant(rows[idx]), tf.constant(cond)


def _values(variables):
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]


@pytest.mark.parametrize("frozen", ["generator", "critic"])
def test_each_optimizer_moves_only_its_own_networks(small_table, frozen):
    frame, y = small_table
    gan = _gan(frame, y, ema=False)
    lr = {"generator": (0.0, 1e-2), "critic": (1e-2, 0.0)}[frozen]
    gan.compile(g_optimizer=keras.optimizers.Adam(lr[0]), d_optimizer=keras.optimizers.Adam(lr[1]), d_steps=2)
    assert len(gan.d_optimizer._trainable_variables) == len(gan.critic_variables)
    assert len(gan.critic_variables) == (len(gan.discriminator.trainable_variables)
                                         + len(gan.classifier.trainable_variables))
    g0, d0 = _values(gan.generator.trainable_variables), _values(gan.critic_variables)
    logs = gan.train_step(_batch(gan, frame, y))
    g1, d1 = _values(gan.generator.trainable_variables), _values(gan.critic_variables)
    g_moved = any(not np.array_equal(a, b) for a, b in zip(g0, g1))
    d_moved = any(not np.array_equal(a, b) for a, b in zip(d0, d1))
    assert (g_moved, d_moved) == ((False, True) if frozen == "generator" else (True, False))
    assert set(logs) == {"d_loss", "g_loss", "cond_loss", "aux_loss", "d_real", "d_fake"}
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert int(gan.d_optimizer.iterations.numpy()) == 2 and int(gan.g_optimizer.iterations.numpy()) == 1
    assert gan.steps_taken == 1


def test_packing_needs_whole_packs_and_the_condition_loss_follows_the_ask(small_table):
    frame, y = small_table
    gan = _gan(frame, y)
    gan.compile()
    real, cond = _batch(gan, frame, y, n=10)
    assert gan._pack(tf.concat([cond[:, :2], real], 1), cond).shape == (2, 5 * (gan.data_dim + gan.cond_dim))
    raw = tf.zeros([10, gan.data_dim])  # uniform logits: each asked block costs log(its size)
    expected = np.mean([sum(np.log(size) for _, size, offset in gan._cond_layout if row[offset : offset + size].any())
                        for row in cond.numpy()])
    assert float(gan._condition_loss(raw, cond)) == pytest.approx(expected, rel=1e-5)
    assert float(gan._condition_loss(raw, tf.zeros_like(cond))) == 0.0


def test_value_space_decodes_rows_and_the_moment_loss_sees_broken_dependence(small_table):
    frame, y = small_table
    gan = _gan(frame, y, moment_weight=1.0)
    rows = np.concatenate([np.eye(2)[y], gan.encoder.transform(frame, seed=0)], axis=1).astype(np.float32)
    values = gan.values(tf.constant(rows)).numpy()
    # the continuous column "bimodal" (after the class and nothing else before it) decodes to its value
    np.testing.assert_allclose(values[:, 2], frame["bimodal"], atol=0.05 * frame["bimodal"].std())
    assert list(values[:, 5]) == list(frame["level"].astype(float))  # a number-valued categorical
    same = float(gan.moment_loss(tf.constant(rows), tf.constant(rows)))
    shuffled = rows.copy()  # the class block permuted: marginals intact, class-value dependence gone
    shuffled[:, :2] = shuffled[np.random.default_rng(0).permutation(len(rows)), :2]
    assert same == pytest.approx(0.0, abs=1e-6)
    assert float(gan.moment_loss(tf.constant(rows), tf.constant(shuffled))) > 0.005
    gan.compile()
    logs = gan.train_step(_batch(gan, frame, y))
    assert np.isfinite(float(logs["moment_loss"])) and float(logs["moment_loss"]) > 0
    with pytest.raises(DataError, match="moment_weight only for tables"):
        ga.train_gan(ga.load_dataset("digits"), epochs=1, moment_weight=1.0, verbose=0)


def test_a_class_never_gets_a_category_it_never_has(small_table):
    frame, y = small_table
    frame = frame.assign(color=np.where(y == 1, "red", frame["color"]))  # class 1: only red
    enc = TableEncoder().fit(frame, seed=0)
    sampler = TrainingSampler(enc.condition_codes(frame), [b.size for b in enc.condition_blocks()], y, 2)
    gan = build_gan("table", (frame.shape[1],), 2, encoder=enc, width=32, pac=5,
                    condition_counts=sampler.condition_counts())
    colors = gan.sample_frame(np.repeat([0, 1], 300), seed=0)["color"].to_numpy()
    assert set(colors[300:]) == {"red"} and len(set(colors[:300])) == 3  # untrained: any of class 0's


def test_saved_model_loads_safely_and_samples_the_same(small_table, tmp_path):
    frame, y = small_table
    gan = _gan(frame, y)
    gan.compile()
    gan.train_step(_batch(gan, frame, y))
    path = tmp_path / "table.keras"
    gan.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True, compile=False)
    assert type(loaded).__name__ == "TabularGAN" and loaded.encoder.get_config() == gan.encoder.get_config()
    labels = np.repeat([0, 1], 30)
    a, b = gan.sample_frame(labels, seed=3), loaded.sample_frame(labels, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(gan.sample_frame(labels, seed=4))
    assert_same_schema(a, frame)


# ====================================================================== training on penguins
@pytest.fixture(scope="module")
def penguins():
    return ga.load_dataset("penguins")


@pytest.fixture(scope="module")
def penguin_gan(penguins):
    return ga.train_gan(penguins, epochs=6, seed=0, verbose=0)


def test_penguins_source(penguins):
    assert len(penguins) == 344 and penguins.kind == "table" and penguins.target == "species"
    assert penguins.class_names == ("Adelie", "Chinstrap", "Gentoo")
    assert penguins.frame.isna().any().any()
    assert "penguins" in ga.list_sources()


def test_short_training_reproduces_categories_and_missing_rates(penguin_gan, penguins):
    gan = penguin_gan
    assert gan.kind == "table" and gan.options["loss"] == "wasserstein_gp" and gan.options["pac"] == 10
    assert gan.model.steps_taken == 6 * 50  # short tables: 50 steps per epoch
    synthetic = gan.sample(labels=penguins.y, seed=1)
    assert synthetic.kind == "table" and synthetic.target == "species"
    np.testing.assert_array_equal(synthetic.y, penguins.y)
    assert_same_schema(synthetic.frame, penguins.frame)
    for col in ("island", "sex", "year"):
        assert set(synthetic.frame[col].dropna()) == set(penguins.frame[col].dropna()), col
    missing_real, missing_syn = penguins.frame.isna().mean(), synthetic.frame.isna().mean()
    assert (missing_syn - missing_real).abs().max() <= 0.06, pd.concat([missing_real, missing_syn], axis=1)
    assert missing_syn["sex"] > 0  # the rare missing sex is generated too
    same = gan.sample(labels=penguins.y, seed=1)
    pd.testing.assert_frame_equal(same.frame, synthetic.frame)
    fives = gan.sample(7, labels=2, seed=0)
    assert len(fives) == 7 and set(fives.y) == {2}


def test_trained_table_gan_save_and_load(penguin_gan, tmp_path):
    path = penguin_gan.save(tmp_path / "penguins.keras")
    loaded = ga.load_gan(path)
    assert loaded.kind == "table" and loaded.target == "species" and loaded.columns == penguin_gan.columns
    pd.testing.assert_frame_equal(loaded.sample(40, seed=5).frame, penguin_gan.sample(40, seed=5).frame)
    assert loaded.history == penguin_gan.history


def test_augment_table_and_exports(penguin_gan, penguins, tmp_path):
    aug = ga.augment(penguins, gan=penguin_gan, validate=False, utility=False, verbose=0)
    assert aug.class_counts()["synthetic"].tolist() == [0, 84, 28]
    combined = aug.combined()
    assert combined.class_counts().tolist() == [152, 152, 152]
    pd.testing.assert_series_equal(combined.frame.dtypes, penguins.frame.dtypes)
    path = aug.export_parquet(tmp_path / "penguins_augmented.parquet")
    back = ga.load_dataset(path, target="species", synthetic="only")
    assert len(back) == 112 and back.class_names == penguins.class_names
    with pytest.raises(DataError, match="export_parquet"):
        aug.export_npz(tmp_path / "penguins.npz")
    renamed = ga.Dataset(kind="table", frame=penguins.frame.rename(columns={"year": "yr"}), y=penguins.y,
                         class_names=penguins.class_names)
    with pytest.raises(DataError, match="columns"):
        ga.augment(renamed, gan=penguin_gan, validate=False, verbose=0)


# ====================================================================== validation gates
@pytest.fixture(scope="module")
def split_penguins(penguins):
    train, rest = penguins.split(0.4, seed=0)
    reference, holdout = rest.split(0.5, seed=0)
    return train, reference, holdout, TableDomain.fit(train, seed=0)


def _check(train, reference, domain, frame, y=None, requested=None):
    synthetic = type(train)(kind="table", frame=frame, y=reference.y if y is None else y,
                            class_names=train.class_names, target=train.target)
    return validate(train, synthetic, reference=reference, encoder=domain, requested=requested)


def test_table_gates_pass_on_a_real_holdout(split_penguins):
    train, reference, holdout, domain = split_penguins
    report = validate(train, holdout, reference=reference, encoder=domain)
    assert report.passed, report.summary()
    assert {c.name for c in report.checks if c.gate} == set(TABLE_GATES)
    # 69 real unseen rows cannot tell a copying generator from a faithful one: it says so
    memorization = report.check("memorization")
    assert memorization.threshold > 0.10 and "would stand out from chance" in memorization.undecided
    assert report.info["kind"] == "table" and report.accepted.mean() > 0.9
    json.loads(report.to_json())  # JSON-safe


def test_label_fidelity_is_judged_at_the_synthetic_class_mix(split_penguins):
    train, reference, holdout, domain = split_penguins
    predicted = domain.predict(reference.frame)
    flipped = predicted.copy()
    flipped[reference.y == 1] = 0  # a judge that never names class 1: recall 0 there
    assert class_matched_accuracy(flipped, reference.y, np.ones(5, np.int64), 3) == 0.0
    assert class_matched_accuracy(predicted, reference.y, reference.y, 3) == pytest.approx(
        np.mean(predicted == reference.y))
    one_class = holdout.take(np.flatnonzero(holdout.y == 1))  # filling one class up with real rows
    report = validate(train, one_class, reference=reference, encoder=domain)
    check = next(c for c in report.checks if c.name == "label_fidelity")
    assert check.baseline == pytest.approx(np.mean(predicted[reference.y == 1] == 1))
    assert check.passed and "at the synthetic class mix" in check.why


def test_table_gates_compare_class_matched_rows(split_penguins):
    # Synthetic rows of the rare classes only (what balancing asks for) are judged against real
    # rows of those classes, not against the whole imbalanced real table.
    train, reference, holdout, domain = split_penguins
    rare = holdout.take(np.flatnonzero(holdout.y > 0))
    report = validate(train, rare, reference=reference, encoder=domain, requested=np.bincount(rare.y, minlength=3))
    assert report.passed, report.summary()
    np.testing.assert_array_equal(report.requested, np.bincount(rare.y, minlength=3))  # the plan it judged
    assert report.info["equal_count"] == sum(min(np.sum(d.y == c) for d in (train, reference, rare)) for c in (1, 2))


def test_table_gates_fail_on_bad_synthetic_tables(split_penguins, penguins):
    train, reference, holdout, domain = split_penguins
    frame, rng = holdout.frame, np.random.default_rng(0)
    failed = lambda r: {c.name for c in r.failed()}

    # every column shuffled on its own: right marginals, no joint structure
    shuffled = frame.apply(lambda s: s.sample(frac=1.0, random_state=int(rng.integers(1000))).to_numpy())
    joint = {"correlation", "frechet_distance", "coverage", "c2st_auc", "label_fidelity"}
    report = _check(train, reference, domain, shuffled.astype(frame.dtypes))
    assert "label_fidelity" in failed(report) and len(joint & failed(report)) >= 2

    reordered = frame[frame.columns[::-1]]
    assert "gx_suite" in failed(_check(train, reference, domain, reordered))

    constant = frame.assign(body_mass_g=frame["body_mass_g"].median())
    report = _check(train, reference, domain, constant)
    assert "gx_suite" in failed(report)
    assert "ExpectColumnStdevToBeBetween" in report.check("gx_suite").why

    copies = train.take(np.arange(len(holdout)))
    report = _check(train, reference, domain, copies.frame, y=copies.y)
    assert "memorization" in failed(report)
    np.testing.assert_array_equal(report.acceptor(copies), report.accepted)  # top-up rounds' rules

    wrong = frame.assign(island=frame["island"].replace({"Dream": "Atlantis"}))
    assert "gx_suite" in failed(_check(train, reference, domain, wrong))

    with pytest.raises(DataError, match="columns"):
        _check(train, reference, domain, frame.rename(columns={"sex": "gender"}))


def test_a_few_synthetic_rows_get_schema_checks_not_distribution_checks(split_penguins):
    # 4 rows of one sex and one body mass: a stdev or histogram of 4 rows is noise, so the GX
    # suite checks schema, types, nulls and value sets only, and says it could not decide more;
    # a value outside the real set still fails at any size.
    train, reference, holdout, domain = split_penguins
    few = holdout.frame.iloc[:4].assign(sex="male", body_mass_g=4000.0)
    report = _check(train, reference, domain, few, y=holdout.y[:4])
    gx = report.check("gx_suite")
    assert gx.passed and "only 4 synthetic rows" in gx.undecided, gx.why
    wrong = few.assign(island="Atlantis")
    gx = _check(train, reference, domain, wrong, y=holdout.y[:4]).check("gx_suite")
    assert not gx.passed and "ExpectColumnValuesToBeInSet" in gx.why and not gx.undecided


def test_table_metrics():
    a = pd.DataFrame({"x": np.arange(100.0), "k": ["u", "v"] * 50})
    assert marginal_distances(a, a) == {"x": 0.0, "k": 0.0}
    with_missing = a.assign(x=a["x"].where(a["x"] >= 20))  # 20 % missing: KS sees it
    assert marginal_distances(a, with_missing)["x"] == pytest.approx(0.2)
    x = np.random.default_rng(0).normal(size=(400, 2))
    x[:, 1] += x[:, 0]
    independent = np.stack([x[:, 0], np.random.default_rng(1).permutation(x[:, 1])], axis=1)
    assert correlation_difference(x, independent) > 0.5 > correlation_difference(x, x[::-1]) - 0.5


# ====================================================================== bad table input
def _table(frame, target="label"):
    return frame_to_dataset(frame, target)[0]


def test_table_data_errors_say_how_to_fix_them(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=40), "label": ["a", "b"] * 20})
    with pytest.raises(DataError, match="'nope'.*Pass target="):
        frame_to_dataset(frame, "nope")
    constant = _table(frame.assign(label="a"))
    with pytest.raises(DataError, match="constant value 'a' in all 40 rows"):
        ga.train_gan(constant, verbose=0)
    few = _table(frame.assign(label=["a"] * 37 + ["b"] * 3))
    with pytest.raises(DataError, match=f"at least {MIN_ROWS_PER_CLASS} rows.*'b': 3"):
        ga.train_gan(few, verbose=0)
    with pytest.raises(DataError, match="all 40 values missing. Drop the column"):
        ga.train_gan(_table(frame.assign(empty=np.nan)), verbose=0)
    with pytest.raises(DataError, match="numbers or strings.*'blob'"):
        _table(frame.assign(blob=[{"a": 1}] * 40))
    path = tmp_path / "blobs.parquet"
    frame.assign(blob=[b"\x00"] * 40).to_parquet(path)
    with pytest.raises(DataError, match="numbers or strings"):
        ga.load_dataset(path, target="label")
    with pytest.raises(DataError, match="multiple of pac=10"):
        ga.train_gan(_table(frame), batch_size=64, verbose=0)
    with pytest.raises(DataError, match="only for images"):
        ga.train_gan(_table(frame), diffaugment="color", verbose=0)


# ====================================================================== slow: end to end
@pytest.mark.slow
def test_augment_penguins_end_to_end_with_validation(penguins, tmp_path):
    aug = ga.augment(penguins, seed=0, utility=False, verbose=0)  # default training; on_fail="raise"
    assert aug.report.passed, aug.report.summary()
    assert aug.combined().class_counts().tolist() == [152, 152, 152]
    paths = aug.report.save(tmp_path / "validation")
    assert paths["html"].stat().st_size > 1000
    back = ga.load_dataset(aug.export_parquet(tmp_path / "aug.parquet"), target="species")
    pd.testing.assert_series_equal(back.frame.dtypes, penguins.frame.dtypes)


@pytest.mark.slow
def test_table_training_resumes_where_it_stopped(tmp_path):
    data = ga.load_dataset("wine")
    whole = ga.train_gan(data, epochs=2, seed=3, verbose=0)
    ga.train_gan(data, epochs=1, seed=3, verbose=0, checkpoint_dir=tmp_path)
    resumed = ga.train_gan(data, epochs=2, seed=3, verbose=0, checkpoint_dir=tmp_path)
    assert resumed.model.steps_taken == whole.model.steps_taken == 100
    pd.testing.assert_frame_equal(resumed.sample(50, seed=1).frame, whole.sample(50, seed=1).frame)


@pytest.mark.slow
def test_unconditional_table_gan(penguins):
    gan = ga.train_gan(penguins, conditional=False, epochs=2, seed=0, verbose=0)
    rows = gan.sample(60, seed=0)
    assert rows.y is None and not gan.conditional
    assert_same_schema(rows.frame, penguins.frame)


def test_early_stop_criterion_measures_table_rows_too(penguins):
    gan = ga.train_gan(penguins, epochs=2, early_stop=True, early_stop_patience=1, seed=0, verbose=0)
    fd = gan.history["plateau_fd"]
    assert len(fd) >= 2 and all(np.isfinite(fd)) and min(fd) > 0
    assert gan.stop_reason.startswith(("early_stop: ", "reached epochs=2"))


def test_time_budget_ends_training_at_an_epoch_end(penguins):
    gan = ga.train_gan(penguins, epochs=40, time_budget=0.01, width=32, seed=0, verbose=0)
    assert len(gan.history["d_loss"]) == 1 and gan.stop_reason.startswith("time_budget: ")
    with pytest.raises(DataError, match="time_budget as seconds > 0"):
        ga.train_gan(penguins, epochs=1, time_budget=0, verbose=0)


def test_marginals_leave_identifier_columns_out():
    # a row number has no distribution to compare: every row its own value
    a = pd.DataFrame({"row": np.arange(100), "x": np.arange(100.0)})
    assert set(marginal_distances(a, a.assign(row=np.arange(100, 200)))) == {"x"}
