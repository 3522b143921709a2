"""Bias probe sets with known truth: `planted` (light vs dark tone) and `control` (light vs medium).

Both are paired designs: each scene (shape, colour, background, position, noise) is rendered
twice, once per group, so the groups differ in tone only. The bundled models were trained with a
planted annotation bias on dark-tone images (circles and stars labelled "square"), while light and
medium tones were labelled correctly. So on `planted` the models select "square" far more often for
the dark group, and on `control` the groups differ in nothing the models use. The PyTorch-measured
disparities are written to truth.json; per-image predictions to predictions.csv.
"""

import os

import numpy as np

import synthetic as syn

PAIRS_PER_SHAPE = 30
N_BOOT = 2000
NAMED_LABEL = "square"
PROBE_SETS = {
    # name: (groups, seed offset, what the set is for)
    "planted": (("light", "dark"), 10, "the models were trained with dark-tone circles and stars annotated "
                                       "'square' (90%); groups differ only in tone, so the disparity is planted"),
    "control": (("light", "medium"), 11, "both tones were annotated correctly in training; groups differ only "
                                         "in tone, so no disparity is expected"),
}


def _scenes(seed, offset):
    rng = np.random.default_rng([seed, offset])
    scenes = [syn.random_scene(rng, shape=shape) for shape in syn.SHAPES for _ in range(PAIRS_PER_SHAPE)]
    ages = rng.integers(18, 80, size=(len(scenes), 2))
    return scenes, ages


def _group_metrics(labels, predicted, groups, names):
    out = {}
    for g in names:
        sel = groups == g
        out[g] = {
            "count": int(sel.sum()),
            "accuracy": round(float((predicted[sel] == labels[sel]).mean()), 4),
            "selection_rate": {lab: round(float((predicted[sel] == lab).mean()), 4) for lab in syn.SHAPES},
            "tpr": {lab: round(_tpr(labels[sel], predicted[sel], lab), 4) for lab in syn.SHAPES},
            "fpr": {lab: round(_fpr(labels[sel], predicted[sel], lab), 4) for lab in syn.SHAPES},
        }
    return out


def _tpr(labels, predicted, label):
    """One-vs-rest true positive rate: P(predicted = label | label)."""
    return float((predicted[labels == label] == label).mean())


def _fpr(labels, predicted, label):
    """One-vs-rest false positive rate: P(predicted = label | another label)."""
    return float((predicted[labels != label] == label).mean())


def _spread(values):
    return max(values) - min(values), (min(values) / max(values) if max(values) > 0 else 1.0)


def _disparities(labels, predicted, groups, names):
    acc = [float((predicted[groups == g] == labels[groups == g]).mean()) for g in names]
    named = [float((predicted[groups == g] == NAMED_LABEL).mean()) for g in names]
    tpr_diff, tpr_ratio = _spread([_tpr(labels[groups == g], predicted[groups == g], NAMED_LABEL) for g in names])
    fpr_diff, fpr_ratio = _spread([_fpr(labels[groups == g], predicted[groups == g], NAMED_LABEL) for g in names])
    ratios, differences = [], []
    for lab in syn.SHAPES:
        rates = [float((predicted[groups == g] == lab).mean()) for g in names]
        ratios.append(min(rates) / max(rates) if max(rates) > 0 else 1.0)
        differences.append(max(rates) - min(rates))
    return {
        "demographic_parity_difference": max(named) - min(named),
        "demographic_parity_ratio": min(named) / max(named) if max(named) > 0 else 1.0,
        "accuracy_difference": max(acc) - min(acc),
        "equalized_odds_difference": max(tpr_diff, fpr_diff),
        "equalized_odds_ratio": min(tpr_ratio, fpr_ratio),
        "max_selection_rate_difference_any_label": max(differences),
        "min_selection_rate_ratio_any_label": min(ratios),
    }


def _bootstrap(fn, groups, names, seed):
    """Percentile 95% CI, resampling within each group (stratified), seeded."""
    rng = np.random.default_rng(seed)
    index = {g: np.flatnonzero(groups == g) for g in names}
    samples = []
    for _ in range(N_BOOT):
        pick = np.concatenate([rng.choice(index[g], size=len(index[g]), replace=True) for g in names])
        samples.append(fn(pick))
    samples = np.array(samples)
    return [round(float(np.percentile(samples, 2.5)), 4), round(float(np.percentile(samples, 97.5)), 4)]


def _classifier_truth(labels, predicted, groups, names, seed, description):
    d = _disparities(labels, predicted, groups, names)
    ci = {}
    for key in ("demographic_parity_difference", "accuracy_difference", "equalized_odds_difference"):
        ci[key] = _bootstrap(lambda p, k=key: _disparities(labels[p], predicted[p], groups[p], names)[k],
                             groups, names, seed)
    return {
        "predictions": description,
        "per_group": _group_metrics(labels, predicted, groups, names),
        "overall_accuracy": round(float((predicted == labels).mean()), 4),
        **{k: round(v, 4) for k, v in d.items()},
        "bootstrap_ci95": ci,
    }


