"""`python -m dascourse report`: does the model hold attribute A of your entities in a small subspace,
apart from B and C? One command that audits the table, chooses layer and k on validation entities the
chapters' way, scores the held-out entities against every control on the same pairs, and writes
DIR/report.html (figures and a verdict in words) and DIR/report.json (every number).

    audit     duplicates, empty cells, values held by one entity, the facts the model knows per column
    plan      fit / validation / held-out entities (selection.split_three_ways), the learning-curve warning,
              an estimate of the run time
    choose    a grid.Grid over layers x k x seeds on the fit entities, scored on the validation pairs:
              without --keep the smallest k that carries A (selection.choose_das), with --keep the highest
              Disentangle of multi-task DAS (selection.choose_mdas)
    evaluate  at the chosen layer, the k curve on held-out pairs (grid.curve_rows: DAS, MDAS, random
              subspaces, PCA, RAVEL's masks, full patching); the chosen method minus each control at its k,
              paired (grid_files.grid_difference); held-out entities whose A no training entity has, apart;
              the least natural variance inside span(R_k) against random subspaces (diagnostics.span_dormancy)

Runs are cached in DIR/cache: a stopped report resumes where it was; files are written atomically.
"""
import base64
import io
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .diagnostics import span_dormancy
from .entities import few_entities_warning, known_rows, require_entities, template_for
from .files import atomic_open
from .grid import Grid, curve_rows, pair_lists, result_row, validation_rows
from .grid_files import grid_difference
from .metrics import format_interval
from .pairs import make_pairs, split_by_city
from .prompts import make_prompt
from .selection import TEST_FRAC, choose_das, choose_mdas, grid_scores, split_three_ways

# (layers as fractions of the depth, ks, MDAS ks, seeds, steps, Cause pairs, Isolate pairs per attribute)
MODES = {"quick": dict(depths=(0.4,), ks=(1, 4, 16, 64), mdas_ks=(4, 16), seeds=(0,), steps=30, pairs=64, isolate=32,
                       sparsities=(0.1, 0.3)),
         "full": dict(depths=(0.27, 0.4, 0.53), ks=(1, 4, 16, 64, 256), mdas_ks=(4, 16, 64), seeds=(0, 1, 2),
                      steps=100, pairs=256, isolate=128, sparsities=(0.03, 0.1, 0.2, 0.3))}
# Seconds per run on 2 CPU cores (SmolLM2-135M, measured by tools/course_grid.py): a DAS run of 100 steps
# of 16 pairs, the same for MDAS (three loss terms), scoring one swap on 256 + 2 x 128 pairs.
SECONDS = dict(das_step=0.35, mdas_step=0.75, score=5.0)


def audit(table, attribute, keep):
    """What can go wrong before any training: {"rows", "duplicates": [names], "empty": {column: n},
    "single_values": {column: [values held by one entity]}, "n_values": {column: n}}."""
    columns = [attribute, *keep]
    counts = {c: table[c][table[c] != ""].value_counts() for c in columns}
    return {"rows": len(table), "duplicates": sorted(table["city"][table["city"].duplicated()].unique().tolist()),
            "empty": {c: int((table[c] == "").sum()) for c in columns},
            "n_values": {c: int(len(counts[c])) for c in columns},
            "single_values": {c: sorted(counts[c][counts[c] == 1].index.tolist()) for c in columns}}


def estimate_seconds(mode, n_layers_used, has_keep):
    """A rough run time on 2 CPU cores from SECONDS: training, then scoring validation and held-out rows."""
    m = MODES[mode]
    runs = len(m["ks"]) * len(m["seeds"]) * n_layers_used
    mdas_runs = len(m["mdas_ks"]) * len(m["seeds"]) * n_layers_used if has_keep else 0
    train = m["steps"] * (runs * SECONDS["das_step"] + mdas_runs * SECONDS["mdas_step"])
    scale = m["pairs"] / 256
    scored = runs + mdas_runs + n_layers_used * (len(m["ks"]) + 1) + 4 * len(m["ks"]) * len(m["seeds"])
    return train + len(m["sparsities"]) * len(m["seeds"]) * m["steps"] * SECONDS["das_step"] + \
        scored * SECONDS["score"] * scale


