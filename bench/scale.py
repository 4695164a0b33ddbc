"""Generation at scale: time and peak memory of writing n GAN samples to files (issue 14).

For each size, a fresh Python process loads the same saved GAN and writes ``n`` samples with
`TrainedGAN.sample_to` (streamed: one shard in memory at a time) — 28×28 digit images to a TFDS
directory, table rows (wine, 13 columns) to parquet — and reports seconds, samples/s, the RSS
after loading the model (psutil, else ``/proc/self/status``), the peak RSS of the process
(``/proc/self/status`` VmHWM; ``resource.getrusage`` where there is no ``/proc``) and the size of what it wrote. ``--compare`` adds the in-memory path
of before (``gan.sample(n)`` then ``export_tfds``) for the image sizes up to ``--compare-max``.
``--generator`` times the generator's forward pass alone: `ConditionalGAN.generate` (eager, one
call per batch) against streaming's compiled function, on the same noise. ``--augment N`` runs
`augment_to` on the 8×8 digits with ``N`` synthetic samples (N/10 per class added): GAN training,
validation and the utility gate on a 10 000-sample subsample, then the real data and N curated
samples streamed to a TFDS directory; it reports the time of each phase and the peak RSS (its
samples/s: of the streaming phase).

The GANs are built for the data and trained for one epoch by default (``--untrained``: not at
all): speed and memory do not depend on how well they are trained.

Usage:
    python bench/scale.py [--sizes 10000 100000 1000000] [--table-rows 1000000] [--quick]
                          [--compare] [--compare-max 100000] [--generator 20000] [--keep DIR]
                          [--augment 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

MIB = 2**20


def rss_now() -> int:
    """The process's resident memory now, bytes."""
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except ImportError:
        return _proc_status("VmRSS")


def rss_peak() -> int:
    """The process's peak resident memory so far, bytes: ``VmHWM`` of ``/proc/self/status`` where
    there is one (``getrusage``'s ``ru_maxrss`` survives ``exec``: a child started by a parent
    holding 1.4 GB reported 1.4 GB whatever it did), else ``ru_maxrss``."""
    peak = _proc_status("VmHWM")
    if peak:
        return peak
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return int(maxrss) * (1 if sys.platform == "darwin" else 1024)


def _proc_status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# ---------------------------------------------------------------------- one case, in a child process
def child(args: argparse.Namespace) -> None:
    import gan_augment as ga

    out = Path(args.out)
    if args.method == "augment":
        augment_child(args.n, out)
        return
    gan = ga.load_gan(args.model)
    gan.sample(10, seed=0)  # imports and first calls outside the measure
    loaded = rss_now()
    start = time.perf_counter()
    if args.method == "stream":
        gan.sample_to(out, args.n, seed=1, verbose=0)
    else:  # the in-memory path of before: every sample in one Dataset, then one export
        from gan_augment.export import export_tfds

        export_tfds(gan.sample(args.n, seed=1), out, name="scale")
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "loaded": loaded, "peak": rss_peak(), "bytes": folder_bytes(out)}))


def augment_child(n: int, out: Path) -> None:
    """`augment_to` with ``n`` synthetic samples, in this (child) process: phases and memory."""
    import gan_augment as ga
    from gan_augment import streaming

    digits = ga.load_dataset("digits")
    loaded = rss_now()
    marks: dict[str, float] = {}
    original = streaming._Plan.run

    def timed_run(plan, verbose):  # when streaming starts: everything before is the subsample phase
        marks["stream_start"] = time.perf_counter()
        return original(plan, verbose)

    streaming._Plan.run = timed_run
    start = time.perf_counter()
    result = ga.augment_to(digits, out, per_class=n // 10, balance=False, validation_sample=10_000, epochs=60,
                           seed=0, utility_classifier="logreg", on_no_gain="ignore", on_fail="warn", verbose=0)
    end = time.perf_counter()
    print(json.dumps({"seconds": end - start, "subsample_s": marks["stream_start"] - start,
                      "stream_s": end - marks["stream_start"], "loaded": loaded, "peak": rss_peak(),
                      "bytes": folder_bytes(out), "written": result.n_synthetic, "real": result.real,
                      "validated_on": int(sum(result.validated_on)),
                      "accepted": float(result.sample.report.accepted.mean())}))


