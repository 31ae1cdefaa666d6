"""The command line: train a DAS rotation on a table of entities, and evaluate a saved one.

    python -m dascourse train --attribute country --layer 12 --k 256 --out rot.pt
    python -m dascourse evaluate --rotation rot.pt

train keeps the facts the model knows, holds out a fifth of the entities (pairs.split_by_city), trains
DAS on pairs of the others (multi-task with --keep) and saves the rotation with its metadata, the
held-out entities included. evaluate prints RAVEL's scores on those held-out entities. Progress bars go
to stderr and one JSON object to stdout; bad input gives one line `error: ...` on stderr and exit status 2.
"""
import argparse
import contextlib
import json
import sys
from pathlib import Path

import numpy as np
import torch

from .entities import check_columns, known_rows, load_entities, template_for
from .interventions import check_k
from .metrics import iia, scores
from .model import ModelUnavailableError, load_model, set_seed
from .pairs import answer_ids, make_pairs, patch_pairs, split_by_city
from .patching import check_layer
from .storage import check_fits, load_rotation, save_rotation
from .train import train_das

TEST_FRAC = 0.2  # the share of entities held out, as in chapter 5


def train(args):
    table = load_entities(args.entities)
    keep = [a for a in args.keep.split(",") if a]
    check_columns(table, [args.attribute, *keep], args.entities)
    if args.attribute in keep:
        raise ValueError(f"--keep lists {args.attribute!r}, the attribute being trained: keep only other columns.")
    if Path(args.out).is_dir():
        raise ValueError(f"--out {args.out} is a folder: give a file name, e.g. {Path(args.out) / 'rotation.pt'}.")
    templates = _templates(table, [args.attribute, *keep])
    model = load_model(args.model)
    check_layer(model, args.layer)
    check_k(args.k, model.config.hidden_size)
    set_seed(args.seed)
    facts, skipped = known_rows(model, table, args.attribute, keep, templates)
    train_rows, test_rows, unseen_rows = split_by_city(facts, TEST_FRAC, args.seed, attribute=args.attribute)
    pairs = make_pairs(model, train_rows, attribute=args.attribute)
    rotation, losses = train_das(model, pairs, args.layer, args.k, args.steps, args.lr, args.batch_size,
                                 args.seed, keep=tuple(keep), attribute=args.attribute, template=templates)
    held_out = [*test_rows["city"], *unseen_rows["city"]]
    save_rotation(args.out, rotation, model=model.name, layer=args.layer, attribute=args.attribute, keep=keep,
                  templates=templates, steps=args.steps, lr=args.lr, batch_size=args.batch_size, seed=args.seed,
                  split={"test_frac": TEST_FRAC, "seed": args.seed, "train": list(train_rows["city"]),
                         "held_out": held_out})
    return {"out": args.out, "model": model.name, "layer": args.layer, "k": args.k, "attribute": args.attribute,
            "keep": keep, "n_rows": len(table), "skipped_unknown": skipped, "n_train_entities": len(train_rows),
            "n_held_out_entities": len(held_out), "n_train_pairs": len(pairs),
            "loss_first_10": _mean(losses[:10]), "loss_last_10": _mean(losses[-10:])}


def evaluate(args):
    rotation, meta = load_rotation(args.rotation)  # a corrupt file fails here, before the model loads
    missing = [key for key in ("model", "layer", "attribute", "templates", "split") if key not in meta]
    if missing:
        raise ValueError(f"{args.rotation} lacks the metadata {missing} that `python -m dascourse train` records: "
                         f"evaluate it in Python with dascourse.evaluate.scores, or train it with the command line.")
    if args.model is not None:
        check_fits(args.rotation, meta, model_name=args.model)
    table = load_entities(args.entities)
    attribute = meta["attribute"]
    check_columns(table, [attribute], args.entities)
    others = [a for a in table.columns[1:] if a != attribute]
    templates = _templates(table, table.columns[1:], meta["templates"])
    model = load_model(meta["model"])
    check_fits(args.rotation, meta, model.name, model.config.hidden_size)
    rotation.to(model._module.device)
    entities = meta["split"]["held_out" if args.split == "held-out" else "train"]
    rows = table[table["city"].isin(entities)]
    if rows.empty:
        raise ValueError(f"None of the rotation's {len(entities)} {args.split} entities is in {args.entities or 'the city table'}: "
                         f"evaluate on the table it was trained on.")
    # Cause and Isolate are scored on the same pairs, so an entity counts only if the model knows all
    # its attributes; how many were skipped for which attribute is reported, never dropped silently.
    facts, skipped = known_rows(model, rows, attribute, others, templates)
    facts = facts.dropna()
    pairs = make_pairs(model, facts, n=args.pairs, seed=0, attribute=attribute)
    with torch.no_grad():
        if others:
            result = scores(model, pairs, meta["layer"], rotation, attribute=attribute, keep=tuple(others),
                            template=templates, n_isolate=args.pairs, seed=0)
        else:  # a table with one attribute: nothing to isolate
            logits = patch_pairs(model, pairs, meta["layer"], rotation, attribute, templates)
            result = {"cause": iia(logits, answer_ids(model, pairs[f"source_{attribute}"])),
                      "isolate": None, "disentangle": None, "n_pairs": len(pairs)}
    return {"rotation": args.rotation, "model": model.name, "layer": meta["layer"], "k": meta["k"],
            "attribute": attribute, "split": f"{args.split} entities", "n_entities": len(rows),
            "skipped_unknown": skipped, "n_entities_known": len(facts), **_rounded(result)}


def _templates(table, attributes, recorded=None):
    """One prompt per attribute -- the one the rotation was trained with when recorded, else
    template_for -- as the dict that every helper takes as `template` (prompts.get_template)."""
    recorded = recorded or {}
    return {a: recorded.get(a) or template_for(table, a) for a in attributes}


def _rounded(result):
    """Scores to 4 decimals (counts stay integers), nested dicts included."""
    if isinstance(result, dict):
        return {key: _rounded(value) for key, value in result.items()}
    return round(result, 4) if isinstance(result, float) else result


def _mean(values):
    return round(float(np.mean(values)), 4) if values else None


def parser():
    p = argparse.ArgumentParser(prog="python -m dascourse", description=__doc__.split("\n\n")[0])
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
    t.add_argument("--steps", type=int, default=100, help="training steps (default 100)")
    t.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate (default 0.003)")
    t.add_argument("--batch-size", type=int, default=32, help="pairs per step (default 32, as in chapter 5)")
    t.add_argument("--seed", type=int, default=0, help="seeds the split, the start of R_k and the batches")
    t.add_argument("--keep", default="", metavar="A,B",
                   help="columns to keep unchanged while training (multi-task DAS), e.g. continent,language")
    t.set_defaults(run=train)

    e = commands.add_parser("evaluate", help="print Cause, Isolate and Disentangle of a saved rotation as JSON",
                            description="Score a saved rotation on the entities it was not trained on.")
    e.add_argument("--rotation", required=True, metavar="ROTATION.pt", help="a file written by train")
    e.add_argument("--entities", metavar="FILE.csv", help=entities_help)
    e.add_argument("--model", help="must be the model the rotation was trained on (default: that model)")
    e.add_argument("--split", choices=["held-out", "train"], default="held-out",
                   help="score on the held-out entities (default) or on the training entities")
    e.add_argument("--pairs", type=int, default=256,
                   help="sample of pairs scored for Cause, and for Isolate per other attribute (default 256)")
    e.set_defaults(run=evaluate)
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
