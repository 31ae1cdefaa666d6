"""The command line: choose settings on validation entities, train a DAS rotation on a table of entities,
and evaluate a saved one.

    python -m dascourse select --attribute country --layers 8,12,16 --k 1,4,16,64,256 --out sweep.csv
    python -m dascourse train --attribute country --layer 12 --k 256 --out rot.pt
    python -m dascourse evaluate --rotation rot.pt [--entities NEW.csv --split all]
    python -m dascourse report --entities MINE.csv --attribute country --keep continent --out DIR [--quick]

train keeps the facts the model knows, holds out a fifth of the entities (pairs.split_by_city, seeded by
--split-seed), trains DAS on pairs of the others (multi-task with --keep; R_k's start and the batches
seeded by --seed) and saves the rotation with its metadata, the held-out entities included. select
(selection.py) scores configurations on a validation split of the training entities only, and chooses as the
chapters do: the smallest k whose Cause the validation pairs cannot tell from the best k's (paired interval),
or with --keep the best Disentangle (selection.choose_das, choose_mdas). evaluate prints
RAVEL's scores, with 95% intervals over entities, on the held-out entities (or any entities the rotation
was not trained on), and the same scores of two controls on the same pairs -- full patching (h' = h_source)
and a random subspace of the rotation's k -- each with its paired difference to the rotation
(metrics.score_differences). A readable table, warnings and progress bars go to stderr, one JSON object to
stdout; bad input gives one line `error: ...` on stderr and exit status 2.
"""
import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from .files import atomic_open
from .baselines import random_subspaces
from .entities import (check_columns, few_entities_warning, known_rows, load_entities, require_entities,
                       template_for)
from .interventions import FullPatch, check_k
from .metrics import format_interval, score_differences
from .model import ModelUnavailableError, load_model, set_seed, torch_module
from .pairs import make_pairs, split_by_city
from .patching import check_layer
from .selection import (TEST_FRAC, choose, configuration_means, configurations, grid_search,
                        make_validation_pairs, rotation_scores, split_three_ways)
from .storage import check_fits, load_intervention, save_intervention
from .settings import course_settings
from .train import TrainSettings, train_das


def train(args):
    table = load_entities(args.entities)
    keep = _keep(args, table)
    if Path(args.out).is_dir():
        raise ValueError(f"--out {args.out} is a folder: give a file name, e.g. {Path(args.out) / 'rotation.pt'}.")
    templates = _templates(table, [args.attribute, *keep])
    model = load_model(args.model)
    check_layer(model, args.layer)
    check_k(args.k, model.config.hidden_size)
    set_seed(args.seed)
    facts, skipped = known_rows(model, table, args.attribute, keep, templates)
    require_entities(facts, 3, args.attribute, args.entities, "to train on two and hold one out")
    train_rows, test_rows, unseen_rows = split_by_city(facts, TEST_FRAC, args.split_seed, attribute=args.attribute)
    pairs = make_pairs(model, train_rows, attribute=args.attribute)
    if len(pairs) == 0:
        raise ValueError(f"The {len(train_rows)} training entities of {args.entities or 'the city table'} all share one "
                         f"{args.attribute!r} (first token): add entities with other values.")
    warning = few_entities_warning(len(train_rows), args.entities)
    if warning:
        print(warning, file=sys.stderr)
    settings = TrainSettings(steps=args.steps, lr=args.lr, batch_size=args.batch_size, seed=args.seed, keep=tuple(keep),
                             attribute=args.attribute, template=templates)
    rotation, losses = train_das(model, pairs, args.layer, args.k, settings=settings)
    held_out = [*test_rows["city"], *unseen_rows["city"]]
    save_intervention(args.out, rotation, model=model.name, layer=args.layer, attribute=args.attribute, keep=keep,
                  templates=templates, steps=args.steps, lr=args.lr, batch_size=args.batch_size, seed=args.seed,
                  split={"test_frac": TEST_FRAC, "seed": args.split_seed, "train": list(train_rows["city"]),
                         "held_out": held_out})
    return {"out": args.out, "model": model.name, "layer": args.layer, "k": args.k, "attribute": args.attribute,
            "seed": args.seed, "split_seed": args.split_seed,
            "keep": keep, "n_rows": len(table), "skipped_unknown": skipped, "n_train_entities": len(train_rows),
            "n_held_out_entities": len(held_out), "n_train_pairs": len(pairs),
            "loss_first_10": _mean(losses[:10]), "loss_last_10": _mean(losses[-10:])}


