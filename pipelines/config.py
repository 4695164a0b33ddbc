"""What the pipeline runs on and with: the data set list (the partitions) and the run configuration.

* ``data/datasets.yaml`` lists the data sets, one line each (``digits: {source: digits}``); every
  name becomes a partition of every asset (`DATASETS`).
* One `dagster.Config` class per step holds the knobs a person changes between runs. Fields left
  at ``None`` take the library's own default, so defaults live in one place (the library).
* `build_run_config` turns ``{"gan_model": {"epochs": 60}, ...}`` into Dagster run config.

Importing this module imports neither TensorFlow nor Great Expectations.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import pydantic
import yaml

from gan_augment.downstream import evaluate_downstream
from gan_augment.generation import OVERSAMPLE, augment
from gan_augment.streamed_augmentation import VALIDATION_SAMPLE
from gan_augment.super_resolution import UpscalerOptions, train_srgan
from gan_augment.utility import measure_utility
from pipelines import PROJECT_DIR_ENV

#: Where the data set list lies inside a project directory.
DATASETS_RELATIVE = Path("data") / "datasets.yaml"


def find_project_dir(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Path:
    """The project directory: relative paths of the pipeline (data/datasets.yaml, the storage
    root, the incoming folder, file sources) are relative to it, whatever the current directory.

    In order: ``$GAN_AUGMENT_PROJECT_DIR`` (``gan-augment run --project-dir`` sets it); the
    working directory or the nearest parent holding ``data/datasets.yaml``; the source checkout
    this package was imported from (an editable install). An installed copy of the package (a
    wheel, a Docker image) has no checkout around it, so it needs one of the first two.

    Raises:
        FileNotFoundError: naming every place it looked and how to point it at a project.
    """
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    named = env.get(PROJECT_DIR_ENV)
    if named:
        folder = Path(named).expanduser().resolve()
        if not (folder / DATASETS_RELATIVE).is_file():
            raise FileNotFoundError(
                f"Expected {DATASETS_RELATIVE} in the project directory ${PROJECT_DIR_ENV}='{named}'. "
                f"Received: no such file at '{folder / DATASETS_RELATIVE}'. Point it at the folder that "
                f"holds data/datasets.yaml.")
        return folder
    looked = []
    for folder in [cwd.resolve(), *cwd.resolve().parents, Path(__file__).resolve().parents[1]]:
        if (folder / DATASETS_RELATIVE).is_file():
            return folder
        looked.append(str(folder))
    raise FileNotFoundError(
        f"Expected a project directory holding {DATASETS_RELATIVE}. Looked in the working directory, "
        f"its parents and the package's checkout ({', '.join(looked[:3])}{', …' if len(looked) > 3 else ''}). "
        f"Run from the project folder, set {PROJECT_DIR_ENV}=/path/to/project, or pass "
        f"`gan-augment run --project-dir /path/to/project`.")


#: The project directory (`find_project_dir`), resolved when the pipeline is imported.
REPO_ROOT = find_project_dir()
DATASETS_FILE = REPO_ROOT / DATASETS_RELATIVE


def library_default(function: Any, parameter: str) -> Any:
    """The default of ``parameter`` in a library function's signature: the pipeline's defaults
    are the library's, read from it rather than written twice (a test compares every pair).

    Example:
        >>> from gan_augment.generation import augment
        >>> library_default(augment, "on_no_gain")
        'classical'
    """
    default = inspect.signature(function).parameters[parameter].default
    if default is inspect.Parameter.empty:
        raise TypeError(f"{function.__qualname__}({parameter}) has no default.")
    return default


_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_SPEC_KEYS = {"source", "options", "gan", "description", "train_per_class", "translate_from", "upscale"}
#: The factors an ``upscale`` entry may name (`gan_augment.models.sr_nets.SCALES`; not imported
#: here, it imports Keras — a test compares the two).
UPSCALE_FACTORS = (2, 4)
_UPSCALE_KEYS = {"scale", "options"}
#: `train_srgan` options an ``upscale`` entry may set (`gan_augment.super_resolution.UpscalerOptions`).
UPSCALER_OPTIONS = tuple(f.name for f in dataclasses.fields(UpscalerOptions))


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """One entry of ``data/datasets.yaml``: a partition name and how to load it."""

    name: str
    source: str
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    description: str = ""
    gan: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    """`train_gan` options for this data set (e.g. ``{epochs: 60}`` for a wide table); a field
    set in the run's `GanConfig` wins over them, the library's defaults fill the rest."""
    train_per_class: int | None = None
    """Keep this many training samples per class after the split (a low-data partition such as
    ``digits_low``); the holdout and test splits stay those of the full data set. The run's
    `SourceConfig.max_per_class` wins over it."""

    translate_from: Mapping[str, Any] | None = None
    """``{source: ..., options: {...}}``: fill the classes with images of this labelled domain
    translated into the data set's (`gan_augment.train_cyclegan`) instead of GAN samples; the
    ``gan_model`` asset then holds the translator."""

    upscale: Mapping[str, Any] | None = None
    """``{scale: 2 | 4, options: {...}}``: the GAN trains on the train split reduced ``scale``
    times (`gan_augment.super_resolution.reduce_dataset`), the ``upscaler`` asset trains an
    SRGAN (`gan_augment.train_srgan`, ``options``) on the full-resolution train split, and
    ``synthetic_samples`` are generated small and upscaled to the real data's size."""

    def resolved_source(self) -> str:
        """The source for `gan_augment.load_dataset`, with relative paths made repo-relative."""
        source = self.source
        prefix = ""
        if source.startswith("tfds_dir:"):
            prefix, source = "tfds_dir:", source[len("tfds_dir:"):]
        elif source.startswith("tfds:") or "/" not in source and not source.startswith((".", "~")):
            return self.source  # a built-in name, a TFDS catalog name, or a bare file name
        path = Path(source).expanduser()
        return prefix + str(path if path.is_absolute() else REPO_ROOT / path)


def _read_yaml(path: Path) -> Any:
    """The YAML document in ``path``; a syntax error is one ValueError naming the file, the line
    and column, and the fix (not a parser traceback located in "<unicode string>")."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ValueError(f"Expected UTF-8 YAML text in '{path}'. Received: a byte that is not UTF-8 at line {line} "
                         f"(byte offset {exc.start}). Save the file as UTF-8 text.") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        lines = text.splitlines()

        def at(mark: Any) -> str:
            shown = lines[mark.line].strip()[:60] if mark.line < len(lines) else ""
            return f"line {mark.line + 1}, column {mark.column + 1} ({shown!r})"

        problem = str(getattr(exc, "problem", None) or str(exc).splitlines()[0])
        mark, context = getattr(exc, "problem_mark", None), getattr(exc, "context", None)
        context_mark = getattr(exc, "context_mark", None)
        where = f" at {at(mark)}" if mark is not None else ""
        if context:
            where += f", {context}" + (f" started at line {context_mark.line + 1}"
                                       if context_mark is not None and mark is not None
                                       and context_mark.line != mark.line else "")
        hint = ("Indent with spaces, not tabs." if "\\t" in problem or "\t" in problem else
                "Fix the YAML there: close every { and [, put a space after each colon, quote values holding ': '.")
        raise ValueError(f"Expected valid YAML in '{path}'. Received: {problem}{where}. {hint}") from exc


def load_dataset_specs(path: str | Path = DATASETS_FILE) -> dict[str, DatasetSpec]:
    """Read the data set list, checking every entry.

    Example:
        >>> load_dataset_specs()["digits"].source
        'digits'
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"Expected the data set list at '{path}'. Received: no such file. Create it with one "
            "line per data set, e.g. `digits: {source: digits}`."
        )
    raw = _read_yaml(path) or {}
    if not isinstance(raw, dict) or not raw:
        raise ValueError(
            f"Expected a mapping of data set names to entries in '{path}', e.g. "
            f"`digits: {{source: digits}}`. Received: {type(raw).__name__} {raw!r}."
        )
    specs: dict[str, DatasetSpec] = {}
    for name, entry in raw.items():
        name = str(name)
        where = f"'{path}', entry {name!r}"
        if not _NAME.match(name):
            raise ValueError(
                f"Expected data set names of lowercase letters, digits and '_' (they name folders "
                f"and TFDS exports) in {where}. Received: {name!r}."
            )
        if isinstance(entry, str):  # `digits: digits` is accepted as a short form
            entry = {"source": entry}
        if not isinstance(entry, dict) or "source" not in entry:
            raise ValueError(f"Expected `{{source: ...}}` in {where}. Received: {entry!r}.")
        unknown = sorted(set(entry) - _SPEC_KEYS)
        if unknown:
            raise ValueError(f"Expected keys among {sorted(_SPEC_KEYS)} in {where}. Received: {unknown}.")
        options = entry.get("options") or {}
        if not isinstance(options, dict):
            raise TypeError(f"Expected `options` as a mapping in {where}. Received: {options!r}.")
        gan = entry.get("gan") or {}
        if not isinstance(gan, dict):
            raise TypeError(f"Expected `gan` as a mapping of train_gan options in {where}, e.g. "
                            f"`gan: {{epochs: 60}}`. Received: {gan!r}.")
        per_class = entry.get("train_per_class")
        if per_class is not None and (isinstance(per_class, bool) or not isinstance(per_class, int)
                                      or per_class < 1):
            raise ValueError(f"Expected `train_per_class` as an integer >= 1 in {where}. "
                             f"Received: {per_class!r}.")
        translate = entry.get("translate_from")
        if isinstance(translate, str):
            translate = {"source": translate}
        if translate is not None and (not isinstance(translate, dict) or "source" not in translate
                                      or not isinstance(translate.get("options", {}), dict)):
            raise ValueError(f"Expected `translate_from` as a source (e.g. rendered_digits) or "
                             f"`{{source: ..., options: {{...}}}}` in {where}. Received: {translate!r}.")
        upscale = _upscale_entry(entry.get("upscale"), where)
        if upscale is not None and translate is not None:
            raise ValueError(f"Expected either `upscale` or `translate_from` in {where}, not both: the "
                             f"translator makes full-size images itself. Remove one of the two keys.")
        specs[name] = DatasetSpec(name, str(entry["source"]), dict(options),
                                  str(entry.get("description", "")), dict(gan), per_class,
                                  None if translate is None else {"source": str(translate["source"]),
                                                                  "options": dict(translate.get("options") or {})},
                                  upscale)
    return specs


