"""The table on the page "How the settings were chosen", from the committed sweep (`make selection`).

Reads dascourse/data/course_selection.{csv,json} and writes book/generated/selection_table.md, which
book/settings.md includes: one row per configuration, best first, with the mean validation Cause over
seeds and each seed's score with its 95% entity interval. A repository tool (run from the repository root).

    python -m tools.selection_report          # rewrite the table
    python -m tools.selection_report --check  # exit 1 if the committed table disagrees with the sweep
"""
import sys
from pathlib import Path

import dascourse as dc

OUT = Path(__file__).resolve().parents[1] / "book" / "generated" / "selection_table.md"


def table_markdown(rows, summary):
    """Markdown: the run's facts, then one row per configuration (best first)."""
    knobs = ["layer", "k", "lr", "batch_size"]
    lines = [f"Sweep of {len(rows)} runs ({len(rows.groupby(knobs))} configurations x "
             f"{rows.seed.nunique()} seeds, {rows.steps.iloc[0]} steps each) on {summary['n_fit_pairs']} pairs of "
             f"{summary['n_fit_entities']} training cities, scored on {summary['n_val_pairs']} pairs of "
             f"{summary['n_val_entities']} validation cities; the {summary['n_held_out_entities']} held-out cities "
             f"were not used. Run time: {summary['seconds'] / 60:.0f} minutes on 2 CPU cores.", "",
             "| layer | k | lr | batch | mean validation Cause | each seed: Cause [95% entity interval] |",
             "|---:|---:|---:|---:|---:|:---|"]
    for config in summary["configurations"]:
        runs = rows
        for key in knobs:
            runs = runs[runs[key] == config[key]]
        seeds = "; ".join(f"{r.val_cause:.2f} [{r.val_cause_lo:.2f}, {r.val_cause_hi:.2f}]"
                          for r in runs.sort_values("seed").itertuples())
        mark = "**" if config == summary["configurations"][0] else ""
        lines.append(f"| {mark}{config['layer']}{mark} | {mark}{config['k']}{mark} | {config['lr']:g} | "
                     f"{config['batch_size']} | {mark}{config['mean_val_cause']:.3f}{mark} | {seeds} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    text = table_markdown(*dc.course_selection())
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
