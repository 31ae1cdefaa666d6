"""The table on the page "How the settings were chosen", from the committed grid (`make selection`).

Reads dascourse/data/course_selection.{csv,json} (dc.load_grid("selection")) and writes
book/generated/selection_table.md, which book/settings.md includes: the run's facts, the two rules and
choices as the JSON states them, then per layer one row per (method, k) -- DAS, multi-task DAS (MDAS), a
random subspace, full patching -- with, on the validation pairs:

    Cause, Isolate, Disentangle   of the seed-averaged per-pair hits, each with its 95% entity interval
                                  (dascourse.selection.grid_scores)
    Cause of each seed            min-max over the seeds (the spread the intervals above do not show)
    minus the best DAS k          Cause minus the layer's best DAS k's, paired 95% interval (dc.grid_difference)

The chosen DAS and MDAS rows are bold. A repository tool (run from the repository root).

    python -m tools.selection_report          # rewrite the table
    python -m tools.selection_report --check  # exit 1 if the committed table disagrees with the grid
"""
import re
import sys
from pathlib import Path

import dascourse as dc
from dascourse.selection import grid_scores

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "book" / "generated" / "selection_table.md"
LOG = ROOT / "dascourse" / "data" / "course_selection_log.txt"  # the grid's log: each stack's training time
METHODS = ("DAS", "MDAS", "random subspace", "full patching")
BUDGET = 3600  # seconds on 2 CPU cores: issue 26's budget for the grid


def trained_seconds(log):
    """Seconds of every stack's training in the grid's log ("trained DAS at layer 8, 15 runs: 1621 s" lines),
    summed over the command's runs: a rerun loads cached stacks, so its own clock misses them."""
    return sum(int(s) for s in re.findall(r"^trained .*: (\d+) s$", log, re.M))


def facts(rows, summary, seconds_all, log=""):
    """The run in one paragraph: what was trained, on what, scored on what, and how long it took."""
    count, trained = rows.groupby("method").size(), trained_seconds(log)
    kept = [name for name in summary["pairs"] if name != "cause"]
    isolate = " and ".join(f"{len(summary['pairs'][a])} pairs for {a}" for a in kept)
    return (f"Grid of {count.get('DAS', 0)} DAS runs (layers {_list(summary['layers'])}, k "
            f"{_list(summary['das_ks'])}, seeds {_list(summary['seeds'])}) and {count.get('MDAS', 0)} multi-task DAS "
            f"runs (layers {_list(summary['mdas_layers'])}, k {_list(summary['mdas_ks'])}, seeds "
            f"{_list(summary['mdas_seeds'])}, keeping {_list(summary['keep'])}), each {summary['steps']} steps of "
            f"{summary['batch_size']} pairs at lr {summary['lr']:g}, trained on {summary['n_fit_pairs']} pairs of "
            f"{summary['n_fit_entities']} fit cities and scored on {summary['n_val_pairs']} pairs of "
            f"{summary['n_val_entities']} validation cities (Isolate on {isolate}); the "
            f"{summary['n_held_out_entities']} held-out cities were not used to choose. The command's last run "
            f"took {summary['seconds'] / 60:.0f} min on 2 CPU cores to the choice ({summary['seconds']:.0f} s) and "
            f"{seconds_all / 60:.0f} min with chapter 6's k curve on held-out cities ({seconds_all:.0f} s)"
            + (f", reading back the {summary['rows_read_back']} rows earlier runs had scored (scoring is "
               f"deterministic) and training only the stacks its cache lacked" if summary.get("rows_read_back") else "")
            + (f"; training alone, every stack counted once (the grid's log, {LOG.name}, over every run that "
               f"filled the cache this run read), took {trained / 60:.0f} min ({trained} s)" if trained else "")
            + f". Budget: {BUDGET // 60} min; {'kept' if max(seconds_all, trained) <= BUDGET else 'exceeded'}.")