def evaluate(args):
    rotation, meta = load_intervention(args.rotation)  # a corrupt file fails here, before the model loads
    missing = [key for key in ("model", "layer", "attribute", "templates", "split") if key not in meta]
    if missing:
        raise ValueError(f"{args.rotation} lacks the metadata {missing} that `python -m dascourse train` records: "
                         f"evaluate it in Python with dc.scores (import dascourse as dc), or train it with the command line.")
    if args.model is not None:
        check_fits(args.rotation, meta, model_name=args.model)
    table = load_entities(args.entities)
    where = args.entities or "the city table"
    attribute = meta["attribute"]
    check_columns(table, [attribute], args.entities)
    others = [a for a in table.columns[1:] if a != attribute]
    templates = _templates(table, table.columns[1:], meta["templates"])
    trained = table["city"].isin(meta["split"]["train"])
    if args.split == "all":  # every entity the rotation never saw
        rows = table[~trained]
        if rows.empty:
            raise ValueError(f"Every entity of {where} is one the rotation was trained on: add new entities to score.")
    else:
        entities = meta["split"]["held_out" if args.split == "held-out" else "train"]
        rows = table[table["city"].isin(entities)]
        if rows.empty:
            raise ValueError(f"None of the rotation's {len(entities)} {args.split} entities is in {where}: evaluate on "
                             f"the table it was trained on, or score new entities with --split all.")
    model = load_model(meta["model"])
    check_fits(args.rotation, meta, model.name, model.config.hidden_size)
    rotation.to(torch_module(model).device)
    # Cause counts every entity whose target attribute the model knows; Isolate of a, those whose a it also
    # knows (known_rows blanks the others): no score waits for an entity to be known for every column.
    facts, skipped = known_rows(model, rows, attribute, others, templates)
    require_entities(facts, 2, attribute, where, f"to score the rotation ({len(rows)} {args.split} entities)")
    pairs = make_pairs(model, facts, n=args.pairs, seed=0, attribute=attribute)
    if len(pairs) == 0:
        raise ValueError(f"The {len(facts)} entities of {where} the model knows all share one {attribute!r} (first "
                         f"token), so no pair can change it: add entities with other values.")
    result = rotation_scores(model, pairs, meta["layer"], rotation, attribute, others, templates, args.pairs)
    d, k = model.config.hidden_size, meta["k"]
    controls = {}
    for name, swap in {"full_patch": FullPatch(), "random_subspace": random_subspaces(d, k, [args.control_seed])[
                       args.control_seed]}.items():  # forward only, on the rotation's pairs and Isolate samples
        control = rotation_scores(model, pairs, meta["layer"], swap.to(torch_module(model).device), attribute,
                                  others, templates, args.pairs)
        controls[name] = {**_scores_only(control), "rotation_minus_control": score_differences(result, control)}
    controls["random_subspace"]["seed"] = args.control_seed
    warnings = control_warnings(k, d, result, controls["full_patch"], attribute)
    few = result.pop("few_pairs")
    report = {"rotation": args.rotation, "model": model.name, "layer": meta["layer"], "k": k,
              "attribute": attribute, "split": f"{args.split} entities", "split_seed": meta["split"].get("seed"),
              "n_entities": len(rows), **({"excluded_trained": int(trained.sum())} if args.split == "all" else {}),
              "skipped_unknown": skipped, "n_entities_known": len(facts), **_rounded(_scores_only(result)),
              "few_pairs": bool(few), "few_pairs_for": few, "controls": _rounded(controls), "warnings": warnings}
    print(score_table_text(result, controls, k), file=sys.stderr)
    for warning in warnings:
        print("warning: " + warning, file=sys.stderr)
    return report


