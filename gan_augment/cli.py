"""The ``gan-augment`` command line (also ``python -m gan_augment``).

Subcommands:

* ``augment``  — the main job: load a data set, train a class-conditional GAN, fill every class up
  with generated samples, validate and curate them, and write the augmented data set (images:
  ``.npz`` and TFDS; tables: ``.parquet`` and ``.csv``), the model, pictures, the validation
  report and a ``summary.json``.
* ``train``    — train a GAN and save it (``model.keras``) with its pictures; resumable.
* ``generate`` — draw samples from a saved GAN into an ``.npz`` file plus a picture (images) or
  a ``.parquet``/``.csv`` file (tables).
* ``translate`` — train a CycleGAN from a labelled source domain to a target domain and write the
  translated source (``translated.npz``).
* ``upscale``  — train an SRGAN (or load one), score it beside bicubic and SRResNet on held-out
  images, and optionally write a data set upscaled (``upscaled.npz``).
* ``sources``  — list the built-in data sets and the other accepted source forms.
* plugin commands other installed packages register (`PluginCommand`, entry-point group
  ``gan_augment.commands``): this project's ``pipelines`` package adds ``run``, the whole Dagster
  pipeline for one data set. The library itself never imports ``pipelines``.

TensorFlow is imported only inside the handlers that need it, so ``gan-augment --help`` is fast.
Errors the user can fix (a `GanAugmentError`, a missing file, an unknown option) print
``gan-augment: error: <message>`` and exit with status 2; ``gan-augment --verbose ...`` (or
``GAN_AUGMENT_DEBUG=1``) shows TensorFlow's own messages and the
traceback instead.

Example:
    >>> from gan_augment.cli import main
    >>> main(["augment", "--dataset", "digits", "--epochs", "5"])  # doctest: +SKIP
    0
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.metadata
import json
import os
import re
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from gan_augment.data.sources import list_sources
from gan_augment.errors import DataError, GanAugmentError
from gan_augment.kinds import kind_of

PROG = "gan-augment"
EXIT_OK = 0
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

#: Adversarial losses (the names `gan_augment.models.losses.LOSSES` knows; kept here so that
#: building the parser does not import TensorFlow).
LOSS_CHOICES = ("non_saturating", "hinge", "wasserstein_gp")
#: What `augment` does when the utility gate finds no gain (`gan_augment.augment(on_no_gain=...)`).
ON_NO_GAIN_CHOICES = ("classical", "warn", "raise", "ignore")
#: What `augment` does when a validation gate fails (`gan_augment.augment(on_fail=...)`).
ON_FAIL_CHOICES = ("raise", "warn", "ignore")
DEFAULT_DATASET = "digits"
#: The CLI's own subcommands (a plugin of the same name is ignored).
BUILTIN_COMMANDS = ("augment", "train", "generate", "translate", "upscale", "sources")
DEFAULT_OUTPUT_ROOT = Path("data") / "outputs"

#: Errors that are the user's to fix: printed as one line, no traceback. The package raises its
#: own types (`GanAugmentError`) for bad input on purpose; anything else (a TypeError, a
#: ValueError from deep inside a library) is a bug and keeps its traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (
    GanAugmentError,
    FileNotFoundError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
)

_SOURCE_FORMS = """\
Accepted --dataset forms:
  NAME                a built-in data set (above)
  tfds:NAME           a TensorFlow Datasets data set, e.g. tfds:mnist, read from --data-dir
                      (prepared beforehand; nothing is downloaded at run time)
  tfds_dir:PATH       a prepared TFDS directory (one holding dataset_info.json), e.g. the
                      tfds/ folder that `gan-augment augment` writes
  PATH/               a folder of images: PATH/<class>/*.png or PATH/<split>/<class>/*.png
                      (pick the split with --split)
  FILE.npz            arrays x (images) and y (labels), e.g. an augmented.npz
  FILE.csv|.parquet   a table; name the class column with --target
A built-in name wins over a folder of the same name: write ./digits for the folder."""


# ---------------------------------------------------------------------- argument types
def _int_at_least(minimum: int) -> Any:
    """An argparse type: a whole number >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, received {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a number >= {minimum}, received {value}")
        return value

    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)


def _image_size(text: str) -> int | tuple[int, int]:
    """``28`` -> 28; ``28x32`` -> (28, 32)."""
    parts = re.split(r"[x,]", text.strip().lower())
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a size such as 28 or 28x32, received {text!r}"
        ) from None
    if len(values) not in (1, 2) or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected a size such as 28 or 28x32, received {text!r}")
    return values[0] if len(values) == 1 else (values[0], values[1])


# ---------------------------------------------------------------------- parser
class _Formatter(argparse.HelpFormatter):
    """Wraps one-paragraph descriptions; keeps text with line breaks (the examples) as written."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument(
        "--dataset", "-d", default=DEFAULT_DATASET, metavar="SOURCE",
        help=f"what to train on: a built-in name ({', '.join(list_sources())}), tfds:NAME, "
             "tfds_dir:PATH, an image folder, an .npz file or a .csv/.parquet table "
             f"(default: {DEFAULT_DATASET}; `{PROG} sources` lists them)",
    )
    group.add_argument("--data-dir", metavar="DIR",
                       help="where prepared TFDS data sets live (tfds: sources only)")
    group.add_argument("--split", metavar="NAME",
                       help="which split to read: a TFDS split or the split folder of an image "
                            "folder (default: train)")
    group.add_argument("--target", metavar="COLUMN",
                       help="the class column of a .csv/.parquet table (required for tables)")
    group.add_argument("--image-size", type=_image_size, metavar="N",
                       help="resize images to N x N pixels (or HxW, e.g. 28x32) before training")


def _add_training_arguments(parser: argparse.ArgumentParser, *, default_out: str) -> None:
    group = parser.add_argument_group("training")
    group.add_argument("--epochs", type=_non_negative_int, metavar="N",
                       help="passes over the data (default: enough for about 4000 training steps, "
                            "between 10 and 1000 epochs)")
    group.add_argument("--batch-size", type=_positive_int, metavar="N",
                       help="samples per training step (default: 64; 32 or 16 for small data sets)")
    group.add_argument("--seed", type=int, default=0,
                       help="random seed; the same seed and options give the same run (default: 0)")
    group.add_argument("--loss", choices=LOSS_CHOICES, metavar="{" + ",".join(LOSS_CHOICES) + "}",
                       help="adversarial loss (default: non_saturating; wasserstein_gp trains "
                            "the critic 5 times per generator step)")
    group.add_argument("--spectral-norm", action="store_true",
                       help="spectral normalization in the discriminator (steadier training)")
    group.add_argument("--diffaugment", metavar="POLICY",
                       help="differentiable augmentation for small data: a comma-separated mix of "
                            "color, translation, cutout, or 'none' to switch it off (default: "
                            "'translation,color' for image data sets under 1000 samples, else off)")
    group.add_argument("--early-stop", dest="early_stop", action=argparse.BooleanOptionalAction,
                       default=None,
                       help="end training when the Fréchet distance of the samples to the real data "
                            "stops improving (--epochs is then the most it runs; default: off, "
                            "see docs/BENCHMARKS.md)")
    group.add_argument("--time-budget", dest="time_budget", type=float, metavar="SECONDS",
                       help="end training after this many seconds (at the end of an epoch; "
                            "default: no limit)")
    group.add_argument("--checkpoint-dir", metavar="DIR",
                       help="where the training state is saved every few epochs; if it already "
                            "holds a checkpoint of the same run, training resumes from it "
                            "(default: OUTPUT_DIR/checkpoints)")
    group.add_argument("--output-dir", "-o", metavar="DIR",
                       help=f"where the results go (default: {default_out})")
    group.add_argument("--quiet", "-q", action="store_true",
                       help="no progress output; print only the results")


def _add_command(commands: Any, name: str, handler: Callable[[argparse.Namespace], int], *,
                 help: str, description: str, examples: str) -> argparse.ArgumentParser:
    """Add the subcommand ``name``, run by ``handler``, with the CLI's help formatter; its epilog
    lists ``examples`` (one command line each, without the program name)."""
    lines = examples.splitlines()
    epilog = "\n".join([f"example{'s' if len(lines) > 1 else ''}:", *(f"  {PROG} {line}" for line in lines)])
    command = commands.add_parser(name, help=help, formatter_class=_Formatter, description=description,
                                  epilog=epilog)
    command.set_defaults(handler=handler)
    return command


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``gan-augment`` (building it imports nothing heavy)."""
    from gan_augment import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        formatter_class=_Formatter,
        description="Grow small or imbalanced data sets with samples from a class-conditional GAN.",
        epilog=f"""\
examples:
  {PROG} run digits                            # the whole Dagster pipeline for one data set
  {PROG} augment --dataset digits              # the whole job on a built-in data set
  {PROG} train --dataset digits --epochs 50    # train only, save model.keras
  {PROG} generate --model data/outputs/digits --n 100 --labels 3,5
  {PROG} sources                               # the data sets and source forms

Run `{PROG} COMMAND --help` for the options of a command.""",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--verbose", action="store_true",
                        help="show everything: TensorFlow's own messages and full tracebacks "
                             "(the same as GAN_AUGMENT_DEBUG=1); put it before the command")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    # ------------------------------------------------------------------ augment
    augment = _add_command(
        commands, "augment", _cmd_augment,
        help="train a GAN on a data set and fill every class up with generated samples",
        description="Train a class-conditional GAN on the data set, then add generated samples "
                    "so that every class reaches the same count (or add --per-class samples to "
                    "every class with --no-balance). The generated samples are validated against "
                    "held-out real data and curated (near-copies and mislabelled samples are "
                    "dropped) before they are kept. Then the utility gate trains the same "
                    "classifier with and without them on a quarter of every class held out before "
                    "training, and publishes them only if they make it better (else the best "
                    "alternative: real + classical copies, or the real data alone; see "
                    "--on-no-gain). Writes into the output folder: "
                    "augmented.npz (real + synthetic, with a 'synthetic' flag per sample), "
                    "tfds/ (the same as a TensorFlow Datasets directory), model.keras, "
                    "samples.png, training_curves.png, progress/, validation/ (report.html) and "
                    "summary.json; for tables augmented.parquet and augmented.csv instead of "
                    "augmented.npz and tfds/, and no sample pictures. Re-running the same command after an interruption resumes "
                    "training from the checkpoint.",
        examples="""\
augment --dataset digits
augment --dataset digits --per-class 300 --epochs 100 -o runs/digits300
augment --dataset digits --on-fail warn      # keep curated samples if a gate fails
augment --dataset tfds:mnist --data-dir ~/tensorflow_datasets --epochs 20
augment --dataset my_images/ --image-size 32 --loss hinge --spectral-norm
augment --dataset penguins                   # a mixed-type table with missing values
augment --dataset churn.csv --target churned""",
    )
    _add_data_arguments(augment)
    _add_training_arguments(augment, default_out="data/outputs/<dataset name>")
    group = augment.add_argument_group("generation")
    group.add_argument("--per-class", type=_non_negative_int, metavar="N",
                       help="target count of every class (default: the size of the largest "
                            "class); with --no-balance: samples added to every class (default: "
                            "as many as the class has)")
    group.add_argument("--no-balance", action="store_true",
                       help="add the same number of samples to every class instead of filling "
                            "rare classes up")
    group.add_argument("--stream", action="store_true",
                       help="validate a seeded subsample of --validation-sample samples in memory "
                            "and stream the whole augmented set to OUTPUT_DIR/data/ shard by shard "
                            "(augment_to; default: only when it would not fit in memory)")
    group.add_argument("--validation-sample", type=_positive_int, metavar="N", default=None,
                       help="with streaming: samples validated and measured in memory (default "
                            "10000)")
    group = augment.add_argument_group("validation")
    group.add_argument("--no-validate", action="store_true",
                       help="keep every generated sample without checking it against the real "
                            "data (default: validate, drop near-copies and mislabelled samples, "
                            "and write the report to OUTPUT_DIR/validation/)")
    group.add_argument("--no-utility", action="store_true",
                       help="publish the synthetic samples without the utility gate (default: hold "
                            "out a quarter of every class, check that a classifier trained with "
                            "them beats one trained on real (+ classical) data, and choose the "
                            "amount and loss weight there)")
    group.add_argument("--on-no-gain", choices=ON_NO_GAIN_CHOICES, default=None,
                       help="when the utility gate finds no gain: classical (default; publish the "
                            "best alternative without GAN samples), warn (the same, with a "
                            "warning), raise (stop with an error) or ignore (publish them anyway)")
    group.add_argument("--on-fail", choices=ON_FAIL_CHOICES, default=None,
                       help="when a validation gate fails: raise (default; stop with an error, "
                            "write no data set), warn (keep the curated samples and say so) or "
                            "ignore")

    # ------------------------------------------------------------------ train
    train = _add_command(
        commands, "train", _cmd_train,
        help="train a GAN and save it as model.keras (resumable)",
        description="Train a (class-conditional) GAN on the data set and save it as "
                    "OUTPUT_DIR/model.keras, together with samples.png, training_curves.png and "
                    "progress/ (sample grids during training). The training state is saved in "
                    "the checkpoint folder every few epochs: re-run the same command to resume, "
                    "or raise --epochs to train on.",
        examples="""\
train --dataset digits --epochs 50
train --dataset tfds:fashion_mnist --data-dir ~/tensorflow_datasets -o runs/fashion
train --dataset my_images/ --image-size 32 --loss wasserstein_gp""",
    )
    _add_data_arguments(train)
    _add_training_arguments(train, default_out="data/outputs/<dataset name>")
    train.add_argument("--strategy", choices=["multi_worker"],
                       help="multi_worker: train across the processes of the TF_CONFIG cluster (one "
                            "process per machine, each with its TF_CONFIG, the same command and "
                            "folders on shared storage; only worker 0 writes). See "
                            "deploy/kubernetes/multi_worker_training.yaml")

    # ------------------------------------------------------------------ generate
    generate = _add_command(
        commands, "generate", _cmd_generate,
        help="draw samples from a saved GAN into an .npz (images) or .parquet/.csv (tables) file",
        description="Load a GAN saved by `train` or `augment` and generate samples. Images: an "
                    ".npz file (x, y, class_names, synthetic) that `--dataset` and numpy read, "
                    "and a picture of some of the samples next to it (<name>_grid.png). Tables: "
                    "a .parquet (default) or .csv file with the training columns, the class "
                    "column and a _synthetic flag.",
        examples="""\
generate --model data/outputs/digits/model.keras --n 500
generate --model data/outputs/digits --n 100 --labels 3,5 --out fives.npz
generate --model data/outputs/penguins/model.keras --labels Chinstrap --out c.csv""",
    )
    generate.add_argument("--model", "-m", required=True, metavar="PATH.keras",
                          help="the saved GAN (or translator): a .keras file, or an output folder holding "
                               "model.keras (train, augment), gan_model.keras (run) or translator.keras (translate)")
    generate.add_argument("--n", "-n", type=_positive_int, metavar="N",
                          help="how many samples (default: 100 per class, or per --labels entry)")
    generate.add_argument("--labels", metavar="L1,L2,...",
                          help="only these classes, as labels (0,3,5) or class names; the samples "
                               "are split evenly over them (default: all classes in turn)")
    generate.add_argument("--seed", type=int,
                          help="random seed of the noise (default: the training seed)")
    generate.add_argument("--out", metavar="PATH",
                          help="the file to write: .npz for images, .parquet or .csv for tables "
                               "(default: samples.npz / samples.parquet next to the model)")

    # ------------------------------------------------------------------ translate
    translate = _add_command(
        commands, "translate", _cmd_translate,
        help="train a CycleGAN from a labelled source domain to a target domain; translate the source",
        description="Train a CycleGAN between a labelled SOURCE domain (e.g. rendered digits) and a "
                    "TARGET domain (e.g. handwritten digits; its labels are not used), save it as "
                    "OUTPUT_DIR/translator.keras with translations.png (per class: source | translated "
                    "| translated back) and training_curves.png, and write the source images "
                    "translated into the target domain, labels kept, to OUTPUT_DIR/translated.npz. "
                    "Re-run the same command to resume from the checkpoint folder.",
        examples="""\
translate --source rendered_digits --target digits
translate --source rendered_digits --target my_scans/ --epochs 50 -o runs/r2scans""",
    )
    translate.add_argument("--source", "-s", default="rendered_digits", metavar="SOURCE",
                           help="the labelled domain to translate from (default: rendered_digits); any "
                                "--dataset form of images")
    translate.add_argument("--target", "-t", default=DEFAULT_DATASET, metavar="SOURCE",
                           help=f"the domain to translate into (default: {DEFAULT_DATASET})")
    translate.add_argument("--epochs", type=_positive_int, help="training epochs (default: about 3000 steps)")
    translate.add_argument("--batch-size", type=_positive_int, help="images of each domain per step (default 32)")
    translate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    translate.add_argument("--output-dir", "-o", metavar="DIR",
                           help="where the translator, pictures and translated.npz go (default: "
                                "data/outputs/<source>_to_<target>)")
    translate.add_argument("--quiet", "-q", action="store_true", help="no progress output")

    # ------------------------------------------------------------------ upscale
    upscale = _add_command(
        commands, "upscale", _cmd_upscale,
        help="train an SRGAN (super-resolution by 2 or 4) and upscale a data set with it",
        description="Train an SRGAN on high-resolution images (default: tiles of photographs that "
                    "ship inside scikit-learn and matplotlib; the held-out photograph is kept for "
                    "scoring), or load one with --model; print PSNR / SSIM / FD / C2ST of bicubic, "
                    "the MSE-only SRResNet and the SRGAN on the held-out images (evaluation.json) and "
                    "save OUTPUT_DIR/upscaler.keras with super_resolution.png (LR | bicubic | SRResNet "
                    "| SRGAN | HR) and training_curves.png. With --dataset, also write its images "
                    "SCALE times larger, labels kept, to OUTPUT_DIR/upscaled.npz. Re-run the same "
                    "command to resume from the checkpoint folder.",
        examples="""\
upscale
upscale --hr-source rendered_digits --hr-image-size 32 --dataset digits
upscale --model data/outputs/upscaler_sample_photos/upscaler.keras --dataset my_thumbnails/""",
    )
    upscale.add_argument("--hr-source", default="sample_photos", metavar="SOURCE",
                         help="high-resolution images to train on (default: sample_photos); any --dataset "
                              "form of images, labels not needed")
    upscale.add_argument("--hr-image-size", type=_image_size, metavar="N",
                         help="resize the high-resolution images to N x N first (e.g. 32 for rendered_digits)")
    upscale.add_argument("--scale", type=int, choices=(2, 4), default=4, help="upscaling factor (default 4)")
    upscale.add_argument("--steps", type=_positive_int, help="training steps (default 2000; half MSE-only)")
    upscale.add_argument("--model", "-m", metavar="PATH.keras",
                         help="use this saved upscaler instead of training one")
    upscale.add_argument("--dataset", "-d", metavar="SOURCE",
                         help="low-resolution images to upscale into upscaled.npz (any --dataset form)")
    upscale.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    upscale.add_argument("--output-dir", "-o", metavar="DIR",
                         help="where the upscaler, pictures, evaluation.json and upscaled.npz go "
                              "(default: data/outputs/upscaler_<hr-source>)")
    upscale.add_argument("--quiet", "-q", action="store_true", help="no progress output")

    # ------------------------------------------------------------------ sources
    _add_command(
        commands, "sources", _cmd_sources,
        help="list the built-in data sets and the accepted --dataset forms",
        description="List the built-in data sets and every form that --dataset accepts.",
        examples="sources",
    )

    # ------------------------------------------------------------------ plugins (e.g. run)
    for name, entry in plugin_commands().items():
        plugin = commands.add_parser(name, add_help=False, help=_plugin(entry).help)
        plugin.set_defaults(handler=_plugin_handler(name, entry), pipeline_args=[])
    return parser


@dataclasses.dataclass(frozen=True)
class PluginCommand:
    """A subcommand another installed package adds to the CLI: registered as an entry point of
    the ``COMMAND_GROUP`` group whose object is a `PluginCommand` (``pipelines.command:COMMAND``
    adds ``run``). Everything after the command's name goes to ``main(argv, prog)``, which
    returns the exit status (its own --help and usage errors may raise SystemExit)."""

    help: str
    main: Callable[[list[str], str], int]


#: The entry-point group of plugin commands (see `PluginCommand`).
COMMAND_GROUP = "gan_augment.commands"


def plugin_commands() -> dict[str, importlib.metadata.EntryPoint]:
    """The plugin commands installed here, by name (built-in command names win)."""
    return {entry.name: entry for entry in importlib.metadata.entry_points(group=COMMAND_GROUP)
            if entry.name not in BUILTIN_COMMANDS}


def _plugin(entry: importlib.metadata.EntryPoint) -> PluginCommand:
    command = entry.load()
    if not isinstance(command, PluginCommand):
        raise TypeError(f"Entry point {entry.value!r} of {COMMAND_GROUP!r} is not a PluginCommand.")
    return command


def _plugin_handler(name: str, entry: importlib.metadata.EntryPoint) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        _quiet_tensorflow()
        try:
            return _plugin(entry).main(list(args.pipeline_args), f"{PROG} {name}")
        except SystemExit as exc:  # its --help and usage errors
            return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_ERROR)
    return handler


# ---------------------------------------------------------------------- entry point
def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    argv = list(argv) if argv is not None else sys.argv[1:]
    if argv[:1] == ["--verbose"]:
        from gan_augment._quiet import show_everything

        show_everything()
        argv = argv[1:]
    try:
        plugins = plugin_commands()
        if argv[:1] and argv[0] in plugins:  # everything after the name belongs to the plugin's parser
            args = argparse.Namespace(handler=_plugin_handler(argv[0], plugins[argv[0]]), pipeline_args=argv[1:])
        else:
            args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_ERROR)
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    _RUN.created.clear()
    _RUN.locks.clear()
    code = EXIT_ERROR
    try:
        code = int(args.handler(args) or EXIT_OK)
        return code
    except USER_ERRORS as exc:
        _user_error(exc)
        return EXIT_ERROR
    except OSError as exc:  # a full disk, a read-only file system: one line naming the path
        from gan_augment._io import storage_error

        # an OSError without a file name (raised inside another library's writer) names the
        # output folder of the run instead
        path = exc.filename if exc.filename is not None else _RUN.output_folder()
        error = storage_error(exc, path) if path is not None else exc
        if not isinstance(error, GanAugmentError):
            raise
        _user_error(error, cause=exc)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted. Run the same command again to resume from the last "
              "checkpoint.", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        _RUN.finish(failed=code != EXIT_OK)


def _user_error(exc: BaseException, cause: BaseException | None = None) -> None:
    from gan_augment._quiet import debugging

    if debugging():
        if cause is not None:
            raise exc from cause
        raise exc
    print(f"{PROG}: error: {_message(exc)}", file=sys.stderr)


#: The lock file a `train`, `augment`, `generate`, `translate`, `upscale` or `run` holds in its
#: output folder while it runs (its PID).
LOCK_NAME = ".gan-augment.lock"


class _RunState:
    """What one `main` call created (output folders, removed again when the run fails before
    writing anything into them) and the lock files it holds (removed when it ends)."""

    def __init__(self) -> None:
        self.created: list[Path] = []
        self.locks: list[Path] = []

    def output_folder(self) -> Path | None:
        """The output folder of the run (the first one it locked), if any."""
        return self.locks[0].parent if self.locks else None

    def release(self, lock: Path) -> None:
        if _lock_holder(lock) == os.getpid():
            lock.unlink(missing_ok=True)
        if lock in self.locks:
            self.locks.remove(lock)

    def finish(self, *, failed: bool) -> None:
        for lock in list(self.locks):
            self.release(lock)
        self.locks.clear()
        if failed:
            for folder in reversed(self.created):
                _remove_if_empty(folder)
        self.created.clear()


_RUN = _RunState()


def _remove_if_empty(folder: Path) -> None:
    """Delete ``folder`` when it holds nothing but (empty) folders."""
    try:
        if not folder.is_dir() or any(not p.is_dir() or p.is_symlink() for p in folder.rglob("*")):
            return
        shutil.rmtree(folder)
    except OSError:
        pass


def _lock_holder(path: Path) -> int | None:
    """The PID in the lock file ``path`` (None: no file, or no PID in it)."""
    try:
        return int(path.read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _lock(folder: Path) -> Path:
    """Take the lock file of the output folder ``folder`` for this run; `DataError` naming the
    PID of a live run that holds it. A lock left by a run that is gone (a dead PID, or this
    process's own PID left by an earlier container run) is taken over."""
    path = folder / LOCK_NAME
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            pid = _lock_holder(path)
            if pid is not None and pid != os.getpid() and _alive(pid):
                raise DataError(
                    f"Expected the output folder '{folder}' to be free. Received: another gan-augment run "
                    f"(PID {pid}) is writing into it (lock file '{path}'). Wait for it to finish, or pass "
                    f"another output folder; if PID {pid} is no gan-augment run, delete the lock file."
                ) from None
            if pid is None:  # being written this instant, or damaged: an old one is stale
                try:
                    if time.time() - path.stat().st_mtime < 2:
                        time.sleep(0.2)
                        continue
                except OSError:
                    continue
            path.unlink(missing_ok=True)  # stale: its run is gone
            continue
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(f"{os.getpid()}\n")
        _RUN.locks.append(path)
        return path
    raise DataError(f"Expected to take the lock file '{path}' of the output folder. Received: it keeps "
                    "changing; another run is starting there. Pass another output folder.")


@contextlib.contextmanager
def output_lock(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the lock file (`LOCK_NAME`) of the output folder ``folder`` (created if needed) for the
    block, as the CLI's own commands do; for plugin commands (`PluginCommand`) such as ``run``,
    which writes ``<storage root>/<data set>``. A live run holding it raises `DataError` (one line:
    the folder, its PID and the fix); a stale lock (its PID is gone) is taken over.

    Example:
        >>> with output_lock("data/outputs/digits"):  # doctest: +SKIP
        ...     run_the_pipeline()
    """
    folder = Path(folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    path = _lock(folder)
    try:
        yield path
    finally:
        _RUN.release(path)


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.strerror}: {exc.filename}"
    text = str(exc).strip()
    return text or type(exc).__name__


# ---------------------------------------------------------------------- shared helpers
def _quiet_tensorflow() -> None:
    from gan_augment._quiet import filter_native_stderr, quiet_tensorflow

    quiet_tensorflow()
    filter_native_stderr()


def dataset_name(source: str) -> str:
    """A folder-friendly name for a source: ``digits``, ``tfds:mnist`` -> ``mnist``,
    ``data/faces.npz`` -> ``faces``, ``tfds_dir:out/tfds/digits_aug/1.0.0`` -> ``digits_aug``.

    Example:
        >>> dataset_name("tfds:mnist"), dataset_name("data/faces.npz"), dataset_name("imgs/")
        ('mnist', 'faces', 'imgs')
    """
    text = str(source)
    for prefix in ("tfds:", "tfds_dir:"):
        text = text.removeprefix(prefix)
    path = Path(text.rstrip("/\\") or ".")
    if path.suffix.lower() in (".npz", ".csv", ".parquet", ".pq"):
        name = path.stem
    else:
        name = path.name
        if re.fullmatch(r"\d+(\.\d+)*", name) and path.parent.name:  # a TFDS version folder
            name = path.parent.name
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._-")
    return name or "dataset"


def _data_options(args: argparse.Namespace) -> dict[str, Any]:
    options = {
        "data_dir": args.data_dir,
        "split": args.split,
        "target": args.target,
        "image_size": args.image_size,
    }
    return {k: v for k, v in options.items() if v is not None}


def _training_options(args: argparse.Namespace) -> dict[str, Any]:
    """Only the options the user gave: the library fills the rest from the data."""
    options: dict[str, Any] = {}
    if args.epochs is not None:
        options["epochs"] = args.epochs
    if args.batch_size is not None:
        options["batch_size"] = args.batch_size
    if args.loss is not None:
        options["loss"] = args.loss
    if args.spectral_norm:
        options["spectral_norm"] = True
    if getattr(args, "early_stop", None) is not None:
        options["early_stop"] = args.early_stop
    if getattr(args, "time_budget", None) is not None:
        options["time_budget"] = args.time_budget
    if args.diffaugment is not None:
        policy = args.diffaugment.strip()
        options["diffaugment"] = None if policy.lower() in ("", "none", "off") else policy
    return options


def _output_dirs(args: argparse.Namespace) -> tuple[Path, Path]:
    out = Path(args.output_dir) if args.output_dir else DEFAULT_OUTPUT_ROOT / dataset_name(args.dataset)
    checkpoints = Path(args.checkpoint_dir) if args.checkpoint_dir else out / "checkpoints"
    return _output_folder(out), checkpoints.expanduser()


def _output_folder(out: Path, *, option: str = "--output-dir") -> Path:
    """``out`` (``~`` expanded) created if needed (a folder this run creates is removed again
    when the run fails before writing into it); an error when it is a file."""
    out = out.expanduser()
    if out.exists() and not out.is_dir():
        raise DataError(f"Expected {option} to be a folder. Received: '{out}', which is a file.")
    if not out.exists():
        first = out
        while not first.parent.exists() and first.parent != first:
            first = first.parent
        out.mkdir(parents=True, exist_ok=True)
        _RUN.created.append(first)
    return out


def _check_epochs(args: argparse.Namespace, checkpoints: Path) -> None:
    """``--epochs 0`` trains nothing: refused without a checkpoint (the model would be untrained),
    said out loud with one (the model is the checkpoint's)."""
    if args.epochs != 0:
        return
    from gan_augment.checkpoint import checkpoint_epoch

    epoch = checkpoint_epoch(checkpoints)
    if epoch == 0:
        raise DataError(f"Expected --epochs >= 1. Received: --epochs 0 and no checkpoint in '{checkpoints}', "
                        "so the model would be saved untrained. Pass --epochs N, or leave it out for the default.")
    print(f"{PROG}: note: --epochs 0 trains nothing; the model is the checkpoint's (epoch {epoch}) from "
          f"'{checkpoints}'.", file=sys.stderr)


def _load(args: argparse.Namespace, say: Any) -> Any:
    from gan_augment.data.sources import load_dataset

    dataset = load_dataset(args.dataset, **_data_options(args))
    say(f"Loaded {dataset!r}.")
    return dataset


def _training_pictures(out: Path) -> dict[str, Path]:
    found = {
        "samples": out / "samples.png",
        "training curves": out / "training_curves.png",
        "progress grids": out / "progress",
    }
    return {k: p for k, p in found.items() if p.exists()}


def _print_paths(paths: dict[str, Path]) -> None:
    print("Outputs:")
    width = max(len(k) for k in paths)
    for what, path in paths.items():
        print(f"  {what + ':':<{width + 1}} {path}")


def _say(quiet: bool) -> Any:
    return (lambda *a, **k: None) if quiet else print


# ---------------------------------------------------------------------- train
def _cmd_train(args: argparse.Namespace) -> int:
    _quiet_tensorflow()
    say = _say(args.quiet)
    from gan_augment.training import is_chief_worker, train_gan

    dataset = _load(args, say)
    out, checkpoints = _output_dirs(args)
    if not args.strategy or is_chief_worker():  # multi-worker: the workers share the folder, the chief writes
        _lock(out)
    _check_epochs(args, checkpoints)
    options = _training_options(args)

    if args.strategy:
        options["strategy"] = args.strategy
    start = time.perf_counter()
    gan = train_gan(dataset, seed=args.seed, checkpoint_dir=checkpoints, output_dir=out,
                    verbose=0 if args.quiet else 1, **options)
    if args.strategy and not is_chief_worker():  # the chief saves the model; this worker's part is done
        say(f"Done in {time.perf_counter() - start:.1f} s: {gan!r}; {gan.stop_reason}. Worker 0 saves the model.")
        return EXIT_OK
    model_path = gan.save(out / "model.keras")
    say(f"Done in {time.perf_counter() - start:.1f} s: {gan!r}; {gan.stop_reason}.")
    _print_paths({"model": model_path, "checkpoints": checkpoints, **_training_pictures(out)})
    return EXIT_OK


# ---------------------------------------------------------------------- translate
def _cmd_translate(args: argparse.Namespace) -> int:
    _quiet_tensorflow()
    say = _say(args.quiet)
    from gan_augment.data.sources import load_dataset
    from gan_augment.translation import train_cyclegan

    source, target = load_dataset(args.source), load_dataset(args.target)
    say(f"Loaded source {source!r} and target {target!r}.")
    out = _output_folder(Path(args.output_dir) if args.output_dir else
                         DEFAULT_OUTPUT_ROOT / f"{dataset_name(args.source)}_to_{dataset_name(args.target)}")
    _lock(out)
    start = time.perf_counter()
    translator = train_cyclegan(source, target, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                                checkpoint_dir=out / "checkpoints", output_dir=out, verbose=0 if args.quiet else 1)
    import numpy as np

    from gan_augment.export import export_npz

    translated = translator.translate(source)
    paths = {"translator": translator.save(out / "translator.keras"),
             "translated source": export_npz(translated, out / "translated.npz",
                                             synthetic=np.ones(len(translated), bool)),
             "checkpoints": out / "checkpoints",
             **{name: out / f for name, f in (("translations", "translations.png"),
                                              ("curves", "training_curves.png")) if (out / f).is_file()}}
    say(f"Done in {time.perf_counter() - start:.1f} s: {translator!r}.")
    _print_paths(paths)
    return EXIT_OK


# ---------------------------------------------------------------------- upscale
def _cmd_upscale(args: argparse.Namespace) -> int:
    _quiet_tensorflow()
    say = _say(args.quiet)
    import json

    from gan_augment._io import atomic_path
    from gan_augment.data.sources import load_dataset
    from gan_augment.export import export_npz
    from gan_augment.super_resolution import DEFAULT_HR_SOURCE, load_upscaler, train_srgan

    out = _output_folder(Path(args.output_dir) if args.output_dir else
                         DEFAULT_OUTPUT_ROOT / f"upscaler_{dataset_name(args.hr_source)}")
    _lock(out)
    start = time.perf_counter()
    paths: dict[str, Path] = {}
    if args.model:
        path = Path(args.model).expanduser()
        upscaler = load_upscaler(path / "upscaler.keras" if path.is_dir() else path)
        say(f"Loaded {upscaler!r}.")
    else:
        hr: Any = args.hr_source
        if args.hr_source != DEFAULT_HR_SOURCE or args.hr_image_size:
            options = {"image_size": args.hr_image_size} if args.hr_image_size else {}
            hr = load_dataset(args.hr_source, **options)
            say(f"Loaded high-resolution images {hr!r}.")
        options = {"steps": args.steps} if args.steps else {}
        upscaler = train_srgan(hr, args.scale, seed=args.seed, checkpoint_dir=out / "checkpoints",
                               output_dir=out, verbose=0 if args.quiet else 1, **options)
        paths["upscaler"] = upscaler.save(out / "upscaler.keras")
        paths["checkpoints"] = out / "checkpoints"
        report = upscaler.evaluate(seed=args.seed) if upscaler.holdout is not None else None
        if report is not None:
            say(report.table())
            with atomic_path(out / "evaluation.json") as tmp:
                tmp.write_text(json.dumps(report.to_dict(), indent=2))
            paths["evaluation"] = out / "evaluation.json"
        for name, f in (("pictures", "super_resolution.png"), ("curves", "training_curves.png")):
            if (out / f).is_file():
                paths[name] = out / f
    if args.dataset:
        low = load_dataset(args.dataset)
        upscaled = upscaler.upscale(low)
        say(f"Upscaled {len(low)} images {low.shape} -> {upscaled.shape}.")
        paths["upscaled"] = export_npz(upscaled, out / "upscaled.npz")
    say(f"Done in {time.perf_counter() - start:.1f} s: {upscaler!r}.")
    _print_paths(paths)
    return EXIT_OK


# ---------------------------------------------------------------------- generate
def parse_labels(text: str, class_names: Sequence[str]) -> list[int]:
    """``"0,3,5"`` or ``"cat,dog"`` -> label indices. A token that is a class name means that
    class; otherwise it must be an integer label 0..k-1.

    Example:
        >>> parse_labels("cat, 2", ["dog", "cat", "bird"])
        [1, 2]
    """
    names = [str(c) for c in class_names]
    k = len(names)
    if k == 0:
        raise DataError("This GAN is unconditional (trained without labels). Received: --labels "
                        f"{text!r}; omit --labels.")
    tokens = [t.strip() for t in text.split(",") if t.strip()]
    if not tokens:
        raise DataError(f"Expected --labels as comma-separated labels or class names, e.g. 0,3,5. "
                        f"Received: {text!r}.")
    labels = []
    for token in tokens:
        if token in names:
            labels.append(names.index(token))
            continue
        try:
            value = int(token)
        except ValueError:
            value = -1
        if not 0 <= value < k:
            shown = ", ".join(names[:20]) + (", …" if k > 20 else "")
            raise DataError(f"Expected --labels from the class names ({shown}) or labels 0..{k - 1}. "
                            f"Received: {token!r}.")
        labels.append(value)
    return labels


def split_evenly(n: int, parts: int) -> list[int]:
    """``n`` split into ``parts`` counts that differ by at most one (the first ones get more).

    Example:
        >>> split_evenly(10, 3)
        [4, 3, 3]
    """
    base, extra = divmod(n, parts)
    return [base + (i < extra) for i in range(parts)]


#: The file names a saved GAN has in an output folder: `train` / `augment` write the first, the
#: pipeline (`run`) the second (its asset's name).
MODEL_FILE_NAMES = ("model.keras", "gan_model.keras", "translator.keras")


def saved_model_path(path: Path) -> Path:
    """The saved GAN ``--model`` names: a ``.keras`` file, or a folder holding one of
    ``MODEL_FILE_NAMES`` (a ``model.keras`` that does not exist next to a ``gan_model.keras``
    that does is taken to mean the latter, and the other way round)."""
    if path.is_file():
        return path
    folder = path if path.is_dir() else path.parent
    if path.is_dir() or path.name in MODEL_FILE_NAMES:
        found = [folder / name for name in MODEL_FILE_NAMES if (folder / name).is_file()]
        if found:
            return found[0]
    others = sorted(p.name for p in folder.glob("*.keras")) if folder.is_dir() else []
    lacks = f"the folder '{path}', which holds none of them" if path.is_dir() else f"'{path}', which does not exist"
    raise DataError(
        f"Expected --model to be a saved GAN (a .keras file, or a folder holding "
        f"{' or '.join(MODEL_FILE_NAMES)}). Received: {lacks}"
        + (f"; {folder} holds {', '.join(others)}: pass one of them." if others else
           ". Pass the output folder of `gan-augment train`, or train one there with `gan-augment train` "
           "or `gan-augment run`."))


def _cmd_generate(args: argparse.Namespace) -> int:
    _quiet_tensorflow()
    import numpy as np

    model_path = saved_model_path(Path(args.model).expanduser())

    from gan_augment.training import load_trained

    gan = load_trained(model_path)  # a GAN, or a translator (translated source images)
    out = _sample_path(Path(args.out).expanduser() if args.out else model_path.parent / "samples", gan.kind)
    chosen = None
    if args.labels is not None:
        chosen = parse_labels(args.labels, gan.class_names if gan.conditional else ())
    n = args.n if args.n is not None or chosen is None else 100 * len(chosen)
    _output_folder(out.parent, option="the folder of --out")
    _lock(out.parent)
    if n is not None and not _fits_in_memory(gan, n):
        return _generate_streamed(gan, out, n, chosen, args.seed)
    if chosen is not None:
        labels = np.repeat(np.asarray(chosen, np.int64), split_evenly(n, len(chosen)))
        samples = gan.sample(labels=labels, seed=args.seed)
    else:
        samples = gan.sample(args.n, seed=args.seed)

    kind = kind_of(samples)
    paths = {"samples": kind.export_samples(samples, out, synthetic=np.ones(len(samples), bool))}
    grid = kind.sample_grid(samples, paths["samples"].with_name(paths["samples"].stem + "_grid.png"),
                            title=f"generated by {model_path.name}")
    if grid is not None:
        paths["grid"] = grid
    if samples.y is not None:
        counts = samples.class_counts()
        per_class = ", ".join(f"{samples.class_names[c]}: {int(counts[c])}"
                              for c in np.flatnonzero(counts))
        print(f"Generated {len(samples)} samples ({per_class}).")
    else:
        print(f"Generated {len(samples)} samples.")
    _print_paths(paths)
    return EXIT_OK


def _fits_in_memory(gan: Any, n: int) -> bool:
    from gan_augment.data.images import npz_memory_budget, sample_bytes

    return n * sample_bytes(gan.sample_shape) <= npz_memory_budget()


def _generate_streamed(gan: Any, out: Path, n: int, chosen: list[int] | None,
                       seed: int | None) -> int:
    """``n`` samples too many for memory: written shard by shard (`gan_augment.streaming.sample_to`)
    into the folder named like ``out`` without its suffix, when the disk has room; else one line
    with the size and the fix."""
    import numpy as np

    from gan_augment._io import format_size
    from gan_augment.data.images import NPZ_BUDGET_ENV, npz_memory_budget, sample_bytes

    size, budget = n * sample_bytes(gan.sample_shape), npz_memory_budget()
    folder = out.with_suffix("")
    free = shutil.disk_usage(out.parent).free
    received = (f"--n {n}: {n} samples of shape {tuple(gan.sample_shape)} take about {format_size(size)}, more "
                f"than the memory budget of {format_size(budget)} ({NPZ_BUDGET_ENV}, else half the memory available)")
    if not hasattr(gan, "sample_to"):
        raise DataError(f"Expected a request that fits in memory. Received: {received}. Ask for fewer (--n).")
    labels: Any = None
    if chosen is not None:
        labels = chosen[0] if len(chosen) == 1 else None
        if len(chosen) > 1:
            if 8 * n > budget:
                raise DataError(f"Expected a request that fits in memory. Received: {received}, and the labels "
                                "alone do not fit. Ask for fewer (--n).")
            labels = np.repeat(np.asarray(chosen, np.int64), split_evenly(n, len(chosen)))
    if size > free:
        raise DataError(f"Expected a request that fits in memory or on disk. Received: {received}, and "
                        f"'{out.parent}' has only {format_size(free)} free. Ask for fewer (--n), or pass --out on a "
                        "larger disk.")
    print(f"{PROG}: note: {received}; writing them to the folder '{folder}' shard by shard instead of "
          f"'{out.name}'.", file=sys.stderr)
    fmt = "npz" if out.suffix == ".npz" else None
    path = gan.sample_to(folder, n, labels=labels, seed=seed, format=fmt, verbose=1)
    print(f"Generated {n} samples into {path} (streamed, in shards).")
    _print_paths({"samples": path})
    return EXIT_OK


def _sample_path(path: Path, kind: str) -> Path:
    """``path`` with the default suffix of ``kind`` added when it has none; a suffix of another
    file type is refused, and so is a folder (given, or what the suffix makes of the name)."""
    allowed = kind_of(kind).sample_suffixes
    resolved = path
    if not path.suffix:
        resolved = path.with_name(path.name + allowed[0])
    elif path.suffix.lower() not in allowed:
        raise DataError(f"Expected --out to end in {' or '.join(allowed)} for {kind} samples. "
                        f"Received: '{path}'.")
    else:
        resolved = path.with_suffix(path.suffix.lower())
    for folder in (path, resolved):
        if folder.is_dir():
            raise DataError(f"Expected --out to name a file ({' or '.join(allowed)}) for {kind} samples. "
                            f"Received: '{folder}', which is a folder. Name a file inside it, e.g. "
                            f"'{folder / ('samples' + allowed[0])}'.")
    return resolved


# ---------------------------------------------------------------------- augment
def _tfds_name(name: str) -> str:
    """A TFDS-legal (snake_case) name for the augmented export of ``name``."""
    clean = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not clean or not clean[0].isalpha():
        clean = f"dataset_{clean}".rstrip("_")
    return f"{clean}_augmented"


def _cmd_augment(args: argparse.Namespace) -> int:
    _quiet_tensorflow()
    say = _say(args.quiet)
    dataset = _load(args, say)
    if not dataset.labeled:
        raise DataError(f"Expected a labelled data set to fill classes up. Received: "
                        f"{args.dataset!r} has no labels. Use `{PROG} train` and `{PROG} generate`.")
    out, checkpoints = _output_dirs(args)
    _lock(out)
    _check_epochs(args, checkpoints)
    options = _training_options(args)
    balance = not args.no_balance

    from gan_augment.generation import augment

    validation = _validation_options(args)
    if args.stream or _too_large(dataset, args, balance, validation):
        return _augment_streamed(args, dataset, out, checkpoints, balance, validation, options, say)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            # with --on-fail warn the CLI reports the failed gates itself (below)
            warnings.filterwarnings("ignore", message="The synthetic samples failed validation")
            result = augment(dataset, per_class=args.per_class, balance=balance, seed=args.seed,
                             verbose=0 if args.quiet else 1, output_dir=out,
                             checkpoint_dir=checkpoints, **validation, **options)
    except GanAugmentError as exc:
        report = getattr(exc, "report", None)
        if report is None or not hasattr(report, "save"):  # no report, or the utility gate's
            raise
        saved = report.save(out / "validation")
        raise GanAugmentError(
            f"{exc}\nValidation report: {saved.get('html', out / 'validation')}. To keep the "
            "curated samples anyway, run the same command with --on-fail warn (training resumes "
            f"from the checkpoint in {checkpoints}, so it is not repeated)."
        ) from exc
    seconds = time.perf_counter() - start
    say("Writing the outputs…")
    data_paths = kind_of(dataset).export_augmented(result, out, _tfds_name(dataset_name(args.dataset)))
    paths: dict[str, Path] = {
        **data_paths,
        "model": result.gan.save(out / "model.keras"),
        "checkpoints": checkpoints,
        **_training_pictures(out),
    }
    report = getattr(result, "report", None)
    if report is not None:
        saved = report.save(out / "validation")
        paths["validation report"] = saved.get("html", out / "validation")
        if not report.passed and args.on_fail != "ignore":
            details = f"\n{report.summary()}" if args.quiet else ""  # else printed above
            print(f"{PROG}: warning: the synthetic samples failed validation; kept the "
                  f"{result.n_synthetic} that curation accepted (--on-fail {args.on_fail})."
                  f"{details}\nValidation report: {paths['validation report']}", file=sys.stderr)
    summary_path = out / "summary.json"
    paths["summary"] = summary_path
    summary = _summary(args, dataset, result, options, paths, seconds)
    _write_json(summary_path, summary)
    _print_counts(summary)
    _print_paths(paths)
    return EXIT_OK


def _too_large(dataset: Any, args: argparse.Namespace, balance: bool, validation: dict[str, Any]) -> bool:
    """Whether `augment`'s in-memory path would not fit (then the CLI streams, as `generate` does)."""
    from gan_augment.generation import OVERSAMPLE, check_memory, planned

    plan = planned(dataset, args.per_class, balance, None, validation["utility"])
    try:
        check_memory(dataset, plan, OVERSAMPLE if validation["validate"] else 1.0)
    except DataError:
        return True
    return False


def _augment_streamed(args: argparse.Namespace, dataset: Any, out: Path, checkpoints: Path, balance: bool,
                      validation: dict[str, Any], options: dict[str, Any], say: Any) -> int:
    """`augment_to` into ``out``: the decisions on a subsample, the whole set streamed to ``out/data``."""
    from gan_augment.streamed_augmentation import VALIDATION_SAMPLE, augment_to

    sample = args.validation_sample or VALIDATION_SAMPLE
    say(f"Streaming: validating {sample} samples in memory, writing the whole augmented set to {out / 'data'} "
        "shard by shard.")
    if validation.get("on_no_gain") in (None, "classical", "warn"):
        validation["on_no_gain"] = "raise"  # a streamed set has no in-memory alternative to publish
    start = time.perf_counter()
    result = augment_to(dataset, out, per_class=args.per_class, balance=balance, seed=args.seed,
                        validation_sample=sample, verbose=0 if args.quiet else 1, output_dir=out,
                        checkpoint_dir=checkpoints, **validation, **options)
    say(f"Done in {time.perf_counter() - start:.1f} s: {result.real} real + {result.n_synthetic} synthetic samples "
        f"(validated on {sum(result.validated_on)}).")
    _print_paths({"augmented data": result.data, "model": out / "model.keras", "checkpoints": checkpoints,
                  **({"validation report": out / "validation" / "report.html"}
                     if (out / "validation" / "report.html").exists() else {}),
                  "summary": out / "augmentation.json"})
    return EXIT_OK


def _validation_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {"validate": not args.no_validate, "utility": not args.no_utility}
    if args.on_no_gain is not None:
        options["on_no_gain"] = args.on_no_gain
    if args.on_fail is not None:
        options["on_fail"] = args.on_fail
    return options


def _summary(args: argparse.Namespace, dataset: Any, result: Any, options: dict[str, Any],
             paths: dict[str, Path], seconds: float) -> dict[str, Any]:
    from gan_augment import __version__

    counts = result.class_counts()
    classes = {
        name: {"real": int(r), "classical": int(c), "synthetic": int(s), "total": int(r) + int(c) + int(s)}
        for name, r, c, s in zip(dataset.class_names, counts["real"], counts["classical"], counts["synthetic"])
    }
    real, synthetic = int(counts["real"].sum()), int(counts["synthetic"].sum())
    classical = int(counts["classical"].sum())
    utility = getattr(result, "utility", None)
    return {
        "dataset": str(args.dataset),
        "kind": dataset.kind,
        "sample_shape": list(dataset.shape),
        "classes": classes,
        "totals": {"real": real, "classical": classical, "synthetic": synthetic,
                   "total": real + classical + synthetic},
        "synthetic_weight": float(getattr(result, "synthetic_weight", 1.0)),
        "utility": None if utility is None else utility.to_dict(),
        "options": {
            "per_class": args.per_class,
            "balance": not args.no_balance,
            "validate": not args.no_validate,
            "utility": not args.no_utility,
            "on_no_gain": args.on_no_gain or "classical",
            "on_fail": args.on_fail or "raise",
            "seed": args.seed,
            "data": _data_options(args),
            "training_given": options,
            "training": result.gan.options,  # every option, defaults filled in
        },
        "training_stop_reason": result.gan.stop_reason if result.gan is not None else None,
        "validation": _validation_summary(result),
        "paths": {k: str(v) for k, v in paths.items()},
        "seconds": round(seconds, 1),
        "gan_augment_version": __version__,
    }


def _validation_summary(result: Any) -> dict[str, Any] | None:
    report = getattr(result, "report", None)
    if report is None:
        return None
    return {
        "passed": bool(report.passed),
        "failed_gates": [c.name for c in report.failed()],
        "undecided_gates": {c.name: c.undecided for c in report.undecided()},
        "rejected_by_curation": int(getattr(result, "dropped", 0)),
        "summary": report.summary(),
    }


def _write_json(path: Path, data: dict[str, Any]) -> None:
    from gan_augment._io import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


def _print_counts(summary: dict[str, Any]) -> None:
    keys = ("real", "classical", "synthetic", "total")
    rows = [(name, *(c[k] for k in keys)) for name, c in summary["classes"].items()]
    rows.append(("all", *(summary["totals"][k] for k in keys)))
    width = max(5, *(len(str(r[0])) for r in rows))
    print(f"{'class':<{width}}  " + "  ".join(f"{k:>9}" for k in keys))
    for name, *values in rows:
        print(f"{name!s:<{width}}  " + "  ".join(f"{v:>9}" for v in values))
    if summary.get("utility"):
        print(f"Utility gate: {summary['utility']['verdict']}")


# ---------------------------------------------------------------------- sources
def _cmd_sources(args: argparse.Namespace) -> int:
    from gan_augment.data import sources

    described = getattr(sources, "_BUILTIN", {})
    print("Built-in data sets (no download needed):")
    for name in sources.list_sources():
        text = described.get(name, "")
        print(f"  {name:<15} {text}".rstrip())
    print()
    print(_SOURCE_FORMS)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