def choices(summary):
    """The two rules and what they chose, in the JSON's words."""
    das, mdas = summary["das"], summary["mdas"]
    diff = dc.format_interval(*das["minus_best"])
    edge = "on the grid's edge: extend the grid" if mdas["on_edge"] else "not on the grid's edge"
    return [f"- **Plain DAS** (chapters 5-6), rule: {das['rule']}. Chosen: **layer {das['layer']}, k = {das['k']}** "
            f"(best k there: {das['best_k']}, mean Cause {das['best_mean_val_cause']:.2f}; k = {das['k']}'s Cause "
            f"{das['mean_val_cause']:.2f}, minus the best k's {diff}).",
            f"- **Multi-task DAS** (chapter 7), rule: {mdas['rule']}. Chosen: **layer {mdas['layer']}, "
            f"k = {mdas['k']}** (mean Disentangle {mdas['mean_val_disentangle']:.2f}; {edge})."]


def layer_table(scores, rows, summary, layer):
    """Markdown: one row per (method, k) at `layer`, the chosen DAS and MDAS rows bold."""
    das, mdas = summary["das"], summary["mdas"]
    mine = next(c for c in das["per_layer"] if c["layer"] == layer)
    at_layer = rows[rows.layer == layer]
    best = at_layer[(at_layer.method == "DAS") & (at_layer.k == mine["best_k"])]
    n_isolate = len({city for a, pairs in summary["pairs"].items() if a != "cause" for pair in pairs for city in pair})
    largest = " (the grid's largest)" if mine["best_k"] == max(summary["das_ks"]) else ""
    lines = [f"**Layer {layer}.** Best DAS k by mean Cause: {mine['best_k']}{largest}; the smallest k the validation pairs "
             f"cannot tell from it: {mine['k']} (Cause minus the best k's {dc.format_interval(*mine['minus_best'])}).",
             "", f"| method | k | Cause [95%] | Cause of each seed | Isolate [95%] | Disentangle [95%] | "
             f"Cause minus DAS k = {mine['best_k']} [paired 95%] |", "|:---|---:|:---|:---|:---|:---|:---|"]
    for method in METHODS:
        for r in scores[(scores.layer == layer) & (scores.method == method)].sort_values("k").itertuples():
            runs = at_layer[(at_layer.method == method) & (at_layer.k == r.k)]
            n = int(runs.n_entities.iloc[0])
            seeds = f"{r.cause_min:.2f}-{r.cause_max:.2f}" if r.n_seeds > 1 else "one seed"
            cells = [method, str(r.k), dc.format_interval(r.cause, r.cause_lo, r.cause_hi, n_entities=n), seeds,
                     dc.format_interval(r.isolate, r.isolate_lo, r.isolate_hi, n_entities=n_isolate),
                     dc.format_interval(r.disentangle, r.disentangle_lo, r.disentangle_hi),
                     "" if (method, r.k) == ("DAS", mine["best_k"])
                     else dc.format_interval(*dc.grid_difference(runs, best, summary))]
            if (method, layer, r.k) in (("DAS", das["layer"], das["k"]), ("MDAS", mdas["layer"], mdas["k"])):
                cells = [f"**{c}**" if c else c for c in cells]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def table_markdown(rows, summary, seconds_all, log=""):
    """Markdown: the facts, the rules and choices, then one table per layer."""
    scores = grid_scores(rows, summary["pairs"])
    lines = [facts(rows, summary, seconds_all, log), "", *choices(summary), "",
             "Each score is that of the per-pair hits averaged over the seeds, with a 95% interval from resampling "
             "validation cities (`dascourse.selection.grid_scores`); differences are paired (both methods scored "
             "on the same pairs, the same cities resampled: `dc.grid_difference`), and a difference whose interval "
             "holds 0 is one the validation pairs cannot tell. The random subspace is one draw (seed 0) per k; full "
             f"patching (k = d = {int(rows[rows.method == 'full patching'].k.iloc[0])}) replaces the whole stream."]
    for layer in summary["layers"]:
        lines += ["", *layer_table(scores, rows, summary, layer)]
    return "\n".join(lines) + "\n"


def _list(values):
    return ", ".join(str(v) for v in values)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    rows, summary = dc.load_grid("selection")
    log = LOG.read_text(encoding="utf-8") if LOG.exists() else ""
    text = table_markdown(rows, summary, dc.load_grid("ksweep")[1]["seconds"], log)
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is stale: run `python -m tools.selection_report`.")
            return 1
        return 0
    with dc.atomic_open(OUT, "w") as f:
        f.write(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