def _upscale_entry(value: Any, where: str) -> dict[str, Any] | None:
    """An ``upscale`` value of data/datasets.yaml as ``{"scale": int, "options": {...}}`` (None:
    absent); a scale alone (``upscale: 4``) is the short form. ValueError naming the fix."""
    if value is None:
        return None
    example = "e.g. `upscale: 4` or `upscale: {scale: 4, options: {steps: 2000}}`"
    if not isinstance(value, dict):
        value = {"scale": value}
    unknown = sorted(set(value) - _UPSCALE_KEYS, key=str)
    if unknown:
        raise ValueError(f"Expected `upscale` keys among {sorted(_UPSCALE_KEYS)} in {where}, {example}. "
                         f"Received: {unknown}.")
    scale = value.get("scale", library_default(train_srgan, "scale"))
    if isinstance(scale, bool) or not isinstance(scale, int) or scale not in UPSCALE_FACTORS:
        raise ValueError(f"Expected the `upscale` scale as one of {list(UPSCALE_FACTORS)} in {where}, "
                         f"{example}. Received: {scale!r}.")
    options = value.get("options") or {}
    if not isinstance(options, dict):  # every bad `upscale` is a ValueError, as for translate_from
        raise ValueError(f"Expected `upscale.options` as a mapping of train_srgan options in {where}, "  # noqa: TRY004
                         f"{example}. Received: {options!r}.")
    wrong = sorted(set(options) - set(UPSCALER_OPTIONS), key=str)
    if wrong:
        raise ValueError(f"Expected `upscale.options` among the train_srgan options {list(UPSCALER_OPTIONS)} "
                         f"in {where}. Received: {wrong}.")
    return {"scale": int(scale), "options": dict(options)}


#: The data sets, as read when the definitions were loaded.
DATASET_SPECS: dict[str, DatasetSpec] = load_dataset_specs()

#: One partition per data set in data/datasets.yaml; every asset and check uses it.
DATASETS = dg.StaticPartitionsDefinition(list(DATASET_SPECS))


