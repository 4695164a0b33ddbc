"""Library progress goes through the `gan_augment` logger: the console by default, anywhere else
on request (the Dagster assets forward it to the run's log)."""

from __future__ import annotations

import logging

import gan_augment as ga
from gan_augment.logs import LOGGER, progress


def test_progress_prints_by_default_and_log_to_redirects_it(capsys):
    progress("first line")
    assert capsys.readouterr().out == "first line\n"
    seen: list[str] = []
    with ga.log_to(seen.append):
        progress("second line")
    assert seen == ["second line"] and capsys.readouterr().out == ""
    progress("third line")  # the console is back after the block
    assert capsys.readouterr().out == "third line\n"


def test_the_standard_logging_levels_silence_it(capsys):
    LOGGER.setLevel(logging.WARNING)
    try:
        progress("not shown")
        assert capsys.readouterr().out == ""
    finally:
        LOGGER.setLevel(logging.INFO)


def test_training_logs_about_ten_epoch_lines_off_a_terminal():
    data = ga.load_dataset("digits").subsample(per_class=4, seed=0)
    lines: list[str] = []
    with ga.log_to(lines.append):
        ga.train_gan(data, epochs=20, batch_size=8, seed=0)
    epochs = [line for line in lines if line.startswith("GAN epoch ")]
    assert len(epochs) == 10 and epochs[-1].startswith("GAN epoch 20/20: ") and "d_loss=" in epochs[-1]
    assert any(line.startswith("Trained epochs 1–20") for line in lines)
