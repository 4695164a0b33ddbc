"""What does Dagster add? The whole graph for `digits` through Dagster against the same steps as
plain library calls, with the same configuration.

Variants, each in a fresh Python process with a fresh storage root, encoder cache and
DAGSTER_HOME (so every variant pays the same imports, trains the same GAN and the same domain
encoder):

* ``plain``        — load, split, train_gan (checkpoints, pictures), save the model, sample,
                     validate + report.save, curate, export npz + TFDS, evaluate_downstream + md + plot;
* ``in_process``   — `pipelines.run.run_pipeline(executor="in_process")`: a real Dagster run
                     (SQLite instance, IO managers writing every intermediate, UI metadata);
* ``multiprocess`` — the same with the multiprocess executor (a process per step), as the
                     project configures it: step processes fork from a forkserver that imported
                     TensorFlow, GX and the package once (`pipelines.forkserver.MULTIPROCESS_DEFAULTS`),
                     started first thing, as ``gan-augment run --executor multiprocess`` starts it;
* ``multiprocess_spawn`` — the multiprocess executor with ``start_method: spawn`` (Dagster's
                     default: every step process a fresh interpreter that imports everything).

Reported per variant: wall time of each process (interpreter start and imports included), its
ratio to the ``plain`` run of the same repeat (they run back to back, so a drifting load on a
shared machine moves both) and the median of those ratios, its CPU time (user + sys, step
processes included — except the forkserver's: processes forked from it are reaped by it, not
counted here), and the time of every step (Dagster: the step's duration
in the event log, which includes loading its inputs and storing its output; plain: the same
library calls timed inline). Repeats are interleaved. Targets: in-process within 1.05× of plain,
multiprocess within 1.15×.

Usage: python bench/pipeline_overhead.py [--repeats 2] [--variants plain in_process multiprocess]
       [--epochs 60] [--per-class 150] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

VARIANTS = ("plain", "in_process", "multiprocess", "multiprocess_spawn")


def config_for(epochs: int, per_class: int) -> dict:
    from pipelines.config import SMOKE_CONFIG

    config = {k: dict(v) for k, v in SMOKE_CONFIG.items()}
    config["gan_model"]["epochs"] = epochs
    config["synthetic_samples"]["per_class"] = per_class
    return config


#: which plain phases a Dagster step covers (a step also loads its inputs and stores its output)
STEP_PHASES = {
    "source_dataset": ["load_split"],
    "gan_model": ["train", "save_model"],
    "sample_and_validate": ["sample", "validate", "report_save"],
    "augmented_dataset": ["curate_export"],
    "downstream_evaluation": ["downstream"],
}


def plain(root: Path, config: dict) -> dict:
    """The pipeline's steps as plain library calls (defaults as in pipelines.config)."""
    import numpy as np

    import gan_augment as ga
    from gan_augment.export import export_npz, export_tfds
    from gan_augment.generation import (
        AugmentedDataset,
        generation_plan,
        sample_for_plan,
        take_per_class,
    )
    from pipelines.config import DownstreamConfig, GanConfig, SourceConfig, SyntheticConfig

    phases: dict[str, float] = {}
    last = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        phases[name] = round(now - last[0], 2)
        last[0] = now

    src, gcfg = SourceConfig(), GanConfig(**config["gan_model"])
    scfg, dcfg = SyntheticConfig(**config["synthetic_samples"]), DownstreamConfig(**config["downstream_evaluation"])
    out = root / "digits"
    data = ga.load_dataset("digits")
    rest, test = data.split(src.test_fraction, seed=src.split_seed)
    train, holdout = rest.split(round(src.holdout_fraction * len(data)), seed=src.split_seed)
    lap("load_split")
    gan = ga.train_gan(train, checkpoint_dir=out / "checkpoints", output_dir=out / "gan", verbose=0,
                       **gcfg.train_options())
    lap("train")
    gan.save(out / "gan_model.keras")
    lap("save_model")
    plan = generation_plan(train.class_counts(), scfg.per_class, scfg.balance)
    synthetic = sample_for_plan(gan, plan, oversample=scfg.oversample, seed=scfg.sample_seed)
    lap("sample")
    report = ga.validate(train, synthetic, reference=holdout, requested=plan, seed=scfg.validation_seed,
                         cache_dir=root / "cache")
    lap("validate")
    report.save(out / "validation_report")
    lap("report_save")
    kept = take_per_class(synthetic, plan, accepted=report.accepted)
    augmented = AugmentedDataset(real=train, synthetic=kept, requested=tuple(plan.tolist()),
                                 dropped=int((~report.accepted).sum()))
    export_npz(augmented.combined(), out / "augmented.npz", synthetic=augmented.synthetic_mask)
    export_tfds(augmented.combined(), out / "tfds", name="digits_augmented", synthetic=augmented.synthetic_mask)
    lap("curate_export")
    downstream = ga.evaluate_downstream(augmented.real, test, augmented.synthetic, classifier=dcfg.classifier,
                                        seeds=dcfg.seeds, classical_augmentation=dcfg.classical_augmentation)
    (out / "downstream.md").write_text(str(downstream))
    downstream.save_plot(out / "downstream.png")
    lap("downstream")
    steps = {step: round(sum(phases[p] for p in names), 2) for step, names in STEP_PHASES.items()}
    return {"passed": bool(report.passed), "n_synthetic": augmented.n_synthetic,
            "accuracy": float(np.round(downstream.row("real+synthetic")["accuracy_mean"], 4)),
            "steps": steps, "phases": phases}