# ---------------------------------------------------------------------- step configuration
class SourceConfig(dg.Config):
    """How the real data is split (stratified): test and holdout are never trained on."""

    test_fraction: float = 0.2
    """Share of the data kept for the downstream test (real data only)."""
    holdout_fraction: float = 0.2
    """Share of the data kept as the validation reference (real-vs-real baselines)."""
    split_seed: int = 0
    max_per_class: int | None = None
    """Keep at most this many training samples per class (low-data experiments); None: the data
    set's ``train_per_class`` in data/datasets.yaml, else all. Holdout and test are unaffected."""


class GanConfig(dg.Config):
    """GAN training (`gan_augment.train_gan`). None: the library's data-dependent default."""

    epochs: int | None = None
    batch_size: int | None = None
    loss: str | None = None
    """"non_saturating", "hinge" or "wasserstein_gp"; None: the library's choice for the data kind."""
    seed: int = 0
    spectral_norm: bool | None = None
    diffaugment: str | None = None
    """DiffAugment policy, e.g. "translation,color"; "none" switches it off; None: library default."""
    learning_rate: float | None = None
    early_stop: bool | None = None
    """End training when the samples stop getting closer to the real data (``epochs`` is then the
    most it runs); None: the library's default (off)."""
    time_budget: float | None = None
    """Seconds of training after which the run ends (at an epoch's end); None: no limit."""

    def train_options(self, dataset_defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Keyword arguments for `train_gan`: the seed and every field that is set, over the data
        set's own options (``gan:`` in data/datasets.yaml); what neither sets is left out, so the
        library picks it for the data (size and kind)."""
        options: dict[str, Any] = {**(dataset_defaults or {}), "seed": self.seed}
        for name in ("epochs", "batch_size", "loss", "spectral_norm", "learning_rate", "early_stop",
                     "time_budget"):
            if getattr(self, name) is not None:
                options[name] = getattr(self, name)
        if self.diffaugment is not None:
            options["diffaugment"] = None if self.diffaugment.lower() == "none" else self.diffaugment
        return options


def translation_options(options: Mapping[str, Any], log: Any = None) -> dict[str, Any]:
    """The `train_gan` options (`GanConfig.train_options`) that `train_cyclegan` takes too (seed,
    epochs, batch size, learning rate); the others are GAN options and are left out (``log``
    says which)."""
    kept = {"seed", "epochs", "batch_size", "learning_rate"}
    dropped = sorted(set(options) - kept)
    if dropped and log is not None:
        log.info(f"Translation partition: the GAN options {dropped} do not apply to the translator.")
    return {k: v for k, v in options.items() if k in kept}


class UpscalerConfig(dg.Config):
    """SRGAN training (`gan_augment.train_srgan`) for a partition with ``upscale`` in
    data/datasets.yaml; ignored elsewhere. None: the entry's ``upscale.options``, else the
    library's default."""

    steps: int | None = None
    """Generator steps, both phases (None: the entry's, else the library's default)."""
    batch_size: int | None = None
    learning_rate: float | None = None
    """Of the MSE-only pre-training (`train_srgan`'s ``learning_rate``)."""
    seed: int = library_default(train_srgan, "seed")
    evaluation_seed: int = 0
    """Seed of the evaluation on the holdout split (patch positions, the independent feature
    network)."""

    def train_options(self, dataset_defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Keyword arguments for `train_srgan` besides the data and the scale: the seed and every
        field that is set, over the entry's ``upscale.options``."""
        options: dict[str, Any] = {**(dataset_defaults or {}), "seed": self.seed}
        for name in ("steps", "batch_size", "learning_rate"):
            if getattr(self, name) is not None:
                options[name] = getattr(self, name)
        return options


class ThresholdsConfig(dg.Config):
    """Validation gate thresholds (`gan_augment.Thresholds`); None: the library's default."""

    frechet_ratio: float | None = None
    c2st_auc: float | None = None
    coverage_ratio: float | None = None
    near_copy_share: float | None = None
    label_fidelity_ratio: float | None = None
    label_preservation: float | None = None
    """Translated samples only."""
    class_share_error: float | None = None
    gx: bool | None = None
    marginals_ratio: float | None = None
    """Tables only (`gan_augment.validation.validate.TableThresholds`)."""
    correlation_ratio: float | None = None
    """Tables only."""
    gx_tolerance: float | None = None
    """Tables only: slack of the derived GX suite."""

    def overrides(self, kind: str = "image") -> dict[str, Any]:
        """The fields that are set and apply to ``kind`` data (the fields of its thresholds class)."""
        import dataclasses

        from gan_augment.kinds import kind_of

        applies = {f.name for f in dataclasses.fields(kind_of(kind).thresholds)}
        return {k: v for k, v in self.model_dump().items() if v is not None and k in applies}


class SyntheticConfig(dg.Config):
    """Class-balanced generation and its validation (one step: the checks judge these samples)."""

    per_class: int | None = None
    """Target count per class (balance=True) or samples added per class; None: the largest class."""
    balance: bool = library_default(augment, "balance")
    oversample: float = OVERSAMPLE
    """Generate this many times the plan so curation can drop samples and classes still fill up."""
    sample_seed: int = 1
    validation_seed: int = 0
    thresholds: ThresholdsConfig = ThresholdsConfig()
    validation_sample: int = VALIDATION_SAMPLE
    """At most this many samples of the plan are generated and validated in memory. A larger plan
    (e.g. per_class=100_000) is validated on a seeded subsample of this size (scaled down class by
    class, as `gan_augment.augment_to` does); augmented_dataset then streams the whole published
    amount to disk shard by shard, curated with the same rules."""


class AugmentedConfig(dg.Config):
    """The utility gate (`gan_augment.utility.measure_utility`) and what gets published.

    The gate trains the same classifier on the train split alone, with classical augmentation,
    with the curated GAN samples (several amounts per class and loss weights) and with both, and
    scores each on the holdout split (real data neither the GAN nor the classifiers saw)."""

    stream_seed: int = 2
    """Seeds the samples streamed to disk when the plan is larger than the validation sample."""
    utility: bool = library_default(augment, "utility")
    """Measure whether the GAN samples help before publishing them; False publishes every
    curated sample (the ``utility_gain`` check then fails as a warning: not measured)."""
    on_no_gain: str = library_default(augment, "on_no_gain")
    """When the GAN samples do not beat real-only and real + classical on the holdout:
    "classical" publishes the best baseline (real + classical copies, or the real data alone) and
    the ``utility_gain`` check fails as a warning, so downstream still runs; "warn" does the same
    and logs a warning; "raise" publishes the same but fails the check as an error (blocking:
    downstream_evaluation does not run); "ignore" publishes the best GAN configuration anyway."""
    utility_seeds: int = library_default(augment, "utility_seeds")
    """Classifier seeds per configuration (mean ± std over them)."""
    utility_classifier: str = library_default(augment, "utility_classifier")
    """As in `DownstreamConfig.classifier` ("auto": CNN for images, gradient boosting for tables;
    "logreg" is the fast choice for tests)."""
    utility_weights: list[float] = pydantic.Field(
        default_factory=lambda: list(library_default(measure_utility, "weights")))
    """Loss weights of a GAN sample to try (a real sample weighs 1)."""
    utility_classical: bool = library_default(measure_utility, "classical")
    """Also try (and offer as the baseline to beat) real + classical augmentation, with and
    without GAN samples. False only to save time (smoke runs): without it the gate cannot tell
    whether plain shifts and rotations would have done as well."""
    classical_seed: int = 0
    """Seed of the classical copies published when the chosen setting includes them."""


class DownstreamConfig(dg.Config):
    """Downstream evaluation (`gan_augment.evaluate_downstream`) of what augmented_dataset
    published: its GAN samples at their loss weight, scored on the untouched test split."""

    classifier: str = library_default(evaluate_downstream, "classifier")
    """"auto" (CNN for images, gradient boosting for tables), "cnn", "logreg", "hgb", "svm"."""
    seeds: int = library_default(evaluate_downstream, "seeds")
    classical_augmentation: bool = library_default(evaluate_downstream, "classical_augmentation")
    steps: int | None = None
    """Gradient steps of a Keras classifier, the same in every setting (None: the library's 600)."""
    epochs: int | None = None
    """Instead of ``steps``: epochs of a Keras classifier (unequal steps; kept for old configs)."""


#: Asset names whose config lives on another step (synthetic samples and their validation
#: are computed in one step, `sample_and_validate`).
STEP_OF_ASSET = {
    "source_dataset": "source_dataset",
    "gan_model": "gan_model",
    "upscaler": "upscaler",
    "psnr_vs_bicubic": "upscaler",
    "synthetic_samples": "sample_and_validate",
    "validation_report": "sample_and_validate",
    "sample_and_validate": "sample_and_validate",
    "augmented_dataset": "augmented_dataset",
    "utility_gain": "augmented_dataset",
    "downstream_evaluation": "downstream_evaluation",
}

#: A configuration small enough for tests and quick looks (about a minute on 2 CPU cores) that
#: still passes every gate on digits: 60 epochs, 150 samples per class, logistic regression (one
#: seed) for the utility gate (without its classical settings: logistic regression on 5× the data
#: takes a minute there) and for real / real+synthetic / synthetic only downstream.
SMOKE_CONFIG: dict[str, dict[str, Any]] = {
    "gan_model": {"epochs": 60},
    "synthetic_samples": {"per_class": 150},
    "augmented_dataset": {"utility_classifier": "logreg", "utility_seeds": 1, "utility_classical": False},
    "downstream_evaluation": {"classifier": "logreg", "seeds": 1, "classical_augmentation": False},
}
#: The same for tables (penguins-sized): 1500 tabular-GAN steps of 200 rows (the library default
#: is 1500 steps of 500 rows), about 45 s on 2 CPU cores; every class filled up to 150 rows, so
#: that every class has synthetic rows and the class-matched gates compare the whole holdout.
TABLE_SMOKE_CONFIG: dict[str, dict[str, Any]] = {
    **SMOKE_CONFIG,
    "gan_model": {"epochs": 30, "batch_size": 200},
}


#: The small configuration of each data kind.
SMOKE_CONFIGS: dict[str, dict[str, dict[str, Any]]] = {"image": SMOKE_CONFIG, "table": TABLE_SMOKE_CONFIG}


def smoke_config(kind: str) -> dict[str, dict[str, Any]]:
    """A fresh copy of the small configuration for ``kind`` data ("image" or "table")."""
    return {step: dict(fields) for step, fields in SMOKE_CONFIGS[kind].items()}


#: top-level sections of Dagster run config (taken as they are by `build_run_config`)
DAGSTER_SECTIONS = frozenset({"ops", "resources", "execution", "loggers"})


def build_run_config(config: Mapping[str, Any] | None = None,
                     storage_root: str | Path | None = None) -> dict[str, Any]:
    """Dagster run config from per-step settings keyed by asset name.

    ``config`` maps asset (or step) names to their fields, e.g.
    ``{"gan_model": {"epochs": 60}, "synthetic_samples": {"per_class": 150}}``; Dagster's own
    sections (``"ops"``, ``"resources"``, ``"execution"``, ``"loggers"``) are taken as they are,
    and asset sections beside them are merged into ``"ops"``.
    ``storage_root`` configures the ``storage`` resource.

    Example:
        >>> build_run_config({"gan_model": {"epochs": 5}}, storage_root="/tmp/x")
        {'ops': {'gan_model': {'config': {'epochs': 5}}}, 'resources': {'storage': {'config': {'root': '/tmp/x'}}}}
    """
    config = dict(config or {})
    # Dagster's own sections as they are; asset sections (e.g. --smoke on top of a deploy/ file)
    # become "ops" entries merged over the file's
    run_config = copy.deepcopy({k: v for k, v in config.items() if k in DAGSTER_SECTIONS})
    ops: dict[str, dict[str, Any]] = run_config.setdefault("ops", {})
    for name, fields in config.items():
        if name in DAGSTER_SECTIONS:
            continue
        if name not in STEP_OF_ASSET:
            raise ValueError(f"Expected config sections among {sorted(STEP_OF_ASSET)} (or Dagster's "
                             f"{sorted(DAGSTER_SECTIONS)}). Received: {name!r}.")
        if not isinstance(fields, Mapping):
            raise TypeError(f"Expected a mapping of fields for {name!r}. Received: {fields!r}.")
        step = ops.setdefault(STEP_OF_ASSET[name], {})
        step.setdefault("config", {}).update(fields)
    if not ops:
        del run_config["ops"]
    if storage_root is not None:
        resources = run_config.setdefault("resources", {})
        resources.setdefault("storage", {"config": {}})["config"]["root"] = str(storage_root)
    return run_config
