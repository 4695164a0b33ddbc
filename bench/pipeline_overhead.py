"""What does Dagster add? The whole graph for `digits` through Dagster against the same steps as
plain library calls, with the same configuration.

Variants, each in a fresh Python process with a fresh storage root, encoder cache and
DAGSTER_HOME (so every variant pays the same imports, trains the same GAN and the same domain
encoder):

* ``plain``        — load, split, train_gan (checkpoints, pictures), save the model, sample,
                     validate + report.save, curate, export npz + TFDS, evaluate_downstream + md + plot;
* ``in_process``   — `pipelines.run.run_pipeline(executor="in_process")`: a real Dagster run
                     (SQLite instance, IO managers writing every intermediate, UI metadata);
* ``multiprocess`` — the same with the multiprocess executor (a process per step).

Reported: wall time of each process (interpreter start and imports included) and the time of the
work inside it; the ratio to ``plain``; repeats interleaved. Target: in-process adds < 25 %.

Usage: python bench/pipeline_overhead.py [--repeats 2] [--variants plain in_process multiprocess]
       [--epochs 60] [--per-class 150]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

VARIANTS = ("plain", "in_process", "multiprocess")


def config_for(epochs: int, per_class: int) -> dict:
    from pipelines.config import SMOKE_CONFIG

    config = {k: dict(v) for k, v in SMOKE_CONFIG.items()}
    config["gan_model"]["epochs"] = epochs
    config["synthetic_samples"]["per_class"] = per_class
    return config


def plain(root: Path, config: dict) -> dict:
    """The pipeline's steps as plain library calls (defaults as in pipelines.config)."""
    import numpy as np

    import gan_augment as ga
    from gan_augment.export import export_npz, export_tfds
    from gan_augment.generation import AugmentedDataset, generation_plan
    from pipelines.assets import first_accepted_per_class, sample_for_plan
    from pipelines.config import DownstreamConfig, GanConfig, SourceConfig, SyntheticConfig

    src, gcfg = SourceConfig(), GanConfig(**config["gan_model"])
    scfg, dcfg = SyntheticConfig(**config["synthetic_samples"]), DownstreamConfig(**config["downstream_evaluation"])
    out = root / "digits"
    data = ga.load_dataset("digits")
    rest, test = data.split(src.test_fraction, seed=src.split_seed)
    train, holdout = rest.split(int(round(src.holdout_fraction * len(data))), seed=src.split_seed)
    gan = ga.train_gan(train, checkpoint_dir=out / "checkpoints", output_dir=out / "gan", verbose=0,
                       **gcfg.train_options())
    gan.save(out / "gan_model.keras")
    plan = generation_plan(train.class_counts(), scfg.per_class, scfg.balance)
    synthetic = sample_for_plan(gan, plan, oversample=scfg.oversample, seed=scfg.sample_seed)
    report = ga.validate(train, synthetic, reference=holdout, requested=plan, seed=scfg.validation_seed,
                         cache_dir=root / "cache")
    report.save(out / "validation_report")
    kept = first_accepted_per_class(ga.curate(synthetic, report), plan)
    augmented = AugmentedDataset(real=train, synthetic=kept, requested=tuple(plan.tolist()),
                                 dropped=int((~report.accepted).sum()))
    export_npz(augmented.combined(), out / "augmented.npz", synthetic=augmented.synthetic_mask)
    export_tfds(augmented.combined(), out / "tfds", name="digits_augmented", synthetic=augmented.synthetic_mask)
    downstream = ga.evaluate_downstream(augmented.real, test, augmented.synthetic, classifier=dcfg.classifier,
                                        seeds=dcfg.seeds, classical_augmentation=dcfg.classical_augmentation)
    (out / "downstream.md").write_text(str(downstream))
    downstream.save_plot(out / "downstream.png")
    return {"passed": bool(report.passed), "n_synthetic": augmented.n_synthetic,
            "accuracy": float(np.round(downstream.row("real+synthetic")["accuracy_mean"], 4))}


def dagster_run(root: Path, config: dict, executor: str) -> dict:
    from pipelines.config import build_run_config
    from pipelines.run import run_pipeline

    run_config = {"ops": build_run_config(config)["ops"],
                  "resources": {"storage": {"config": {"encoder_cache": str(root / "cache")}}}}
    (root / "home").mkdir(parents=True, exist_ok=True)
    (root / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    result = run_pipeline("digits", storage_root=root, config=run_config, executor=executor,
                          dagster_home=root / "home", verbose=False)
    return {"passed": not result.failed_gates, "success": result.success,
            "failed_steps": [s for s, _ in result.failed_steps]}


def child(variant: str, root: Path, epochs: int, per_class: int) -> None:
    started = time.perf_counter()
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
    p.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    p.add_argument("--root", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child, Path(args.root), args.epochs, args.per_class)
        return

    print(f"CPU cores visible: {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}; "
          f"digits, epochs={args.epochs}, per_class={args.per_class}, downstream logreg × 1 seed")
    walls: dict[str, list[float]] = {v: [] for v in args.variants}
    works: dict[str, list[float]] = {v: [] for v in args.variants}
    for repeat in range(args.repeats):
        for variant in args.variants:
            with tempfile.TemporaryDirectory(prefix=f"overhead-{variant}-") as tmp:
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, __file__, "--child", variant, "--root", tmp, "--epochs", str(args.epochs),
                     "--per-class", str(args.per_class)],
                    capture_output=True, text=True, cwd=REPO)
                wall = time.perf_counter() - started
            lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
            if done.returncode != 0 or not lines:
                print(f"{variant} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
                continue
            info = json.loads(lines[-1][len("RESULT "):])
            walls[variant].append(wall)
            works[variant].append(info.pop("work_s"))
            print(f"repeat {repeat + 1} {variant:13s} wall {wall:6.1f} s  work {works[variant][-1]:6.1f} s  "
                  f"load {os.getloadavg()[0]:.1f}  {json.dumps(info)}", flush=True)

    print("\n| variant | wall (median) | work (median) | wall / plain | work / plain |")
    print("|---|---:|---:|---:|---:|")
    base_wall = statistics.median(walls["plain"]) if walls.get("plain") else None
    base_work = statistics.median(works["plain"]) if works.get("plain") else None
    for variant in args.variants:
        if not walls[variant]:
            continue
        wall, work = statistics.median(walls[variant]), statistics.median(works[variant])
        ratio = (f"{wall / base_wall:.2f}×", f"{work / base_work:.2f}×") if base_wall else ("–", "–")
        print(f"| {variant} | {wall:.1f} s | {work:.1f} s | {ratio[0]} | {ratio[1]} |")


if __name__ == "__main__":
    main()