def _scores_only(result):
    """A rotation_scores result without the pairs and per-pair hits it rests on (not JSON; kept for
    score_differences) and without few_pairs (the same for every swap on the same pairs)."""
    return {key: value for key, value in result.items() if key not in ("scored", "correct", "few_pairs")}


def control_warnings(k, d, result, full_patch, attribute):
    """What a reader of evaluate's scores should know before trusting them (each a sentence):
    k/d above 1/4 (a large part of the stream: near full patching, whatever the subspace); Disentangle
    whose paired difference to full patching's has an interval that is not above 0 (no better than
    patching everything); Disentangle whose interval is not above 0.5, what doing nothing scores (Cause 0,
    Isolate 1)."""
    warnings = []
    if k / d > 1 / 4:
        warnings.append(f"k = {k} is {k / d:.0%} of the hidden size d = {d} (above 1/4): such a subspace is near "
                        f"full patching, so its Cause says little about where {attribute} "
                        f"lives; compare with the controls, or train a smaller k.")
    if result["disentangle"] is not None:
        diff, lo, hi = full_patch["rotation_minus_control"]["disentangle"]
        if lo <= 0:
            warnings.append(f"Disentangle {result['disentangle']:.2f} does not beat full patching's "
                            f"{full_patch['disentangle']:.2f}: their paired difference {diff:+.2f} [{lo:+.2f}, "
                            f"{hi:+.2f}] is not above 0.")
        lo, hi = result["disentangle_ci"]
        if lo <= 0.5:
            warnings.append(f"Disentangle {result['disentangle']:.2f} [{lo:.2f}, {hi:.2f}] is not above 0.5, what "
                            f"doing nothing scores (Cause 0, Isolate 1).")
    return warnings


def score_table_text(result, controls, k):
    """evaluate's scores for reading: one line per swap (Cause, Isolate per kept attribute, Disentangle, each
    with its 95% entity interval), and under each control the rotation minus it with its paired interval."""
    kept = [a for a in (result["isolate"] or {}) if a != "mean"]
    names = ["cause", *kept] + (["disentangle"] if kept else [])
    n = result["n_entities_scored"]

    def cells(scores):
        values = [(scores["cause"], scores["cause_ci"])] + [(scores["isolate"][a], scores["isolate_ci"][a]) for a in kept]
        values += [(scores["disentangle"], scores["disentangle_ci"])] if kept else []
        return [format_interval(v, lo, hi, n_entities=n.get(name, n["cause"])) for (v, (lo, hi)), name in
                zip(values, names)]

    def differences(minus):
        values = [minus["cause"], *(minus["isolate"][a] for a in kept)] + ([minus["disentangle"]] if kept else [])
        return [format_interval(*value) for value in values]

    rows = [[f"rotation (k={k})", *cells(result)]]
    for name, label in (("full_patch", "full patching"), ("random_subspace", f"random subspace (k={k})")):
        rows += [[label, *cells(controls[name])],
                 [f"  rotation - {label.split(' (')[0]}", *differences(controls[name]["rotation_minus_control"])]]
    header = ["", "Cause", *(f"Isolate {a}" for a in kept)] + (["Disentangle"] if kept else [])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows])


