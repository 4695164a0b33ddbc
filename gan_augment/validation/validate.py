"""`validate(real, synthetic)`: gates relative to real-vs-real baselines; `curate()` keeps the rest.

Every distribution metric is computed twice at the same sample count n:

    value    = metric(real train, synthetic)      (n samples each)
    baseline = metric(real train, real holdout)   (n samples each)

so a number always has a yardstick: a perfect generator scores like unseen real data.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from gan_augment.data.dataset import Dataset
from gan_augment.errors import DataError
from gan_augment.validation import metrics as M
from gan_augment.validation.features import DomainEncoder, FeatureTable, fit_domain_encoder
from gan_augment.validation.report import Check, Thresholds, ValidationReport

#: Gate names, in report order (the Dagster asset checks use the same names).
GATES = ("gx_suite", "frechet_distance", "c2st_auc", "coverage", "memorization", "label_fidelity",
         "class_coverage")


def validate(
    real: Dataset,
    synthetic: Dataset,
    *,
    reference: Dataset | None = None,
    thresholds: Thresholds | dict[str, Any] | None = None,
    encoder: DomainEncoder | Any | None = None,
    requested: np.ndarray | None = None,
    seed: int = 0,
    cache_dir: Any = None,
    verbose: int = 0,
) -> ValidationReport:
    """Check ``synthetic`` against the real data distribution.

    Args:
        real: the real training data (what the GAN learned from).
        synthetic: generated samples (labelled when the GAN is conditional).
        reference: a real holdout split for the baselines; default: 20% split off ``real``
            (the encoder is then trained on the other 80%).
        thresholds: `Thresholds` or a dict overriding some of its fields.
        encoder: a `DomainEncoder`, or a Keras model mapping images to features (wrapped with
            `DomainEncoder.from_feature_extractor`); default: the cached domain CNN.
        requested: samples per class that were asked for (default: ``real``'s class proportions).
        seed: seeds subsampling, the encoder and the classifiers.
        cache_dir: where the domain encoder is cached (``False``: no cache).

    Example:
        >>> train, holdout = load_dataset("digits").split(0.2)                 # doctest: +SKIP
        >>> report = validate(train, gan.sample(1000), reference=holdout)      # doctest: +SKIP
        >>> report.passed, report.summary()                                    # doctest: +SKIP
    """
    started = time.perf_counter()
    limits = Thresholds.from_value(thresholds)
    _check_inputs(real, synthetic, reference)
    if real.kind != "image":
        raise NotImplementedError("validate() covers image data now; tables arrive with the tabular model.")
    if reference is None:
        real, reference = real.split(0.2, seed=seed)
    if encoder is None:
        encoder = fit_domain_encoder(real, seed=seed, cache_dir=cache_dir, verbose=max(0, verbose - 1))
    elif not isinstance(encoder, DomainEncoder):
        encoder = DomainEncoder.from_feature_extractor(encoder, real, seed=seed)

    # Equal sample counts for value and baseline.
    n = min(len(real), len(reference), len(synthetic))
    rng_seeds = np.random.SeedSequence(seed).generate_state(4)
    i_real = M.equal_count_subsample(np.arange(len(real)), n, seed=int(rng_seeds[0]))
    i_ref = M.equal_count_subsample(np.arange(len(reference)), n, seed=int(rng_seeds[1]))
    i_syn = M.equal_count_subsample(np.arange(len(synthetic)), n, seed=int(rng_seeds[2]))
    f_real_all = encoder.features(real.x)
    f_ref_all, f_syn_all = encoder.features(reference.x), encoder.features(synthetic.x)
    f_real, f_ref, f_syn = f_real_all[i_real], f_ref_all[i_ref], f_syn_all[i_syn]
    checks: list[Check] = []

    # 1. Great Expectations suite derived from the real training data.
    gx_result, tables = _gx_check(real, reference, synthetic, encoder, f_real_all, f_ref_all, f_syn_all, seed)
    checks.append(Check(
        "gx_suite", gx_result["statistics"].get("success_percent"), gx_result["baseline_success_percent"],
        100.0 if limits.gx else None, bool(gx_result["success"]) or not limits.gx,
        gx_result["summary"] + (" The same suite passes on the real holdout."
                                if gx_result["baseline_success"] else
                                " Note: it also fails on the real holdout."),
        gate=limits.gx))

    # 2. Fréchet distance (and KID, informative) in encoder space.
    fd, fd_base = M.frechet_distance(f_real, f_syn), M.frechet_distance(f_real, f_ref)
    bound = limits.frechet_ratio * fd_base
    checks.append(Check("frechet_distance", fd, fd_base, bound, fd <= bound,
                        f"Fréchet distance {fd:.3g} is {_x(fd, fd_base)} the real-vs-real {fd_base:.3g} "
                        f"(limit {limits.frechet_ratio:g}×) at n={n}."))
    kid, kid_std = M.kernel_distance(f_real, f_syn, seed=seed)
    kid_base, _ = M.kernel_distance(f_real, f_ref, seed=seed)
    checks.append(Check("kid", kid, kid_base, None, True,
                        f"KID {kid:.3g} ± {kid_std:.2g} vs real-vs-real {kid_base:.3g} (unbiased; informative).",
                        gate=False))

    # 3. Classifier two-sample test.
    auc, auc_base = M.c2st_auc(f_real, f_syn, seed=seed), M.c2st_auc(f_real, f_ref, seed=seed)
    checks.append(Check("c2st_auc", auc, auc_base, limits.c2st_auc, auc <= limits.c2st_auc,
                        f"A real-vs-synthetic classifier reaches AUC {auc:.3f} on held-out samples "
                        f"(real-vs-real {auc_base:.3f}; 0.5 = indistinguishable; limit {limits.c2st_auc:g})."))

    # 4. Precision / recall / density / coverage; coverage is the mode-collapse gate.
    prdc, prdc_base = M.precision_recall_density_coverage(f_real, f_syn), \
        M.precision_recall_density_coverage(f_real, f_ref)
    for key in ("precision", "recall", "density"):
        checks.append(Check(key, prdc[key], prdc_base[key], None, True,
                            f"{key} {prdc[key]:.3f} vs real-vs-real {prdc_base[key]:.3f} (informative).", gate=False))
    cov_bound = limits.coverage_ratio * prdc_base["coverage"]
    checks.append(Check("coverage", prdc["coverage"], prdc_base["coverage"], cov_bound,
                        prdc["coverage"] >= cov_bound,
                        f"Synthetic samples cover {prdc['coverage']:.0%} of the real data's k-NN neighbourhoods; "
                        f"real holdout covers {prdc_base['coverage']:.0%} (need ≥ {limits.coverage_ratio:g}×: "
                        "low coverage means mode collapse)."))

    # 5. Memorization: distance to the closest training record, in pixel space (copies are literal).
    flat = lambda d: d.x.reshape(len(d), -1).astype(np.float64)  # noqa: E731
    mem = M.memorization(flat(real), flat(synthetic), flat(reference), seed=seed)
    # A real unseen sample is a "near-copy" 1% of the time, so a small set can exceed a fixed share
    # by chance: the limit is at least the 99.9% point of Binomial(m, 0.01) / m.
    from scipy.stats import binom

    m = len(synthetic)
    copy_limit = max(limits.near_copy_share, float(binom.ppf(0.999, m, 0.01)) / m)
    checks.append(Check("memorization", mem["near_copy_share"], 0.01, copy_limit,
                        mem["near_copy_share"] <= copy_limit,
                        f"{mem['near_copy_share']:.1%} of synthetic samples are near-copies of training samples "
                        f"(closer than 99% of real unseen samples are; limit {copy_limit:.1%} at n={m}); "
                        f"median distance ratio to the holdout's {mem['dcr_ratio']:.2f}."))

    # 6. Label fidelity: the encoder agrees with the conditioning label.
    near_copy = np.asarray(mem["near_copy_mask"], dtype=bool)
    disputed = np.zeros(len(synthetic), dtype=bool)
    if synthetic.labeled:
        predicted = encoder.predict(synthetic.x)
        fidelity, per_class = M.label_fidelity(predicted, synthetic.y, real.num_classes)
        base_acc = float(np.mean(encoder.predict(reference.x) == reference.y))
        bound = limits.label_fidelity_ratio * base_acc
        worst = int(np.nanargmin(per_class)) if np.isfinite(per_class).any() else 0
        checks.append(Check("label_fidelity", fidelity, base_acc, bound, fidelity >= bound,
                            f"The domain encoder agrees with {fidelity:.1%} of the conditioning labels; it is "
                            f"{base_acc:.1%} accurate on real holdout data (need ≥ {limits.label_fidelity_ratio:g}×). "
                            f"Weakest class: {real.class_names[worst]} ({per_class[worst]:.0%})."))
        disputed = predicted != synthetic.y

        # 7. Class coverage.
        req = np.asarray(requested if requested is not None else real.class_counts(), dtype=float)
        cov = M.class_coverage(synthetic.y, req, num_classes=real.num_classes)
        ok = not cov["missing"] and cov["max_share_error"] <= limits.class_share_error
        missing = [real.class_names[c] for c in cov["missing"]]
        checks.append(Check("class_coverage", cov["max_share_error"], 0.0, limits.class_share_error, ok,
                            (f"Missing classes: {missing}. " if missing else "Every requested class is present. ")
                            + f"Largest share error {cov['max_share_error']:.1%} (limit {limits.class_share_error:.0%})."))

    accepted = ~(near_copy | disputed)
    report = ValidationReport(
        checks=checks,
        accepted=accepted,
        rejection_counts={"near_copy": int(near_copy.sum()), "label_disputed": int(disputed.sum()),
                          "total": int((~accepted).sum())},
        gx={k: v for k, v in gx_result.items() if k != "baseline"},
        info={
            "n_real": len(real), "n_reference": len(reference), "n_synthetic": len(synthetic),
            "equal_count": n, "encoder": encoder.description, "encoder_accuracy": encoder.accuracy,
            "thresholds": limits.__dict__, "seed": seed, "seconds": round(time.perf_counter() - started, 2),
            "memorization": {k: v for k, v in mem.items() if k != "near_copy_mask"},
            "prdc": prdc, "prdc_baseline": prdc_base,
        },
        real=real, synthetic=synthetic, feature_tables=tables,
    )
    if verbose:
        print(report.summary())
    return report


def curate(synthetic: Dataset, report: ValidationReport) -> Dataset:
    """The synthetic samples that curation accepted: no near-copies of training samples, no
    samples whose label the domain encoder disputes.

    Example:
        >>> kept = curate(samples, validate(train, samples, reference=holdout))  # doctest: +SKIP
    """
    if len(report.accepted) != len(synthetic):
        raise DataError(
            f"Expected the report of these {len(synthetic)} samples. Received: a report of "
            f"{len(report.accepted)} samples."
        )
    return synthetic.take(np.flatnonzero(report.accepted),
                          curated={"kept": int(report.accepted.sum()), "dropped": int((~report.accepted).sum())})


def _gx_check(real, reference, synthetic, encoder, f_real, f_ref, f_syn, seed) -> tuple[dict, dict]:
    from gan_augment.validation.expectations import derive_suite, validate_frame

    table = FeatureTable(encoder, real, seed=seed)
    t_real, t_ref, t_syn = table(real, f_real), table(reference, f_ref), table(synthetic, f_syn)
    # The label column is checked for its values only: class proportions are the class_coverage
    # gate's job (a balanced synthetic set is meant to differ from an imbalanced real one).
    spec = derive_suite(t_real, name="real_features", skip_distribution=["label"], n_compare=len(t_syn))
    on_ref, on_syn = validate_frame(t_ref, spec), validate_frame(t_syn, spec)
    result = on_syn.to_dict()
    result["summary"] = on_syn.summary()
    result["baseline_success"] = bool(on_ref.success)
    result["baseline_success_percent"] = on_ref.statistics.get("success_percent")
    return result, {"real": t_real.drop(columns="label", errors="ignore"),
                    "synthetic": t_syn.drop(columns="label", errors="ignore")}


def _check_inputs(real: Dataset, synthetic: Dataset, reference: Dataset | None) -> None:
    for name, ds in (("real", real), ("synthetic", synthetic), ("reference", reference)):
        if ds is not None and not isinstance(ds, Dataset):
            raise DataError(f"Expected {name} to be a gan_augment Dataset. Received: {type(ds).__name__}.")
    for name, ds in (("synthetic", synthetic), ("reference", reference)):
        if ds is None:
            continue
        if ds.kind != real.kind or ds.shape != real.shape:
            raise DataError(f"Expected {name} data like the real data ({real.kind}, {real.shape}). "
                            f"Received: {ds.kind}, {ds.shape}.")
        if ds.labeled and tuple(ds.class_names) != tuple(real.class_names):
            raise DataError(f"Expected {name} to have the real classes {real.class_names}. "
                            f"Received: {ds.class_names}.")
    if not real.labeled or real.num_classes < 2:
        raise DataError("Expected labelled real data with at least 2 classes to validate against.")


def _x(value: float, base: float) -> str:
    return f"{value / base:.2f}×" if base > 0 else "n/a ×"