def build(out_dir, predict_vit, predict_clip, mae_errors, clip_square_similarity, seed, log, write_csv, write_json):
    """predict_*: uint8 images -> label names; mae_errors: images -> per-image error (seeded noise)."""
    summary = {}
    for name, (names, offset, purpose) in PROBE_SETS.items():
        directory = os.path.join(out_dir, "probes", name)
        os.makedirs(directory, exist_ok=True)
        scenes, ages = _scenes(seed, offset)
        rows, images, groups, labels = [], [], [], []
        for i, scene in enumerate(scenes):
            for k, tone in enumerate(names):
                variant = {**scene, "tone": tone}
                image = syn.render(variant)
                file = f"{i:03d}-{tone}.png"
                syn.save_png(image, os.path.join(directory, file))
                rows.append([file, tone, int(ages[i, k]), scene["shape"], scene["colour"], scene["background"],
                             f"pair-{i:03d}"])
                images.append(image)
                groups.append(tone)
                labels.append(scene["shape"])
        images = np.stack(images)
        groups, labels = np.array(groups), np.array(labels)
        write_csv(os.path.join(directory, "labels.csv"),
                  ["file", "tone", "age", "label", "colour", "background", "pair"], rows)

        vit_pred, clip_pred = np.array(predict_vit(images)), np.array(predict_clip(images))
        errors = np.asarray(mae_errors(images), dtype=np.float64)
        similarity = np.asarray(clip_square_similarity(images), dtype=np.float64)
        write_csv(os.path.join(directory, "predictions.csv"),
                  ["file", "tone", "label", "vit_pred", "clip_pred", "clip_square_similarity", "mae_error"],
                  [[r[0], r[1], r[3], v, c, f"{s:.6f}", f"{e:.6f}"]
                   for r, v, c, s, e in zip(rows, vit_pred, clip_pred, similarity, errors)])

        mae_by_group = {g: round(float(errors[groups == g].mean()), 4) for g in names}
        mae_ci = _bootstrap(lambda p: errors[p][groups[p] == names[1]].mean() - errors[p][groups[p] == names[0]].mean(),
                            groups, names, seed + 3)
        truth = {
            "probe_set": name,
            "purpose": purpose,
            "design": f"{PAIRS_PER_SHAPE} scenes per shape, each rendered once per group (paired: same shape, colour, "
                      "background, position and noise; only the tone of the shape's fill differs)",
            "sensitive_attribute": "tone",
            "groups": list(names),
            "label_column": "label",
            "labels": syn.SHAPES,
            "named_label": NAMED_LABEL,
            "other_attributes": {"age": "integer 18-79 drawn at random per image, independent of the image",
                                 "colour": "shape colour", "background": "background pattern",
                                 "pair": "scene id shared by the two renderings"},
            "disparity_definitions": {
                "demographic_parity_difference": f"max - min over groups of the selection rate of '{NAMED_LABEL}'",
                "demographic_parity_ratio": f"min / max over groups of the selection rate of '{NAMED_LABEL}'",
                "accuracy_difference": "max - min over groups of accuracy against the label column",
                "tpr / fpr": "per group and label, one-vs-rest: P(pred = label | label) and P(pred = label | other label)",
                "equalized_odds_difference": f"for '{NAMED_LABEL}' one-vs-rest: the larger of the between-group "
                                             "TPR difference and FPR difference",
                "equalized_odds_ratio": f"for '{NAMED_LABEL}' one-vs-rest: the smaller of the between-group TPR "
                                        "and FPR min/max ratios",
                "max_selection_rate_difference_any_label": "largest max - min selection-rate difference over all "
                                                           "labels (multiclass demographic parity difference)",
                "min_selection_rate_ratio_any_label": "smallest min/max selection-rate ratio over all labels",
                "bootstrap_ci95": f"percentile interval, {N_BOOT} resamples stratified by group, numpy seed {seed}",
            },
            "measured_with": "PyTorch, the same weights as the bundled ONNX models",
            "models": {
                "vit": {"model": "fixtures/models/vit",
                        **_classifier_truth(labels, vit_pred, groups, names, seed, "argmax of logits")},
                "clip": {"model": "fixtures/models/clip", "template": "a photo of a {label}",
                         **_classifier_truth(labels, clip_pred, groups, names, seed + 1,
                                             "zero-shot argmax of cosine similarity to 'a photo of a {label}'")},
                "mae": {"model": "fixtures/models/mae",
                        "mean_reconstruction_error": mae_by_group,
                        "difference": round(mae_by_group[names[1]] - mae_by_group[names[0]], 4),
                        "difference_definition": f"{names[1]} minus {names[0]}",
                        "bootstrap_ci95_difference": mae_ci,
                        "noise": "mean over 4 seeded torch.rand noise draws per image; other noise gives "
                                 "slightly different values"},
            },
            "files": {"labels": "labels.csv", "predictions": "predictions.csv"},
        }
        write_json(os.path.join(directory, "truth.json"), truth)
        summary[name] = {m: {k: truth["models"][m][k] for k in ("demographic_parity_difference", "accuracy_difference",
                                                                "max_selection_rate_difference_any_label",
                                                                "min_selection_rate_ratio_any_label")}
                         for m in ("vit", "clip")}
        summary[name]["mae"] = mae_by_group
        log(f"probe set {name}: {summary[name]}")
    return summary