def select(args):
    table = load_entities(args.entities)
    where = args.entities or "the city table"
    keep = _keep(args, table)
    layers, ks, seeds = (_numbers(getattr(args, name), int, flag) for name, flag in
                         (("layers", "--layers"), ("k", "--k"), ("seeds", "--seeds")))
    lrs, batch_sizes = _numbers(args.lr, float, "--lr"), _numbers(args.batch_size, int, "--batch-size")
    if Path(args.out).is_dir():
        raise ValueError(f"--out {args.out} is a folder: give a file name, e.g. {Path(args.out) / 'sweep.csv'}.")
    templates = _templates(table, [args.attribute, *keep])
    model = load_model(args.model)
    for layer in layers:
        check_layer(model, layer)
    for k in ks:
        check_k(k, model.config.hidden_size)
    facts, skipped = known_rows(model, table, args.attribute, keep, templates)
    require_entities(facts, 7, args.attribute, where, "to hold out a fifth, then validate on a fifth of the rest")
    fit, val, held_out = split_three_ways(facts, args.attribute, args.split_seed)
    fit_pairs, val_pairs = make_validation_pairs(model, fit, val, args.attribute, args.pairs, where)
    start = time.time()
    rows, pairs = grid_search(model, fit_pairs, val_pairs, configurations(layers, ks, lrs, batch_sizes), seeds,
                              args.steps, args.attribute, keep, templates, args.pairs)
    with atomic_open(args.out, "w") as f:  # a sweep killed half-way leaves no half-written CSV
        rows.to_csv(f, index=False)
    chosen = choose(rows, pairs, keep)
    return {"out": args.out, "chosen": chosen, "rule": chosen["rule"], "attribute": args.attribute, "keep": keep,
            "split_seed": args.split_seed, "n_fit_entities": len(fit), "n_val_entities": len(val),
            "n_held_out_entities": len(held_out), "n_fit_pairs": len(fit_pairs), "n_val_pairs": len(val_pairs),
            "skipped_unknown": skipped, "seconds": round(time.time() - start, 1),
            "configurations": configuration_means(rows), "pairs": pairs}


def report(args):
    from .report import run_report  # matplotlib and the report's helpers load only for this command

    table = load_entities(args.entities)
    keep = _keep(args, table)
    if Path(args.out).is_file():
        raise ValueError(f"--out {args.out} is a file: give a folder, e.g. {Path(args.out).with_suffix('')}_report.")
    model = load_model(args.model)
    result = run_report(model, table, args.attribute, keep, args.out, "quick" if args.quick else "full",
                        args.entities or "the city table", log=lambda text: print(text, file=sys.stderr, flush=True))
    return {"out": str(Path(args.out) / "report.html"), "method": result["method"], "layer": result["layer"],
            "k": result["k"], "held_out": result["held_out"], "verdict": result["verdict"]}


def _keep(args, table):
    """--keep as a list of columns, checked: --attribute and each kept column exist, and --attribute is not kept."""
    keep = [a for a in args.keep.split(",") if a]
    check_columns(table, [args.attribute, *keep], args.entities)
    if args.attribute in keep:
        raise ValueError(f"--keep lists {args.attribute!r}, the attribute whose value the subspace should carry: "
                         f"keep only other columns.")
    return keep