def natural_acts(model, table, layer, attributes, templates):
    """Unpatched h at `layer` at every token (padding left out) of every entity's prompt for each of
    `attributes`: [n, d], float64 -- the sample of natural states span_dormancy's Sigma is estimated from."""
    prompts = [make_prompt(e, a, templates) for a in attributes for e in table["city"]]
    acts = []
    for i in range(0, len(prompts), 32):
        batch = prompts[i:i + 32]
        mask = model.tokenizer(batch, return_tensors="pt", padding=True)["attention_mask"].bool()
        with torch.no_grad(), model.trace(batch):
            h = model.model.layers[layer].output.save()
        acts.append(h.detach().float()[mask.to(h.device)].cpu())
    return torch.cat(acts).double()


def score_texts(row, scores):
    """{score: (value, "value [lo, hi]")} from one row of selection.grid_scores (seed-averaged hits, entity
    intervals): Cause, and Isolate of each kept attribute."""
    return {s: (row[s], format_interval(row[s], row[f"{s}_lo"], row[f"{s}_hi"])) for s in scores}


def unseen_value_cause(grid, pairs, layer, swaps):
    """Cause on `pairs` whose source has a value no training entity has, for the chosen run's seeds: their
    seed-averaged hits with an entity interval (selection.grid_scores, as the held-out scores).
    Returns {"cause": (value, "value [lo, hi]"), "n_pairs"}."""
    results = [grid.score(pairs, layer, swap) for swap in swaps]
    rows = pd.DataFrame([result_row(result) for result in results])
    row = grid_scores(rows.assign(method="unseen"), pair_lists(results[0]), by=("method",)).iloc[0]
    return {**score_texts(row, ["cause"]), "n_pairs": len(pairs)}


def differences(curve, summary, method, k, scores):
    """The chosen method at k minus each control at (about) the same k, for every score: {control: {score: (d, lo, hi)}}."""
    chosen = curve[(curve.method == method) & (curve.k == k)]
    controls = {"random subspace": curve[(curve.method == "random subspace") & (curve.k == k)],
                "PCA of differences": curve[(curve.method == "PCA of differences") & (curve.k == k)],
                "full patching": curve[curve.method == "full patching"]}
    masks = curve[curve.method == "learned mask (DBM)"]
    if len(masks):  # the mask whose learnt size is nearest k on a log scale
        nearest = masks.iloc[int(np.argmin(np.abs(np.log((masks.k + 1) / (k + 1)))))]
        controls[f"learned mask (DBM, {int(nearest.k)} neurons)"] = masks[masks.k == nearest.k]
    other = "DAS" if method == "MDAS" else "MDAS"
    if len(curve[(curve.method == other) & (curve.k == k)]):
        controls[other] = curve[(curve.method == other) & (curve.k == k)]
    return {name: {s: grid_difference(chosen, runs, summary, s) for s in scores}
            for name, runs in controls.items() if len(runs)}


def verdict(attribute, keep, method, k, d, held, diffs, dormancy, warnings, unseen=None):
    """The reading in plain words, one sentence per finding, each with its number; unseen: unseen_value_cause's
    result, or None."""
    lines = [f"{method} at k = {k} of d = {d} moves the {attribute} on {held['cause'][1]} of held-out pairs."]
    for name, by_score in diffs.items():
        diff, lo, hi = by_score["cause"]
        if lo > 0:
            lines.append(f"That is {diff:.2f} [{lo:.2f}, {hi:.2f}] more than {name} on the same pairs.")
        elif hi < 0:
            lines.append(f"That is {-diff:.2f} less than {name} ({diff:+.2f} [{lo:+.2f}, {hi:+.2f}]).")
        else:
            lines.append(f"It cannot be told from {name} on Cause ({diff:+.2f} [{lo:+.2f}, {hi:+.2f}]).")
    scored = [a for a in keep if a in held]  # a kept attribute with no held-out pair to score is left out
    for a in scored:
        lines.append(f"It keeps the {a} on {held[a][1]} of held-out pairs whose {a} differs.")
    if scored and "full patching" in diffs:
        iso = [diffs["full patching"][a] for a in scored]
        if all(lo > 0 for _, lo, _ in iso):
            lines.append("It keeps the other attributes better than patching everything, which moves them all.")
    if unseen is not None:
        lines.append(f"Where the source's {attribute} is one no training entity has, it moves it on "
                     f"{unseen['cause'][1]} of {unseen['n_pairs']} pairs (a value the subspace never learnt to write).")
    if dormancy is not None:
        lines.append("The span holds a direction with less natural variance than 97.5% of random subspaces of the "
                     "same k: part of the patch may act where the model's own states never go (check it)."
                     if dormancy["below_random"] else
                     f"No direction in the span is unusually quiet (its least natural variance is "
                     f"{'above' if dormancy['least'] > dormancy['random'][2] else 'within'} random subspaces' "
                     f"range): no sign of a dormant direction, which rules out only that kind of illusion.")
    return lines + warnings