def dagster_run(root: Path, config: dict, variant: str) -> dict:
    import dagster as dg

    from pipelines.config import build_run_config
    from pipelines.forkserver import MULTIPROCESS_DEFAULTS
    from pipelines.run import run_pipeline

    run_config = {"ops": build_run_config(config)["ops"],
                  "resources": {"storage": {"config": {"encoder_cache": str(root / "cache")}}}}
    executor = variant
    if variant == "multiprocess_spawn":
        executor = "multiprocess"
        run_config["execution"] = {"config": {**MULTIPROCESS_DEFAULTS, "start_method": {"spawn": {}}}}
    (root / "home").mkdir(parents=True, exist_ok=True)
    (root / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    result = run_pipeline("digits", storage_root=root, config=run_config, executor=executor,
                          dagster_home=root / "home", verbose=False)
    with dg.DagsterInstance.from_config(str(root / "home")) as instance:
        stats = instance.get_run_step_stats(result.run_id)
    steps = {s.step_key: round(s.end_time - s.start_time, 2) for s in stats if s.end_time and s.start_time}
    return {"passed": not result.failed_gates, "success": result.success,
            "failed_steps": [s for s, _ in result.failed_steps], "steps": steps}


def child(variant: str, root: Path, epochs: int, per_class: int) -> None:
    started = time.perf_counter()
    if variant == "multiprocess":  # as `gan-augment run --executor multiprocess` does, first thing
        from pipelines.forkserver import start_forkserver

        start_forkserver()
    config = config_for(epochs, per_class)
    info = plain(root, config) if variant == "plain" else dagster_run(root, config, variant)
    info["work_s"] = round(time.perf_counter() - started, 2)
    print("RESULT " + json.dumps(info), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--per-class", type=int, default=150)
    p.add_argument("--threads", type=int, default=None,
                   help="TensorFlow intra/inter-op threads in every variant (default: TensorFlow's). "
                        "1 makes timings less sensitive to other load on a shared machine.")
    p.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    p.add_argument("--root", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child, Path(args.root), args.epochs, args.per_class)
        return

    env = dict(os.environ)
    if args.threads:
        for key in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
            env[key] = str(args.threads)
    print(f"CPU cores visible: {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}; "
          f"digits, epochs={args.epochs}, per_class={args.per_class}, downstream logreg × 1 seed; "
          f"TensorFlow threads: {args.threads or 'default'}")
    walls: dict[str, list[float]] = {v: [] for v in args.variants}
    works: dict[str, list[float]] = {v: [] for v in args.variants}
    cpus: dict[str, list[float]] = {v: [] for v in args.variants}
    steps: dict[str, list[dict[str, float]]] = {v: [] for v in args.variants}
    for repeat in range(args.repeats):
        for variant in args.variants:
            with tempfile.TemporaryDirectory(prefix=f"overhead-{variant}-") as tmp:
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, __file__, "--child", variant, "--root", tmp, "--epochs", str(args.epochs),
                     "--per-class", str(args.per_class)],
                    capture_output=True, text=True, cwd=REPO, env=env, check=False)
                wall = time.perf_counter() - started
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
            if done.returncode != 0 or not lines:
                print(f"{variant} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
                continue
            info = json.loads(lines[-1][len("RESULT "):])
            walls[variant].append(wall)
            cpus[variant].append(cpu)
            works[variant].append(info.pop("work_s"))
            steps[variant].append(info.pop("steps"))
            info.pop("phases", None)
            print(f"repeat {repeat + 1} {variant:13s} wall {wall:6.1f} s  work {works[variant][-1]:6.1f} s  "
                  f"cpu {cpu:6.1f} s  load {os.getloadavg()[0]:.1f}  steps {json.dumps(steps[variant][-1])}  "
                  f"{json.dumps(info)}", flush=True)

    def med(values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")

    # the load of a shared machine drifts between repeats: each variant's wall time is divided by
    # the plain run of the same repeat (they run back to back), and the median of those is the figure
    print("\n| variant | runs | wall (median) | wall / plain, per repeat | median of those | CPU time (median) |")
    print("|---|---:|---:|---|---:|---:|")
    for variant in args.variants:
        if not walls[variant]:
            continue
        wall = med(walls[variant])
        pairs = [w / p for w, p in zip(walls[variant], walls.get("plain", []))]
        per_repeat = ", ".join(f"{r:.2f}×" for r in pairs) or "–"
        cpu = "n/a (forked steps)" if variant == "multiprocess" else f"{med(cpus[variant]):.1f} s"
        print(f"| {variant} | {len(walls[variant])} | {wall:.1f} s | {per_repeat} | "
              f"{med(pairs):.2f}× | {cpu} |" if pairs else f"| {variant} | {len(walls[variant])} | {wall:.1f} s | – | – | {cpu} |")

    print("\nPer step, median seconds (plain: the same library calls, timed inline):")
    names = list(STEP_PHASES)
    print("| step | " + " | ".join(v for v in args.variants if steps[v]) + " |")
    print("|---|" + "---:|" * sum(1 for v in args.variants if steps[v]))
    for name in [*names, "(outside steps)"]:
        cells = []
        for variant in args.variants:
            if not steps[variant]:
                continue
            if name == "(outside steps)":
                values = [w - sum(s.values()) for w, s in zip(works[variant], steps[variant])]
            else:
                values = [s.get(name, float("nan")) for s in steps[variant]]
            cells.append(f"{med(values):.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