def _numbers(text, kind, flag):
    """'8,12,16' -> [8, 12, 16]; a ValueError naming the flag otherwise."""
    try:
        values = [kind(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        values = []
    if not values:
        raise ValueError(f"{flag} {text!r}: give comma-separated {'integers' if kind is int else 'numbers'}, "
                         f"e.g. {flag} {'8,12,16' if kind is int else '3e-3,1e-2'}.")
    return values


def _templates(table, attributes, recorded=None):
    """One prompt per attribute -- the one the rotation was trained with when recorded, else
    template_for -- as the dict that every helper takes as `template` (prompts.get_template)."""
    recorded = recorded or {}
    return {a: recorded.get(a) or template_for(table, a) for a in attributes}


def _rounded(result):
    """Scores to 4 decimals (counts stay integers), nested dicts included."""
    if isinstance(result, dict):
        return {key: _rounded(value) for key, value in result.items()}
    if isinstance(result, (tuple, list)):  # an interval (lo, hi)
        return [_rounded(value) for value in result]
    return round(result, 4) if isinstance(result, float) else result


def _mean(values):
    return round(float(np.mean(values)), 4) if values else None


# The --help epilogue of select, evaluate and report: what a low Isolate can and cannot mean (chapter 6).
ISOLATE_NOTE = ("Isolate of a column other than --attribute assumes the model looks that column up beside "
                "--attribute (entity -> {attribute, column}). If it computes the column from the attribute (city -> "
                "country -> continent), a faithful swap of the attribute should move the column to the source's "
                "value, and a low Isolate of it is not by itself entanglement. On the course's cities, after a "
                "country swap the continent answer is the source's far more often than the base's on held-out pairs "
                "whose continents differ, which fits city -> country -> continent; full patching, which moves the "
                "whole city, does the same, so those counts cannot tell a faithful country swap from one that moves "
                "the city (chapter 6, 'Does the continent follow the country?'; dascourse/data/entanglement.csv). "
                "Ask the same question of any column your attribute determines: "
                "dc.diagnostics.answer_origins_after counts base, source and neither answers.")


def parser():
    p = argparse.ArgumentParser(prog="python -m dascourse", description=__doc__.split("\n\n")[0])
    course = course_settings()  # the defaults: the course's committed settings (`make selection`)
    commands = p.add_subparsers(dest="command", required=True)
    entities_help = ("CSV with a header row: the entity's name first, then one column per attribute "
                     "(default: the course's city table, city,country,continent,language)")

    t = commands.add_parser("train", help="train a rotation and save it with its metadata",
                            description="Train DAS on the facts the model knows; write the rotation to --out.")
    t.add_argument("--entities", metavar="FILE.csv", help=entities_help)
    t.add_argument("--attribute", default="country", help="the column whose value the subspace should carry")
    t.add_argument("--layer", type=int, required=True, help="decoder layer whose output is patched (0-based)")
    t.add_argument("--k", type=int, required=True, help="dimension of the subspace (1 <= k <= hidden size)")
    t.add_argument("--out", required=True, metavar="ROTATION.pt", help="where to save the rotation")
    t.add_argument("--model", help="model name or folder (default: SmolLM2-135M-Instruct, offline)")
    t.add_argument("--steps", type=int, default=course["steps"],
                   help=f"training steps (default {course['steps']}, the course's settings)")
    t.add_argument("--lr", type=float, default=course["lr"],
                   help=f"Adam learning rate (default {course['lr']}, the course's settings)")
    t.add_argument("--batch-size", type=int, default=course["batch_size"],
                   help=f"pairs per step (default {course['batch_size']}, the course's settings, as in chapter 5)")
    t.add_argument("--seed", type=int, default=0, help="seeds the start of R_k and the batches (default 0)")
    t.add_argument("--split-seed", type=int, default=0,
                   help="seeds which entities are held out (default 0, as select's --split-seed; before 0.2.0 "
                        "--seed seeded both: pass --split-seed S --seed S for that), recorded in the rotation file")
    t.add_argument("--keep", default="", metavar="A,B",
                   help="columns to keep unchanged while training (multi-task DAS), e.g. continent,language")
    t.set_defaults(run=train)

    e = commands.add_parser("evaluate", help="print Cause, Isolate and Disentangle of a saved rotation and of two "
                                             "controls as JSON",
                            description="Score a saved rotation on the entities it was not trained on (the ones its "
                            "file records as held out), with full patching and a random subspace of its k on the same "
                            "pairs, each with its paired difference to the rotation.", epilog=ISOLATE_NOTE)
    e.add_argument("--rotation", required=True, metavar="ROTATION.pt", help="a file written by train")
    e.add_argument("--entities", metavar="FILE.csv", help=entities_help)
    e.add_argument("--model", help="must be the model the rotation was trained on (default: that model)")
    e.add_argument("--split", choices=["held-out", "train", "all"], default="held-out",
                   help="score on the held-out entities (default), on the training entities, or on every entity of "
                        "--entities the rotation was not trained on (all: e.g. a table of new entities)")
    e.add_argument("--pairs", type=int, default=256,
                   help="sample of pairs scored for Cause, and for Isolate per other attribute (default 256)")
    e.add_argument("--control-seed", type=int, default=0, help="seeds the random subspace control (default 0)")
    e.set_defaults(run=evaluate)

    s = commands.add_parser("select", help="choose layer, k, lr and batch size on validation entities",
                            description="Train every configuration and seed on a part of the training entities, "
                            "score it on the rest (validation), never on the held-out entities; one CSV row per "
                            "configuration and seed (scores, intervals and per-pair hits), then one JSON line "
                            "naming the choice and its rule: the smallest k whose mean validation Cause minus the "
                            "best k's has a paired 95% interval reaching 0, at the best layer (with --keep: the "
                            "highest mean validation Disentangle).", epilog=ISOLATE_NOTE)
    s.add_argument("--entities", metavar="FILE.csv", help=entities_help)
    s.add_argument("--attribute", default="country", help="the column whose value the subspace should carry")
    s.add_argument("--keep", default="", metavar="A,B",
                   help="columns to keep unchanged (multi-task DAS); then the choice is the highest Disentangle")
    for flag, key, metavar, what in (("--layers", "layer", "8,12,16", "decoder layers"), ("--k", "k", "1,4,16,64",
                                     "subspace dimensions"), ("--lr", "lr", "3e-3,1e-2", "Adam learning rates"),
                                     ("--batch-size", "batch_size", "16,32", "pairs per step")):
        s.add_argument(flag, default=str(course[key]), metavar=metavar,
                       help=f"{what} to try (default {course[key]}, the course's settings)")
    s.add_argument("--steps", type=int, default=course["steps"],
                   help=f"training steps of every run (default {course['steps']}, the course's settings)")
    s.add_argument("--seeds", default="0", metavar="0,1,2", help="seeds of R_k's start and the batches (default 0)")
    s.add_argument("--split-seed", type=int, default=0,
                   help="seeds the held-out split (as `train --split-seed`) and the validation split (default 0)")
    s.add_argument("--pairs", type=int, default=256,
                   help="validation pairs scored for Cause, and for Isolate per kept attribute (default 256)")
    s.add_argument("--model", help="model name or folder (default: SmolLM2-135M-Instruct, offline)")
    s.add_argument("--out", required=True, metavar="SWEEP.csv", help="where to write one row per configuration and seed")
    s.set_defaults(run=select)

    r = commands.add_parser("report", help="audit a table, choose layer and k, score held-out entities against "
                                           "every control, and write DIR/report.html and report.json",
                            description="Does the model hold --attribute of your entities in a small subspace "
                            "(apart from --keep)? Audits the table, chooses layer and k on validation entities as the "
                            "chapters do, scores held-out entities against full patching, random subspaces, PCA and "
                            "learned masks with paired differences, and writes a report with a verdict. Stopped, "
                            "it resumes from DIR/cache.", epilog=ISOLATE_NOTE)
    r.add_argument("--entities", metavar="FILE.csv", help=entities_help)
    r.add_argument("--attribute", default="country", help="the column whose value the subspace should carry")
    r.add_argument("--keep", default="", metavar="B,C",
                   help="columns that should stay unchanged: then multi-task DAS, chosen by Disentangle")
    r.add_argument("--out", required=True, metavar="DIR", help="folder for report.html, report.json and the cache")
    r.add_argument("--quick", action="store_true",
                   help="one layer, one seed, 30 steps, 64 pairs: a first look in minutes (and the tests' mode)")
    r.add_argument("--model", help="model name or folder (default: SmolLM2-135M-Instruct, offline)")
    r.set_defaults(run=report)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        # stdout carries the JSON alone: what the library prints (e.g. the model's first-time setup) goes to stderr.
        with contextlib.redirect_stdout(sys.stderr):
            result = args.run(args)
    except (ValueError, OSError, ModelUnavailableError) as err:
        # One line, no traceback: the messages already name the problem and the fix.
        print("error: " + " ".join(str(err).split()), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; nothing was written.", file=sys.stderr)
        return 130
    print(json.dumps(result))
    return 0