def figure_png(curve, method, k, keep):
    """Isolate (mean over kept attributes) against Cause, one line per method with k along it; base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    y_name = "isolate" if keep and "isolate" in curve else None  # no Isolate pair scored: Cause against k
    for name, runs in curve.groupby("method", sort=False):
        means = runs.groupby("k")[["cause"] + ([y_name] if y_name else [])].mean().reset_index()
        y = means[y_name] if y_name else means["k"]
        ax.plot(means["cause"], y, "o-", label=name)
        for _, row in means.iterrows():
            ax.annotate(str(int(row["k"])), (row["cause"], row[y_name] if y_name else row["k"]), fontsize=7,
                        xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("Cause (held-out pairs)")
    ax.set_ylabel("Isolate, mean over kept attributes" if y_name else "k")
    if not y_name:
        ax.set_yscale("log")
    ax.set_title(f"The k curve; chosen: {method} at k = {k}")
    ax.legend(fontsize=7)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def html(report, png):
    """report.html: the verdict, the figure, the tables; plain HTML, no scripts."""
    esc = lambda text: (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))  # noqa: E731
    rows = "".join(f"<tr><td>{esc(name)}</td>" + "".join(f"<td>{esc(v)}</td>" for v in values) + "</tr>"
                   for name, values in report["table"].items())
    header = "".join(f"<th>{esc(h)}</th>" for h in report["table_header"])
    plan = "".join(f"<li>{esc(key)}: {esc(value)}</li>" for key, value in report["plan"].items())
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>DAS report: {esc(report['attribute'])}</title>"
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}td,th{padding:2px 8px;"
            "border-bottom:1px solid #ddd;text-align:left}</style></head><body>"
            f"<h1>Does the model hold {esc(report['attribute'])} in a small subspace?</h1>"
            f"<h2>Verdict</h2><ul>{''.join(f'<li>{esc(line)}</li>' for line in report['verdict'])}</ul>"
            f"<h2>The k curve</h2><img alt='Isolate against Cause per method' src='data:image/png;base64,{png}'>"
            f"<h2>Scores on held-out pairs</h2><table><tr><th></th>{header}</tr>{rows}</table>"
            f"<h2>Plan</h2><ul>{plan}</ul><p>Every number: report.json.</p></body></html>")


def run_report(model, table, attribute, keep, out, mode="full", where="the table", log=print):
    """The whole report (see the module docstring); returns the report dict written to out/report.json."""
    start = time.time()
    out = Path(out)
    m = MODES[mode]
    facts_audit = audit(table, attribute, keep)
    if facts_audit["duplicates"]:
        raise ValueError(f"{where} names {facts_audit['duplicates'][:5]} more than once: keep one row per entity.")
    others = list(keep)
    templates = {a: template_for(table, a) for a in [attribute, *others]}
    facts, skipped = known_rows(model, table, attribute, others, templates)
    require_entities(facts, 10, attribute, where, "to fit, validate and hold out entities")
    fit, val, held_out_rows = split_three_ways(facts, attribute, 0)
    _, test_rows, unseen_rows = split_by_city(facts, TEST_FRAC, 0, attribute=attribute)
    n_layers, d = model.config.num_hidden_layers, model.config.hidden_size
    layers = sorted({max(1, min(n_layers - 2, round(f * n_layers))) for f in m["depths"]})
    ks = [k for k in m["ks"] if k < d]
    plan = {"mode": mode, "entities in the table": len(table), "known for " + attribute: len(facts),
            "fit entities": len(fit), "validation entities": len(val), "held-out entities": len(held_out_rows),
            "held-out entities with an unseen value": len(unseen_rows), "layers": layers, "k": ks,
            "seeds": list(m["seeds"]), "steps": m["steps"],
            "estimated minutes (2 CPU cores)": round(estimate_seconds(mode, len(layers), bool(keep)) / 60, 1)}
    warnings = [w for w in [few_entities_warning(len(fit) + len(val), where)] if w]
    log("plan: " + "; ".join(f"{key} {value}" for key, value in plan.items()))
    if len(test_rows) < 2:
        raise ValueError(f"Only {len(test_rows)} held-out entit{'y' if len(test_rows) == 1 else 'ies'} of {where} share "
                         f"a {attribute!r} value with a training entity, too few to score: {attribute!r} has almost "
                         f"one value per entity (e.g. a capital); choose an attribute whose values several entities "
                         f"share (continent, language), or add entities.")
    fit_pairs = make_pairs(model, fit, attribute=attribute)
    val_pairs = make_pairs(model, val, n=m["pairs"], seed=0, attribute=attribute)
    held_pairs = make_pairs(model, test_rows, n=m["pairs"], seed=0, attribute=attribute)
    for pairs, role in ((fit_pairs, "fit"), (val_pairs, "validation"), (held_pairs, "held-out")):
        if len(pairs) == 0:
            raise ValueError(f"No {role} pair of {where} changes {attribute!r}: add entities with other values.")
    grid = Grid(model, fit_pairs, dict(steps=m["steps"], lr=3e-3, batch_size=16), out / "cache", m["seeds"],
                attribute=attribute, keep=keep, isolate=others, template=templates, n_isolate=m["isolate"],
                log=lambda text: log(f"{text} ({(time.time() - start) / 60:.1f} of about "
                                     f"{plan['estimated minutes (2 CPU cores)']} min)"))
    mdas_ks = [k for k in m["mdas_ks"] if k < d] if keep else []
    val_rows, val_lists = validation_rows(grid, val_pairs, layers, ks, mdas_ks)
    val_rows = pd.DataFrame(val_rows)
    choice = choose_mdas(val_rows) if keep else choose_das(val_rows, val_lists)
    method, layer, k = ("MDAS" if keep else "DAS"), choice["layer"], choice["k"]
    curve, held_lists = curve_rows(grid, held_pairs, layer, ks, mdas_ks, m["sparsities"])
    curve, summary = pd.DataFrame(curve), {"pairs": held_lists}
    scores = ["cause", *[a for a in others if a in held_lists]]
    scored = grid_scores(curve, held_lists, by=("method", "k"))
    held = score_texts(scored[(scored.method == method) & (scored.k == k)].iloc[0], scores)
    diffs = differences(curve, summary, method, k, scores)
    runs = grid.runs(layer, mdas_ks if keep else ks, bool(keep))
    unseen = None
    if len(unseen_rows) and len(test_rows):
        unseen_pairs = make_pairs(model, test_rows, unseen_rows, n=m["pairs"], seed=0, attribute=attribute)
        if len(unseen_pairs):
            unseen = unseen_value_cause(grid, unseen_pairs, layer, [runs[(k, s)] for s in m["seeds"]])
    swap = runs[(k, m["seeds"][0])]
    acts = natural_acts(model, facts, layer, [attribute, *others], templates)
    dormancy = span_dormancy(acts, swap.R_k.detach().double().cpu()) if len(acts) >= 2 * d else None
    if k / d > 1 / 4:
        warnings.append(f"k = {k} is {k / d:.0%} of d = {d}: near full patching.")
    if len(held_pairs) < 50:
        warnings.append(f"Only {len(held_pairs)} held-out pairs: intervals are wide.")
    table_header = ["k", "Cause", *[f"Isolate {a}" for a in scores[1:]]]
    table_rows = {}
    for name in curve.method.unique():  # in the curve's order, k ascending
        for _, row in scored[scored.method == name].sort_values("k").iterrows():
            texts = score_texts(row, scores)
            table_rows[f"{name} (k={row.k})"] = [int(row.k), *(texts[s][1] for s in scores)]
    report = {"attribute": attribute, "keep": list(keep), "method": method, "layer": layer, "k": k, "d": d,
              "choice": choice, "plan": plan, "audit": facts_audit, "skipped_unknown": skipped,
              "held_out": {s: v[0] for s, v in held.items()}, "held_out_text": {s: v[1] for s, v in held.items()},
              "minus_controls": diffs, "unseen_value_cause": unseen["cause"][0] if unseen else None,
              "unseen_value_cause_text": unseen["cause"][1] if unseen else None,
              "unseen_value_n_pairs": unseen["n_pairs"] if unseen else 0, "dormancy": dormancy, "warnings": warnings,
              "seconds": round(time.time() - start, 1), "table_header": table_header, "table": table_rows,
              "validation_rows": val_rows.drop(columns=[c for c in val_rows if c.startswith("hits_")]).to_dict("records"),
              "curve_rows": curve.drop(columns=[c for c in curve if c.startswith("hits_")]).to_dict("records")}
    report["verdict"] = verdict(attribute, keep, method, k, d, held, diffs, dormancy, warnings, unseen)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_open(out / "report.json", "w") as f:
        json.dump(report, f, indent=1, default=float)
    with atomic_open(out / "report.html", "w") as f:
        f.write(html(report, figure_png(curve, method, k, keep)))
    log(f"wrote {out / 'report.html'} and report.json ({report['seconds'] / 60:.1f} min)")
    return report