def run_case(model: Path, kind: str, method: str, n: int, out: Path) -> dict:
    command = [sys.executable, __file__, "--child", "--model", str(model), "--method", method,
               "--n", str(n), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        raise SystemExit(f"{kind} n={n} ({method}) failed:\n{done.stderr[-3000:]}")
    return {"kind": kind, "method": method, "n": n, **json.loads(lines[-1])}


# ---------------------------------------------------------------------- the GANs
def build_gans(folder: Path, epochs: int, with_table: bool) -> tuple[Path, Path | None, str]:
    import gan_augment as ga

    digits = ga.load_dataset("digits", image_size=28).subsample(per_class=3, seed=0)
    start = time.perf_counter()
    image = ga.train_gan(digits, epochs=epochs, seed=0, verbose=0)
    image_path = image.save(folder / "digits28.keras")
    params = image.model._sampling_generator(True).count_params()
    note = (f"image GAN: the default 28×28 conditional DCGAN ({params:,} generator parameters) for digits "
            f"resized to 28×28, {'untrained (built only)' if epochs == 0 else f'trained {epochs} epoch on 30 images'}")
    table_path = None
    if with_table:
        wine = ga.load_dataset("wine")
        table = ga.train_gan(wine, epochs=epochs, seed=0, verbose=0)
        table_path = table.save(folder / "wine.keras")
        note += (f"; table GAN: wine ({wine.frame.shape[1]} columns, 3 classes), "
                 f"{'untrained (built only)' if epochs == 0 else f'trained {epochs} epoch'}")
    note += f" ({time.perf_counter() - start:.0f} s)."
    return image_path, table_path, note


def generator_ratio(model: Path, n: int, repeats: int = 3) -> str:
    """Eager `ConditionalGAN.generate` against streaming's compiled generator on the same noise."""
    import numpy as np

    import gan_augment as ga
    from gan_augment.streaming import BATCH_SIZE, _ImageGenerator

    gan = ga.load_gan(model)
    m = gan.model
    z = np.random.default_rng(0).standard_normal((n, m.latent_dim)).astype(np.float32)
    labels = (np.arange(n) % m.num_classes).astype(np.int64)
    compiled = _ImageGenerator(m)

    def streamed():
        return np.concatenate([compiled(z[i : i + BATCH_SIZE], labels[i : i + BATCH_SIZE])
                               for i in range(0, n, BATCH_SIZE)])

    def eager():
        return m.generate(z, labels, batch_size=BATCH_SIZE)

    eager_x, compiled_x = m.generate(z[:BATCH_SIZE], labels[:BATCH_SIZE]), streamed()  # warm up, trace
    times: dict[str, list[float]] = {"eager": [], "compiled": []}
    for _ in range(repeats):  # interleaved: a busy machine slows both alike
        for name, fn in (("eager", eager), ("compiled", streamed)):
            start = time.perf_counter()
            result = fn()
            times[name].append(time.perf_counter() - start)
            if name == "eager":
                eager_x = result
            else:
                compiled_x = result
    same = bool(np.array_equal(eager_x, compiled_x))
    slow, fast = min(times["eager"]), min(times["compiled"])
    return (f"Generator forward pass, {n} images of 28×28 in batches of {BATCH_SIZE} (best of {repeats}): "
            f"eager generate {slow:.2f} s "
            f"({n / slow:.0f}/s), compiled {fast:.2f} s ({n / fast:.0f}/s): {slow / fast:.2f}× faster; "
            f"identical images: {same}.")


# ---------------------------------------------------------------------- main
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=None,
                   help="numbers of images (default 10000 100000 1000000; --quick: 10000)")
    p.add_argument("--table-rows", type=int, nargs="*", default=None,
                   help="numbers of table rows (default 1000000; --quick: 100000; none: skip)")
    p.add_argument("--quick", action="store_true", help="small sizes and untrained GANs, for a smoke run")
    p.add_argument("--untrained", action="store_true", help="build the GANs without training them")
    p.add_argument("--compare", action="store_true",
                   help="also run the in-memory path (sample + export_tfds) for image sizes up to --compare-max")
    p.add_argument("--compare-max", type=int, default=100_000)
    p.add_argument("--generator", type=int, default=0, metavar="N",
                   help="also time the generator alone on N images, eager against compiled")
    p.add_argument("--keep", type=Path, default=None, help="write the outputs here and keep them")
    p.add_argument("--augment", type=int, default=0, metavar="N",
                   help="also run augment_to with N synthetic 8×8 digits (curated, streamed to TFDS)")
    # the child process
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--method", default="stream", help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args)
        return

    sizes = args.sizes or ([10_000] if args.quick else [10_000, 100_000, 1_000_000])
    table_rows = args.table_rows if args.table_rows is not None else ([100_000] if args.quick else [1_000_000])
    epochs = 0 if (args.quick or args.untrained) else 1
    root = Path(tempfile.mkdtemp(prefix="gan_scale_"))
    outputs = args.keep or root
    try:
        image_model, table_model, note = build_gans(root, epochs, bool(table_rows))
        print(note, flush=True)
        if args.generator:
            print(generator_ratio(image_model, args.generator), flush=True)
        cases = [("images → TFDS", image_model, "stream", n) for n in sizes]
        if args.compare:
            cases += [("images → TFDS", image_model, "memory", n) for n in sizes if n <= args.compare_max]
        cases += [("rows → parquet", table_model, "stream", n) for n in table_rows]
        if args.augment:
            cases.append(("augment_to, 8×8 digits → TFDS", Path("-"), "augment", args.augment))
        rows = []
        for kind, model, method, n in cases:
            out = outputs / f"{'images' if model == image_model else 'rows' if model == table_model else 'augment'}_{method}_{n}"
            shutil.rmtree(out, ignore_errors=True)
            result = run_case(model, kind, method, n, out)
            rows.append(result)
            print(f"  {kind} n={n} {method}: {result['seconds']:.1f} s, peak RSS {result['peak'] / MIB:.0f} MiB",
                  flush=True)
            if method == "augment":
                print(f"    subsample phase (train, validate {result['validated_on']}, utility gate) "
                      f"{result['subsample_s']:.1f} s; streaming {result['real']} real + {result['written']} "
                      f"curated samples {result['stream_s']:.1f} s; {100 * result['accepted']:.0f} % of the "
                      f"subsample accepted by curation", flush=True)
            if args.keep is None:
                shutil.rmtree(out, ignore_errors=True)
        print()
        print("| what | n | path | seconds | samples/s | RSS after load (MiB) | peak RSS (MiB) | "
              "peak − load (MiB) | written (MiB) |")
        print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            path = {"stream": "streamed (sample_to)", "memory": "in memory (sample + export_tfds)",
                    "augment": "streamed + curated (augment_to)"}[r["method"]]
            n = r.get("written", r["n"])  # augment_to: the curated samples written (the gate may halve the plan)
            print(f"| {r['kind']} | {n:,} | {path} | {r['seconds']:.1f} | {n / r.get('stream_s', r['seconds']):,.0f} | "
                  f"{r['loaded'] / MIB:.0f} | {r['peak'] / MIB:.0f} | {(r['peak'] - r['loaded']) / MIB:.0f} | "
                  f"{r['bytes'] / MIB:.1f} |")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
