"""Domain translation (`gan_augment.translation`): train → translate → save/load → resume → sample,
on tiny 8×8 domains (rendered digits → scikit-learn's handwritten digits)."""

from __future__ import annotations

import numpy as np
import pytest

import gan_augment as ga
from gan_augment.errors import DataError, TrainingError
from gan_augment.translation import SEMANTIC_WEIGHT, load_translator, train_cyclegan

TINY = {"width": 8, "blocks": 1, "batch_size": 16, "pool_size": 8, "verbose": 0}


@pytest.fixture(scope="module")
def domains():
    source = ga.load_dataset("rendered_digits", per_class=4, seed=0)
    target = ga.load_dataset("digits").subsample(per_class=4, seed=0)
    return source, target


@pytest.fixture(scope="module")
def translator(domains, tmp_path_factory):
    source, target = domains
    checkpoints = tmp_path_factory.mktemp("translator") / "checkpoints"
    trained = train_cyclegan(source, target, epochs=2, seed=0, checkpoint_dir=checkpoints, **TINY)
    trained.checkpoints = checkpoints
    return trained


def test_translation_keeps_labels_and_says_so(translator, domains):
    source, _ = domains
    out = translator.translate(source)
    assert out.shape == source.shape and np.array_equal(out.y, source.y)
    assert out.provenance["translated"]["direction"] == "a2b" and 0.0 <= out.x.min() <= out.x.max() <= 1.0
    assert translator.translate(out, "b2a").shape == source.shape
    assert set(translator.history) >= {"cycle_loss", "identity_loss", "d_a_real", "d_b_fake"}


def test_sample_answers_like_a_gan(translator):
    labels = np.array([3, 3, 7, 0, 0, 0])
    samples = translator.sample(labels=labels, seed=1)
    assert np.array_equal(samples.y, labels) and samples.num_classes == 10
    np.testing.assert_array_equal(samples.x, translator.sample(labels=labels, seed=1).x)  # seeded


def test_save_and_load_translate_identically(translator, domains, tmp_path):
    source, _ = domains
    path = translator.save(tmp_path / "t.keras")
    again = load_translator(path, source=source)
    np.testing.assert_array_equal(again.translate(source).x, translator.translate(source).x)
    assert again.steps_taken == translator.steps_taken and again.class_names == translator.class_names


def test_a_rerun_resumes_from_the_checkpoint(translator, domains):
    source, target = domains
    more = train_cyclegan(source, target, epochs=3, seed=0, checkpoint_dir=translator.checkpoints, **TINY)
    per_epoch = translator.steps_taken // 2
    assert more.steps_taken == translator.steps_taken + per_epoch
    assert len(more.history["d_loss"]) == 3


def test_the_semantic_term_follows_its_option(translator, domains):
    # The default translator carries the frozen classifier exactly when the default weight is on.
    assert (translator.model.semantic is not None) == bool(SEMANTIC_WEIGHT)
    assert ("semantic_loss" in translator.history) == bool(SEMANTIC_WEIGHT)
    source, target = domains
    other = 1.0 - bool(SEMANTIC_WEIGHT)  # the other setting: off when the default is on, else on
    with pytest.raises(TrainingError, match="semantic_weight"):  # part of the resume fingerprint
        train_cyclegan(source, target, epochs=3, seed=0, checkpoint_dir=translator.checkpoints,
                       semantic_weight=other, **TINY)
    flipped = train_cyclegan(source, target, epochs=1, seed=0, semantic_weight=other, **TINY)
    assert (flipped.model.semantic is not None) == bool(other)
    assert flipped.options["semantic_weight"] == other


def test_label_agreement_needs_no_target_labels(translator, domains):
    source, _ = domains
    agreement = translator.label_agreement(source)
    assert 0.0 <= agreement <= 1.0
    assert agreement == translator.label_agreement()  # the default: its own source images
    semantic = translator.model.semantic  # by hand: the frozen source classifier before/after
    before = np.asarray(semantic(source.x)).argmax(1)
    after = np.asarray(semantic(translator.translate(source).x)).argmax(1)
    assert agreement == pytest.approx(float(np.mean(before == after)))


def test_bad_domains_raise_clear_errors(domains):
    source, target = domains
    with pytest.raises(DataError, match="channels"):
        train_cyclegan(source, ga.Dataset.from_arrays(np.zeros((4, 8, 8, 3), "float32")), **TINY)
    with pytest.raises(DataError, match="image_size"):
        train_cyclegan(source, ga.load_dataset("rendered_digits", per_class=1, image_size=16), **TINY)
    with pytest.raises(DataError, match="labelled source"):
        train_cyclegan(target.with_labels(None), source, **TINY)
    with pytest.raises(DataError, match="at least 2 images"):
        train_cyclegan(source, target.take([0]), **TINY)
    with pytest.raises(DataError, match="kind='image'"):
        train_cyclegan(source, ga.load_dataset("wine"), **TINY)
    with pytest.raises(TypeError, match="Unknown translation option"):
        train_cyclegan(source, target, cycle=3.0, **TINY)


def test_augment_fills_classes_with_translated_source_images(translator, domains):
    _, target = domains
    result = ga.augment(target, per_class=6, translate_from=translator, utility=False, on_fail="ignore",
                        verbose=0, seed=0)
    assert result.synthetic is not None and "translated" in result.synthetic.provenance
    assert (result.synthetic.class_counts() <= 2).all()  # filled up to 6 from 4 real per class
    assert result.report is not None and result.report.check("label_fidelity") is not None
    with pytest.raises(DataError, match="not both"):
        ga.augment(target, gan=translator, translate_from=translator, verbose=0)


@pytest.mark.slow  # trains a CycleGAN on 5000 rendered digits (and its semantic classifier)
def test_augment_trains_a_translator_from_a_source_name(domains):
    _, target = domains
    result = ga.augment(target, per_class=5, translate_from="rendered_digits", utility=False, validate=False,
                        verbose=0, epochs=1, **{k: v for k, v in TINY.items() if k != "verbose"})
    assert result.n_synthetic == 10 and type(result.gan).__name__ == "TrainedTranslator"
