"""Plots shared by the chapters."""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def layer_position_heatmap(values, layers, labels, title, ax=None, label="p(source's country)"):
    """Heatmap of values [len(layers), len(labels)] in [0, 1]: one row per layer (layer 0 at the top),
    one column per token position."""
    ax = ax or plt.gca()
    image = ax.imshow(np.asarray(values), aspect="auto", cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(layers)), layers)
    ax.set_xlabel("token position patched")
    ax.set_ylabel("layer")
    ax.set_title(title)
    plt.colorbar(image, ax=ax, label=label)
    return ax


def k_curve_points(rows, summary):
    """The points of chapter 6's k curve, one per (method, k), from a grid file (`dc.load_grid("ksweep")`):

        Cause   = mean_i c_i                          c_i = pair i's Cause hit averaged over the method's seeds
        Isolate = (mean_j a_j + mean_j' l_j') / 2     a_j, l_j' = the same for the continent and language pairs
        Disentangle = (Cause + Isolate) / 2

    with entity-bootstrap 95% intervals of those seed-averaged hits (`metrics.entity_interval`; Isolate's
    two pair sets share one resample of the cities). So the bars are the uncertainty from the sample of cities,
    for the method averaged over its seeds; the seeds' own spread is the columns <score>_seed_min/_max.
    A learned mask (DBM) has no set k: its rows are grouped by their L1 weight (`sparsity`), and k is the mean
    of its seeds' kept sizes (k_min, k_max their range).
    Returns a DataFrame sorted by method and k."""
    from .grid_files import seed_mean_hits
    from .metrics import _entity_weights, entity_interval

    pairs = {score: np.array(summary["pairs"][score]) for score in ("cause", "continent", "language")}
    points = []
    masks = rows["sparsity"].notna() if "sparsity" in rows else np.zeros(len(rows), bool)
    for masked, part in ((False, rows[~masks]), (True, rows[masks])):
        for key, runs in part.groupby(["method", "sparsity" if masked else "k"], sort=False):
            cause = seed_mean_hits(runs, "cause")
            kept = {a: seed_mean_hits(runs, a) for a in ("continent", "language")}
            sets = [(kept[a], pairs[a][:, 0], pairs[a][:, 1]) for a in kept]
            w = _entity_weights(sets, 1000, 0)
            ok = np.all([wi.sum(1) > 0 for wi in w], axis=0)
            isolate_boot = np.mean([(wi[ok] @ v) / wi[ok].sum(1) for wi, (v, _, _) in zip(w, sets)], axis=0)
            isolate = float(np.mean([v.mean() for v in kept.values()]))
            points.append({
                "method": key[0], "k": int(round(runs["k"].mean())), "k_min": int(runs["k"].min()),
                "k_max": int(runs["k"].max()), "sparsity": key[1] if masked else np.nan, "seeds": len(runs),
                "cause": float(cause.mean()), **dict(zip(("cause_lo", "cause_hi"),
                                                         entity_interval(cause, pairs["cause"][:, 0], pairs["cause"][:, 1]))),
                "isolate": isolate, **dict(zip(("isolate_lo", "isolate_hi"), np.quantile(isolate_boot, [0.025, 0.975]))),
                "disentangle": (float(cause.mean()) + isolate) / 2,
                "cause_seed_min": runs["cause"].min(), "cause_seed_max": runs["cause"].max(),
                "isolate_seed_min": runs["isolate"].min(), "isolate_seed_max": runs["isolate"].max()})
    return pd.DataFrame(points).sort_values(["method", "k"]).reset_index(drop=True)


CURVE_STYLES = {"DAS": ("C0", "o"), "MDAS": ("C1", "D"), "PCA of differences": ("C2", "^"),
                "best k neurons": ("C3", "s"), "random subspace": ("C7", "x"), "learned mask (DBM)": ("C4", "v"),
                "full patching": ("k", "*")}


def isolate_cause_curve(points, ax=None, title=None):
    """Isolate against Cause, one curve per method with k along it (chapter 6's main figure).

    points: `k_curve_points` (x = Cause, y = Isolate, bars = their 95% intervals, each point labelled with
    its k). Doing nothing sits at (Cause 0, Isolate 1), full patching (k = d) near (1, 0); a method that
    moves the country alone would sit at the top right. Disentangle = (x + y) / 2, so the dotted diagonals
    are lines of equal Disentangle (0.5: doing nothing's, and full patching's if its Isolate is 0)."""
    ax = ax or plt.gca()
    for value in (0.5, 0.75):
        ax.plot([0, 1], [2 * value, 2 * value - 1], ":", color="0.7", lw=0.8)
    ax.plot([0], [1], marker="P", color="0.4", ms=9, ls="none", label="doing nothing (k = 0)")
    for method, part in points.groupby("method", sort=False):
        color, marker = CURVE_STYLES.get(method, (None, "o"))
        part = part.sort_values("k")
        ax.errorbar(part["cause"], part["isolate"],
                    xerr=[part["cause"] - part["cause_lo"], part["cause_hi"] - part["cause"]],
                    yerr=[part["isolate"] - part["isolate_lo"], part["isolate_hi"] - part["isolate"]],
                    fmt=f"{marker}-", color=color, ms=9 if marker == "*" else 5, lw=1.2, elinewidth=0.6,
                    capsize=2, alpha=0.9, label=f"{method} ({part['seeds'].max()} seed{'s' if part['seeds'].max() > 1 else ''})")
        for x, y, k in zip(part["cause"], part["isolate"], part["k"]):
            ax.annotate(f"{'~' if method == 'learned mask (DBM)' else ''}{k}", (x, y), xytext=(3, 3),
                        textcoords="offset points", fontsize=7, color=color)
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(-0.03, 1.05)
    ax.set_xlabel("Cause (the country moves)")
    ax.set_ylabel("Isolate (continent, language stay; mean)")
    if title:
        ax.set_title(title)
    for value in (0.5, 0.75):
        ax.annotate(f"Disentangle {value}", (2 * value - 1 + 0.02 if value > 0.5 else 0.02, 0.98 if value > 0.5 else 0.95),
                    fontsize=6, color="0.5", rotation=-38)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax
