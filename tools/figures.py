"""The course's concept figures, drawn with matplotlib: one function per figure, one SVG each.

    python tools/figures.py                 # (re)write book/figures/*.svg
    python tools/figures.py --png DIR       # also write PNG previews to DIR (to look at while editing)

Every figure sits on a white rounded card drawn inside the SVG, so it reads the same on the site's light
and dark themes, in Jupyter and in Colab (a transparent SVG would put dark text on a dark page).
Text is stored as paths: the figure looks the same whatever fonts the reader has. Re-running the script
gives the same files byte for byte (fixed ids, no date). Each figure's alt text is in FIGURES below, and
is written into the SVG as its <title>; the chapters repeat it in their ![alt text](...) image links.

Notation is the course's: h_base, h_source, R_k, k, layer; colours are Okabe-Ito (colour-blind safe):
blue for the base run, orange for the source run, green for a patched value or an aligned variable.
"""
import argparse
import io
import os
import re
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

OUT = Path(__file__).resolve().parents[1] / "book" / "figures"

INK, GREY, LINE = "#1f2328", "#6e7781", "#d0d7de"
BASE, BASE_FILL = "#0072b2", "#d4e6f4"
SOURCE, SOURCE_FILL = "#d55e00", "#fbdcc4"
ALIGNED, ALIGNED_FILL = "#009e73", "#cdeee3"
EXTRA, EXTRA_FILL = "#cc79a7", "#f3dcea"
NEUTRAL_FILL = "#f3f4f6"
# The site shows a 9-inch figure about 550 px wide: every font size below is scaled up by this to stay legible.
FONT_SCALE = 1.15

# Applied with plt.rc_context while drawing and saving, so importing this module changes no global setting.
STYLE = {
    "svg.fonttype": "path",
    "svg.hashsalt": "dascourse-figures",  # fixed ids: the same SVG on every run
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "text.color": INK,
    "mathtext.fontset": "dejavusans",
}


# ---------------------------------------------------------------------------------------------------------
# Drawing helpers. Coordinates are inches on the card: (0, 0) bottom left, (width, height) top right.

def card(width, height):
    """A figure with one axes spanning it, in inch coordinates, on a white rounded card."""
    fig = plt.figure(figsize=(width, height))
    fig.patch.set_alpha(0)  # outside the card's rounded corners
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    ax.add_patch(FancyBboxPatch((0.03, 0.03), width - 0.06, height - 0.06, boxstyle="round,pad=0,rounding_size=0.18",
                                facecolor="white", edgecolor=LINE, linewidth=1.2, zorder=0))
    return fig, ax


def box(ax, x, y, w, h, text="", fill=NEUTRAL_FILL, edge=GREY, size=10, weight="normal", radius=0.06,
        color=INK, lw=1.2, ha="center", style="normal"):
    """A rounded box with its bottom-left corner at (x, y) and `text` in its middle."""
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle=f"round,pad=0,rounding_size={radius}",
                                facecolor=fill, edgecolor=edge, linewidth=lw, zorder=2))
    if text:
        tx = x + w / 2 if ha == "center" else x + 0.08
        ax.text(tx, y + h / 2, text, ha=ha, va="center", fontsize=size * FONT_SCALE, weight=weight, color=color,
                style=style, zorder=3)


def label(ax, x, y, text, size=10, color=INK, ha="center", va="center", weight="normal", style="normal"):
    ax.text(x, y, text, ha=ha, va=va, fontsize=size * FONT_SCALE, color=color, weight=weight, style=style, zorder=4)


def arrow(ax, start, end, color=INK, rad=0.0, lw=1.4, style="-|>", dashed=False, shrink=2):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=12, color=color, linewidth=lw,
                                 connectionstyle=f"arc3,rad={rad}", shrinkA=shrink, shrinkB=shrink,
                                 linestyle=(0, (4, 3)) if dashed else "-", zorder=5))


def column(ax, x, y, fills, cell=0.26, edge=GREY, texts=None, size=8):
    """A vector drawn as a column of cells, first coordinate on top; returns the top y of each cell."""
    tops = []
    for i, fill in enumerate(fills):
        top = y + (len(fills) - i) * cell
        ax.add_patch(FancyBboxPatch((x, top - cell), cell, cell, boxstyle="square,pad=0", facecolor=fill,
                                    edgecolor=edge, linewidth=0.9, zorder=2))
        if texts and texts[i]:
            label(ax, x + cell / 2, top - cell / 2, texts[i], size=size)
        tops.append(top)
    return tops


# ---------------------------------------------------------------------------------------------------------
# The figures

def patching_grid():
    """Activation patching at (layer, position): one cell of the source run's grid copied into the base run."""
    fig, ax = card(9.0, 5.3)
    # bottom to top; None is the lane the copy arrow runs along, between layer 8 and layer 9
    layers = ["0", "⋮", "7", "8", None, "9", "⋮", "29"]
    cell_w, cell_h, step_x, step_y, y0 = 0.44, 0.32, 0.52, 0.42, 1.0
    runs = [("source run", "Rio de Janeiro", "Janeiro", 0.95, SOURCE, SOURCE_FILL, "Brazil"),
            ("base run", "Paris", "Paris", 5.55, BASE, BASE_FILL, "Brazil  (was France)")]
    rows_y, y = [], y0
    for name in layers:
        rows_y.append(y)
        y += 0.3 if name is None else step_y
    top = rows_y[-1] + cell_h
    cells = {}
    for title, city, token, x0, ink, fill, answer in runs:
        right = x0 + 5 * step_x + cell_w
        label(ax, (x0 + right) / 2, 5.0, title, size=11, weight="bold", color=ink)
        label(ax, (x0 + right) / 2, 4.76, f"…few-shot examples… {city} is in the country of", size=8.5,
              color=GREY, style="italic")
        for j, tok in enumerate([token, "is", "in", "the", "country", "of"]):
            cx = x0 + j * step_x + cell_w / 2
            label(ax, cx, y0 - 0.2, tok, size=8.5)
            label(ax, cx, y0 - 0.42, f"{j - 6}", size=8, color=GREY)
            for name, cy in zip(layers, rows_y):
                if name is None:
                    continue
                if name == "⋮":
                    label(ax, cx, cy + cell_h / 2, "⋮", size=10, color=GREY)
                    continue
                patched = name == "8" and j == 0
                box(ax, cx - cell_w / 2, cy, cell_w, cell_h, fill=SOURCE if patched else fill,
                    edge=SOURCE if patched else ink, lw=2.2 if patched else 0.8, radius=0.04)
                cells[(title, name, j)] = (cx, cy)
        for name, cy in zip(layers, rows_y):
            if name is not None:
                label(ax, x0 - 0.1, cy + cell_h / 2, name, size=8.5, ha="right", color=GREY if name == "⋮" else INK)
        label(ax, x0 - 0.35, rows_y[3] + cell_h / 2, "layer", size=8.5, color=GREY, ha="right")
        label(ax, x0 - 0.1, y0 - 0.42, "position", size=8, color=GREY, ha="right")
        out_x = x0 + 5 * step_x + cell_w / 2
        arrow(ax, (out_x, top), (out_x, top + 0.22), color=ink, lw=1.1, shrink=0)
        width = 0.9 if title == "source run" else 1.75
        box(ax, right - width, top + 0.22, width, 0.3, answer, fill="white", edge=ink, size=9, weight="bold")
        label(ax, right - width - 0.1, top + 0.37, "next token:", size=8.5, color=GREY, ha="right")
    # the copy: up from the source's cell into the lane, along it, down into the base's cell
    (sx, sy), (bx, by) = cells[("source run", "8", 0)], cells[("base run", "8", 0)]
    lane = rows_y[4] + 0.15
    ax.plot([sx, sx, bx], [sy + cell_h, lane, lane], color=SOURCE, lw=2.2, zorder=5, solid_capstyle="round")
    arrow(ax, (bx, lane), (bx, by + cell_h), color=SOURCE, lw=2.2, shrink=0)
    label(ax, 4.75, lane + 0.44, "copy h_source", size=9, color=SOURCE, weight="bold")
    label(ax, 4.75, lane + 0.22, "over h_base", size=9, color=SOURCE, weight="bold")
    label(ax, 4.5, 0.25, "Each square: the residual stream h (d = 576 numbers) after one decoder layer, at one token.\n"
          "The patch replaces one square, (layer 8, position −6); the rest of the base run reads the copied vector.",
          size=8.5, color=GREY)
    return fig


def neuron_vs_subspace():
    """A neuron swap moves coordinates along the axes; a subspace swap moves along a rotated direction."""
    fig, ax = card(9.0, 4.3)
    h_base, h_source = np.array([0.7, 1.85]), np.array([2.5, 0.45])
    u = np.array([np.cos(np.radians(-15)), np.sin(np.radians(-15))])  # the swapped direction: R_k = uᵀ (k = 1)
    w = np.array([-u[1], u[0]])  # the kept direction
    panels = [(0.4, "neuron patch", "swap neuron 1, keep neuron 2",
               r"$h' = h_{base} + m \odot (h_{source} - h_{base})$,  m = (1, 0)",
               h_base + np.array([1, 0]) * (h_source - h_base)),
              (4.9, "rotated-subspace patch", "swap along direction u, keep the direction across it",
               r"$h' = h_{base} + R_k^\top R_k\,(h_{source} - h_{base})$,  $R_k = u^\top$",
               h_base + u * (u @ (h_source - h_base)))]
    for x0, title, subtitle, formula, h_new in panels:
        origin = np.array([x0 + 0.5, 0.95])
        label(ax, x0 + 1.9, 3.98, title, size=11.5, weight="bold")
        label(ax, x0 + 1.9, 3.72, subtitle, size=9, color=GREY)
        label(ax, x0 + 1.9, 0.35, formula, size=9.5)
        arrow(ax, tuple(origin), tuple(origin + [3.3, 0]), color=GREY, lw=1, shrink=0)
        arrow(ax, tuple(origin), tuple(origin + [0, 2.65]), color=GREY, lw=1, shrink=0)
        label(ax, origin[0] + 3.3, origin[1] - 0.17, "neuron 1", size=8.5, color=GREY, ha="right")
        label(ax, origin[0] - 0.08, origin[1] + 2.6, "neuron 2", size=8.5, color=GREY, ha="right")
        at = origin + h_base
        if title.startswith("rotated"):  # the rotated basis, drawn at h_base
            ax.plot(*zip(at - 0.5 * u, at + 2.6 * u), color=ALIGNED, lw=0.8, ls=(0, (1, 2)), zorder=3)
            arrow(ax, tuple(at), tuple(at + 0.6 * w), color=GREY, lw=1.1, shrink=0)
            label(ax, *(at + 0.6 * w + [0.05, 0.12]), "kept", size=8.5, color=GREY)
            label(ax, *(at + 2.55 * u + [0.0, 0.2]), "u", size=10, color=ALIGNED, weight="bold")
        move_end = origin + h_new
        ax.plot(*zip(at, move_end), color=ALIGNED, lw=2.4, zorder=4)
        ax.plot(*zip(move_end, origin + h_source), color=GREY, lw=1, ls=(0, (3, 3)), zorder=3)
        for point, name, colour, dx, dy in [(h_base, "h_base", BASE, -0.12, 0.2),
                                            (h_source, "h_source", SOURCE, 0.12, -0.05),
                                            (h_new, "h'", ALIGNED, 0.12, 0.12)]:
            ax.plot(*(origin + point), "o", color=colour, markersize=8, zorder=6)
            label(ax, origin[0] + point[0] + dx, origin[1] + point[1] + dy, name, size=10, color=colour,
                  weight="bold", ha="right" if dx < 0 else "left")
    return fig


def rotate_swap_rotate_back():
    """Rotate both vectors with R, take k rotated coordinates from the source, rotate back with R^T."""
    fig, ax = card(9.0, 4.6)
    d, k, cell, y = 6, 2, 0.27, 1.75
    base_cols, source_cols = [BASE_FILL] * d, [SOURCE_FILL] * d

    def vector(x, fills, name, colour, texts=None):
        column(ax, x, y, fills, cell=cell, texts=texts)
        label(ax, x + cell / 2, y - 0.2, name, size=9.5, color=colour, weight="bold")

    vector(0.55, base_cols, "h_base", BASE)
    vector(1.35, source_cols, "h_source", SOURCE)
    label(ax, 4.5, 4.25, f"rotate, swap k, rotate back (drawn with d = {d}, k = {k})", size=11, weight="bold")
    label(ax, 1.1, 3.7, "1. two states at\n(layer, position)", size=9)
    arrow(ax, (1.9, y + d * cell / 2), (2.55, y + d * cell / 2))
    label(ax, 2.22, y + d * cell / 2 + 0.2, "R", size=11, weight="bold")
    rot_base = [BASE] * d
    rot_source = [SOURCE] * d
    vector(2.6, rot_base, "R h_base", BASE)
    vector(3.6, rot_source, "R h_source", SOURCE)
    label(ax, 3.25, 3.7, "2. rotate: the same vectors\nin another basis", size=9)
    arrow(ax, (4.1, y + d * cell / 2), (4.7, y + d * cell / 2))
    label(ax, 4.4, y + d * cell / 2 + 0.2, "swap", size=9.5, weight="bold")
    mixed = [SOURCE] * k + [BASE] * (d - k)
    vector(4.95, mixed, "mixed", INK)
    ax.annotate("", xy=(5.3, y + d * cell), xytext=(5.3, y + (d - k) * cell),
                arrowprops=dict(arrowstyle="-", color=SOURCE, lw=2))
    label(ax, 5.4, y + (d - k / 2) * cell, f"first k = {k}: from R h_source", size=8.5, color=SOURCE, ha="left")
    label(ax, 5.4, y + (d - k) / 2 * cell, "other d − k: from R h_base", size=8.5, color=BASE, ha="left")
    label(ax, 5.95, 3.7, "3. swap the first k\nrotated coordinates", size=9)
    arrow(ax, (7.3, y + d * cell / 2), (7.95, y + d * cell / 2))
    label(ax, 7.62, y + d * cell / 2 + 0.2, r"$R^\top$", size=11)
    vector(8.1, [ALIGNED_FILL] * d, "h'", ALIGNED)
    label(ax, 8.1 + cell / 2, 3.7, "4. rotate\nback", size=9)
    label(ax, 4.5, 0.95, r"$h' = R^\top \left[\,(R\,h_{source})_{:k}\;;\;(R\,h_{base})_{k:}\,\right]"
          r"\;=\; h_{base} + R_k^\top R_k\,(h_{source} - h_{base})$", size=11.5)
    label(ax, 4.5, 0.45, "R_k: the first k rows of R (k × d). Only they matter: R_kᵀ R_k projects the difference "
          "onto the swapped subspace.\nk = d gives full patching; k = 0 changes nothing.", size=8.5, color=GREY)
    return fig


def _node(ax, x, y, text, fill, edge, w=1.1, h=0.42, size=9.5):
    box(ax, x - w / 2, y - h / 2, w, h, text, fill=fill, edge=edge, size=size, radius=0.12)
    return x, y


def causal_model_equality():
    """Hierarchical equality: a, b, c, d -> V1 = (a = b), V2 = (c = d) -> V1 = V2, aligned with an MLP."""
    fig, ax = card(9.0, 4.6)
    label(ax, 2.2, 4.28, "high-level causal model", size=11, weight="bold")
    label(ax, 6.7, 4.28, "neural network (an MLP)", size=11, weight="bold")
    inputs = {name: _node(ax, 0.7 + i * 1.0, 0.95, name, NEUTRAL_FILL, GREY, w=0.55) for i, name in
              enumerate("abcd")}
    v1 = _node(ax, 1.2, 2.35, "V1 = (a = b)", ALIGNED_FILL, ALIGNED, w=1.3)
    v2 = _node(ax, 3.2, 2.35, "V2 = (c = d)", EXTRA_FILL, EXTRA, w=1.3)
    out = _node(ax, 2.2, 3.6, "output = (V1 = V2)", NEUTRAL_FILL, GREY, w=1.9)
    for name, target in [("a", v1), ("b", v1), ("c", v2), ("d", v2)]:
        arrow(ax, (inputs[name][0], inputs[name][1] + 0.21), (target[0], target[1] - 0.21), color=GREY)
    for source in (v1, v2):
        arrow(ax, (source[0], source[1] + 0.21), (out[0], out[1] - 0.21), color=GREY)
    # the network: input embeddings, one hidden layer split (after a rotation R) into two subspaces, output
    for i, name in enumerate("abcd"):
        box(ax, 5.05 + i * 0.85, 0.78, 0.7, 0.34, f"emb({name})", fill=NEUTRAL_FILL, edge=GREY, size=8)
    box(ax, 5.0, 1.95, 3.5, 0.58, fill="white", edge=GREY)
    label(ax, 5.02, 2.7, "hidden layer, rotated: R h", size=8.5, color=GREY, ha="left")
    box(ax, 5.08, 2.02, 1.05, 0.44, "subspace 1", fill=ALIGNED_FILL, edge=ALIGNED, size=8.5, lw=1.8)
    box(ax, 6.2, 2.02, 1.05, 0.44, "subspace 2", fill=EXTRA_FILL, edge=EXTRA, size=8.5, lw=1.8)
    box(ax, 7.32, 2.02, 1.1, 0.44, "the rest", fill=NEUTRAL_FILL, edge=GREY, size=8.5)
    box(ax, 7.3, 3.42, 1.1, 0.38, "output", fill=NEUTRAL_FILL, edge=GREY, size=9)
    for i in range(4):
        arrow(ax, (5.4 + i * 0.85, 1.12), (6.75, 1.95), color=GREY, lw=0.9)
    arrow(ax, (7.85, 2.53), (7.85, 3.42), color=GREY, lw=0.9)
    # the alignment, shown by colour: V1 <-> subspace 1, V2 <-> subspace 2
    ax.plot([4.45, 4.45], [0.7, 4.0], color=LINE, lw=1.2, zorder=1)
    label(ax, 4.5, 0.32, "Aligned (same colour): setting V1 to its value on a source input changes the causal "
          "model's output\nas swapping subspace 1 from the network's run on that source changes the network's output "
          "(and the same for V2).", size=8.5, color=GREY)
    return fig


def causal_model_country():
    """City -> country -> answer, with the country aligned to a k-dimensional subspace of h."""
    fig, ax = card(9.0, 4.4)
    label(ax, 2.5, 4.08, "high-level causal model", size=11, weight="bold")
    label(ax, 6.7, 4.08, "language model", size=11, weight="bold")
    city = _node(ax, 2.5, 0.9, "city", NEUTRAL_FILL, GREY, w=1.0)
    country = _node(ax, 1.2, 2.2, "country", ALIGNED_FILL, ALIGNED, w=1.1)
    continent = _node(ax, 2.5, 2.2, "continent", NEUTRAL_FILL, GREY, w=1.1)
    language = _node(ax, 3.8, 2.2, "language", NEUTRAL_FILL, GREY, w=1.1)
    answer = _node(ax, 1.2, 3.45, "answer to “… is in\nthe country of”", NEUTRAL_FILL, GREY, w=1.75, h=0.55,
                   size=8.5)
    for node in (country, continent, language):
        arrow(ax, (city[0], city[1] + 0.21), (node[0], node[1] - 0.21), color=GREY)
    arrow(ax, (country[0], country[1] + 0.21), (answer[0], answer[1] - 0.28), color=GREY)
    # the model: tokens, a residual stream at (layer, city's last token), a k-dim subspace, the next token
    tokens = ["…", "Paris", "is", "in", "the", "country", "of"]
    for i, tok in enumerate(tokens):
        label(ax, 5.05 + i * 0.55, 0.75, tok, size=8.5, weight="bold" if tok == "Paris" else "normal")
    box(ax, 5.35, 1.3, 0.5, 1.55, fill=BASE_FILL, edge=BASE, radius=0.05)
    box(ax, 5.39, 2.25, 0.42, 0.55, fill=ALIGNED_FILL, edge=ALIGNED, lw=1.8, radius=0.04)
    label(ax, 5.6, 1.55, "h", size=10, weight="bold", color=BASE)
    label(ax, 5.98, 2.52, "R_k h: k of d = 576\ndirections", size=8.5, color=ALIGNED, ha="left")
    label(ax, 5.98, 1.6, "residual stream at\n(layer, city's last token)", size=8.5, color=BASE, ha="left")
    arrow(ax, (5.6, 0.88), (5.6, 1.3), color=GREY, lw=1)
    box(ax, 7.85, 3.2, 0.95, 0.38, "France", fill="white", edge=GREY, size=9, weight="bold")
    arrow(ax, (8.35, 0.88), (8.33, 3.2), color=GREY, lw=1)
    arrow(ax, (5.85, 2.65), (8.25, 3.2), color=GREY, lw=1, rad=-0.15)
    label(ax, 8.2, 2.05, "read by the last token\n(attention, later layers)", size=8, color=GREY, ha="right")
    arrow(ax, (country[0] + 0.55, country[1] + 0.1), (5.39, 2.55), color=ALIGNED, dashed=True, rad=-0.3,
          style="<|-|>")
    label(ax, 3.6, 3.3, "aligned?", size=10, color=ALIGNED, weight="bold")
    label(ax, 4.5, 0.3, "DAS looks for R_k such that swapping R_k h from a source city's run makes the model answer "
          "the source's country,\nas setting the country variable does, while the continent and the language "
          "stay the base's.", size=8.5, color=GREY)
    return fig


def pairs_and_split():
    """Cities are split first; counterfactual pairs are formed inside each split, never across it."""
    fig, ax = card(9.0, 4.5)
    label(ax, 4.5, 4.18, "split the cities first, then pair them inside each split", size=11, weight="bold")
    groups = [(0.35, "training cities (80%)", ["Paris", "Rio de Janeiro", "Cairo", "Toronto", "Moscow", "Madrid"],
               [("Paris", "Rio de Janeiro"), ("Cairo", "Toronto"), ("Moscow", "Madrid")], BASE, BASE_FILL),
              (5.05, "held-out cities (20%)", ["Lisbon", "Havana", "Mexico City", "Nairobi"],
               [("Lisbon", "Havana"), ("Mexico City", "Nairobi")], ALIGNED, ALIGNED_FILL)]
    for x0, title, _cities, pairs, edge, _fill in groups:
        box(ax, x0, 1.15, 3.6, 2.65, fill="white", edge=edge, lw=1.6, radius=0.12)
        label(ax, x0 + 1.8, 3.57, title, size=10, weight="bold", color=edge)
        for row, (base, source) in enumerate(pairs):
            y = 3.0 - row * 0.62
            box(ax, x0 + 0.15, y - 0.2, 1.3, 0.4, base, fill=BASE_FILL, edge=BASE, size=9)
            box(ax, x0 + 2.15, y - 0.2, 1.3, 0.4, source, fill=SOURCE_FILL, edge=SOURCE, size=9)
            arrow(ax, (x0 + 2.15, y), (x0 + 1.45, y), color=SOURCE)
        label(ax, x0 + 0.8, 1.3, "base", size=8.5, color=BASE)
        label(ax, x0 + 2.8, 1.3, "source", size=8.5, color=SOURCE)
    label(ax, 2.15, 0.85, "train R_k on these pairs", size=9)
    label(ax, 6.85, 0.85, "score IIA on these pairs: cities R_k never saw", size=9)
    arrow(ax, (5.0, 2.45), (4.0, 2.45), color=GREY, dashed=True)
    label(ax, 4.5, 2.45, "✗", size=20, color=SOURCE, weight="bold")
    label(ax, 4.5, 3.05, "never", size=9, color=SOURCE, weight="bold")
    label(ax, 4.5, 2.85, "a pair", size=9, color=SOURCE, weight="bold")
    label(ax, 4.5, 2.05, "across", size=9, color=SOURCE, weight="bold")
    label(ax, 4.5, 1.85, "the split", size=9, color=SOURCE, weight="bold")
    label(ax, 4.5, 0.35, "A pair: the base prompt (“Paris is in the country of”) patched with the source's h_source "
          "at the city's last token;\nthe target is the source's country (Brazil). Base and source differ in "
          "country. Cities are illustrative.", size=8.5, color=GREY)
    return fig


def cause_vs_isolate():
    """The same swap, three questions: the country should be the source's, continent and language the base's."""
    fig, ax = card(9.0, 4.4)
    label(ax, 4.5, 4.12, "one intervention: swap the country subspace from Rio de Janeiro into Paris", size=11,
          weight="bold")
    label(ax, 4.5, 3.85, "(at the same layer and the city's last token, with h_source from Rio's prompt asking "
          "the same question)", size=8.5, color=GREY)
    rows = [("… Paris is in the country of", "Brazil", "the source's", SOURCE, SOURCE_FILL, "Cause"),
            ("… Paris is on the continent of", "Europe", "the base's", BASE, BASE_FILL, "Isolate"),
            ("… People in Paris speak", "French", "the base's", BASE, BASE_FILL, "Isolate")]
    label(ax, 1.9, 3.45, "the patched base prompt asks for", size=9, color=GREY)
    label(ax, 5.0, 3.45, "expected answer", size=9, color=GREY)
    label(ax, 8.1, 3.45, "score", size=9, color=GREY)
    for i, (prompt, answer, whose, edge, fill, score) in enumerate(rows):
        y = 2.85 - i * 0.8
        box(ax, 0.3, y - 0.25, 3.2, 0.5, prompt, fill=NEUTRAL_FILL, edge=GREY, size=9, ha="left")
        arrow(ax, (3.55, y), (4.15, y))
        box(ax, 4.2, y - 0.25, 1.6, 0.5, answer, fill=fill, edge=edge, size=10, weight="bold")
        label(ax, 5.95, y, f"{whose} value", size=9, color=edge, ha="left")
        box(ax, 7.55, y - 0.22, 1.1, 0.44, score, fill="white", edge=ALIGNED if score == "Cause" else EXTRA,
            size=9.5, weight="bold", lw=1.6)
    label(ax, 4.5, 0.55, "Cause: share of pairs answering the source's country.  Isolate: share keeping the base's "
          "continent (language), over pairs whose\nbase and source differ in it.  Disentangle = (Cause + Isolate) / 2; "
          "doing nothing scores 0.5.", size=8.5, color=GREY)
    return fig


LEARNING_CURVE_CSV = Path(__file__).resolve().parents[1] / "dascourse" / "data" / "learning_curve.csv"


def learning_curve():
    """Held-out Cause against the number of training entities (dascourse/data/learning_curve.csv, from
    `make learning-curve`): one dot per seed with its 95% entity interval, the line through the seeds' mean."""
    import pandas as pd

    runs = pd.read_csv(LEARNING_CURVE_CSV)
    knobs = {column: runs[column].iloc[0] for column in runs.columns}  # each with its column's type (int stays int)
    fig, ax = card(9.0, 4.4)
    label(ax, 4.5, 4.12, "held-out Cause against the number of training entities (city table, country)", size=11,
          weight="bold")
    plot = fig.add_axes((0.1, 0.2, 0.62, 0.66))
    means = runs.groupby("n_train_entities").held_out_cause.mean()
    plot.plot(means.index, means.values, color=ALIGNED, lw=1.8, zorder=2, label="mean over seeds")
    seeds = sorted(runs.seed.unique())
    for i, seed in enumerate(seeds):
        run = runs[runs.seed == seed]
        shift = 1 + 0.04 * (i - (len(seeds) - 1) / 2)  # side by side on the log axis
        plot.errorbar(run.n_train_entities * shift, run.held_out_cause,
                      yerr=[run.held_out_cause - run.held_out_cause_lo, run.held_out_cause_hi - run.held_out_cause],
                      fmt="o", ms=4.5, capsize=3, lw=1.1, color=[BASE, SOURCE, EXTRA][i % 3], zorder=3,
                      label=f"seed {seed}, 95% entity interval")
    plot.set_xscale("log")
    plot.set_xticks(means.index, [str(n) for n in means.index])
    plot.minorticks_off()
    plot.set_ylim(0, 1)
    plot.set_xlabel("training entities (cities)", fontsize=9.5 * FONT_SCALE)
    plot.set_ylabel("held-out Cause (IIA)", fontsize=9.5 * FONT_SCALE)
    plot.tick_params(labelsize=8.5 * FONT_SCALE)
    plot.grid(axis="y", color=LINE, lw=0.8)
    plot.legend(fontsize=8 * FONT_SCALE, frameon=False, loc="lower right")
    label(ax, 6.75, 2.35, f"layer {knobs['layer']}, k = {knobs['k']}\nlr {knobs['lr']}, {knobs['batch_size']} pairs "
          f"per step,\n{knobs['steps']} steps\n\nscored on {knobs['n_held_out_pairs']} pairs of\n"
          f"{knobs['n_held_out_entities']} "
          f"held-out cities\n\nfrom make learning-curve", size=8.5, color=GREY, ha="left")
    return fig


# name -> (drawing function, alt text). The chapters use the same alt text in their image links.
def selection():
    """The grid that chose the chapters' settings (dascourse/data/course_selection.{csv,json}, `make selection`):
    validation Cause, Isolate and Disentangle (rows of panels) against k (log axis) at each layer (columns);
    DAS and MDAS through their seed-averaged scores with 95% entity intervals (dascourse.selection.grid_scores,
    as the page's table), the random subspace and full patching as reference lines; the choices circled."""
    import dascourse as dc  # here, not at the top: the other figures need no torch
    from dascourse.selection import grid_scores

    rows, summary = dc.load_grid("selection")
    scores = grid_scores(rows, summary["pairs"])
    layers, d = summary["layers"], int(rows[rows.method == "full patching"].k.iloc[0])
    ks = sorted(set(rows.k))
    styles = {"DAS": dict(color=BASE, marker="o", lw=1.8), "MDAS": dict(color=SOURCE, marker="s", lw=1.8),
              "random subspace": dict(color=GREY, marker=".", lw=1.2, ls="--")}
    chosen = {("DAS", summary["das"]["layer"], summary["das"]["k"]), ("MDAS", summary["mdas"]["layer"],
                                                                       summary["mdas"]["k"])}
    fig, ax = card(9.0, 8.2)
    label(ax, 4.5, 7.92, "validation scores against k, per layer (city table, country; seed-averaged, 95% intervals)",
          size=11, weight="bold")
    names = {"cause": "Cause", "isolate": "Isolate", "disentangle": "Disentangle"}
    width, height = 0.84 / len(layers), 0.24
    for i, score in enumerate(names):
        for j, layer in enumerate(layers):
            plot = fig.add_axes((0.09 + j * width, 0.64 - i * (height + 0.05), width - 0.025, height))
            at_layer = scores[scores.layer == layer]
            for (method, style), shift in zip(styles.items(), (0.93, 1.07, 1.0)):  # side by side on the log axis
                run = at_layer[at_layer.method == method].sort_values("k")
                plot.errorbar(run.k * shift, run[score], yerr=[run[score] - run[f"{score}_lo"], run[f"{score}_hi"] - run[score]],
                              ms=4, capsize=2.5, elinewidth=0.9, zorder=3, label=method, **style)
                for r in run.itertuples():
                    if (method, layer, r.k) in chosen:
                        plot.scatter([r.k * shift], [getattr(r, score)], s=150, facecolors="none", edgecolors=INK, lw=1.4,
                                     zorder=4, label="chosen")
            full = at_layer[at_layer.method == "full patching"].iloc[0]
            plot.axhline(full[score], color=ALIGNED, lw=1.2, ls=":", zorder=2)
            plot.errorbar([d], [full[score]], yerr=[[full[score] - full[f"{score}_lo"]], [full[f"{score}_hi"] - full[score]]],
                          fmt="D", ms=4, capsize=2.5, color=ALIGNED, zorder=3, label=f"full patching (k = {d})")
            plot.set_xscale("log")
            plot.set_xticks([*ks], [str(k) for k in ks])
            plot.minorticks_off()
            plot.set_ylim(-0.03, 1.03)
            plot.tick_params(labelsize=7.5 * FONT_SCALE)
            plot.grid(axis="y", color=LINE, lw=0.8)
            if i == 0:
                plot.set_title(f"layer {layer}", fontsize=9.5 * FONT_SCALE)
            if i == len(names) - 1:
                plot.set_xlabel("k (log scale)", fontsize=9 * FONT_SCALE)
            if j == 0:
                plot.set_ylabel(names[score], fontsize=9.5 * FONT_SCALE)
            else:
                plot.set_yticklabels([])
    legend = {}  # one entry per label, from every panel (the chosen circles are in two panels only)
    for plot in fig.axes[1:]:
        legend.update(zip(*reversed(plot.get_legend_handles_labels())))
    fig.legend(legend.values(), legend.keys(), loc="upper center", bbox_to_anchor=(0.5, 0.95), ncol=5, frameon=False,
               fontsize=8 * FONT_SCALE, handletextpad=0.4, columnspacing=1.2)
    return fig


FIGURES = {
    "patching_grid": (patching_grid,
                      "Two grids of residual-stream vectors, layers by token positions: the source run on Rio de "
                      "Janeiro's prompt and the base run on Paris's prompt. The vector at layer 8 and the city's "
                      "last token (position -6) is copied from the source grid into the base grid, and the base "
                      "run's next token changes from France to Brazil."),
    "neuron_vs_subspace": (neuron_vs_subspace,
                           "Two 2D sketches of h_base, h_source and the patched h'. Left, a neuron patch: h' takes "
                           "neuron 1 from the source and neuron 2 from the base, moving parallel to an axis. "
                           "Right, a rotated-subspace patch: h' moves from h_base along a tilted direction u, "
                           "by the part of h_source - h_base that lies along u."),
    "rotate_swap_rotate_back": (rotate_swap_rotate_back,
                                "Four steps drawn as columns of cells: h_base and h_source; both rotated by R; "
                                "a mixed vector taking its first k rotated coordinates from R h_source and the "
                                "other d - k from R h_base; rotated back by R transpose into h'. Below, the "
                                "formula h' = h_base + R_k^T R_k (h_source - h_base)."),
    "causal_model_equality": (causal_model_equality,
                              "Left, a causal model: inputs a, b, c, d; V1 = (a = b) and V2 = (c = d); output "
                              "V1 = V2. Right, an MLP whose hidden layer, in a rotated basis, has subspace 1 "
                              "aligned with V1, subspace 2 aligned with V2, and the rest."),
    "causal_model_country": (causal_model_country,
                             "Left, a causal model: city causes country, continent and language; country causes "
                             "the answer to 'is in the country of'. Right, the language model's residual stream h "
                             "at the city's last token, with a k-dimensional subspace R_k h that DAS tries to "
                             "align with the country variable."),
    "pairs_and_split": (pairs_and_split,
                        "Cities split into training cities (Paris, Rio de Janeiro, Cairo, Toronto, Moscow, Madrid) "
                        "and held-out cities (Lisbon, Havana, Mexico City, Nairobi). Base-source pairs are formed "
                        "inside each split, never across it: R_k is trained on training pairs and scored on "
                        "held-out pairs."),
    "cause_vs_isolate": (cause_vs_isolate,
                         "One intervention, Rio de Janeiro's country subspace swapped into Paris, asked three "
                         "questions: the country prompt should answer Brazil, the source's value (Cause); the "
                         "continent and language prompts should still answer Europe and French, the base's "
                         "values (Isolate)."),
    "selection": (selection,
                  "Twelve panels: validation Cause, Isolate and Disentangle (rows) against k on a log axis from 1 "
                  "to 576, at layers 8, 12, 16 and 20 (columns). Plain DAS (three seeds) and multi-task DAS (two "
                  "seeds) are lines through the seeds' mean with 95% entity intervals, a random subspace "
                  "of each k a dashed grey line, full "
                  "patching (k = 576) a diamond and a dotted line; the chosen DAS and multi-task DAS settings are "
                  "circled."),
    "learning_curve": (learning_curve,
                       "A line chart of held-out Cause (0 to 1) against the number of training cities on a log "
                       "axis (10, 20, 40, 80, 223), two seeds per size, each with its 95% entity interval: 0.07 "
                       "with 10 cities, 0.17 with 20, 0.37 with 40, 0.42 with 80 and 0.58 with all 223 (layer 16, "
                       "k = 64, 100 steps of 16 pairs, 56 held-out cities)."),
}


def svg_text(fig, alt):
    """The figure as SVG text, reproducible, with `alt` as its accessible <title>."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "tools/figures.py"})
    svg = buffer.getvalue()
    # <title> as the first child of <svg> is what screen readers and browsers' tooltips use.
    return re.sub(r"(<svg\b[^>]*>)", lambda m: f'{m[1]}\n <title>{escape(alt)}</title>', svg, count=1)


def write_atomic(path, text):
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False, encoding="utf-8") as tmp:
        tmp.write(text)
    os.chmod(tmp.name, 0o644)  # NamedTemporaryFile makes it private
    os.replace(tmp.name, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--png", type=Path, help="also write PNG previews to this folder")
    parser.add_argument("names", nargs="*", help=f"figures to draw (default: all of {', '.join(FIGURES)})")
    args = parser.parse_args(argv)
    unknown = set(args.names) - set(FIGURES)
    if unknown:
        parser.error(f"unknown figure(s) {', '.join(sorted(unknown))}: choose from {', '.join(FIGURES)}")
    OUT.mkdir(parents=True, exist_ok=True)
    for name in args.names or FIGURES:
        draw, alt = FIGURES[name]
        with plt.rc_context(STYLE):
            fig = draw()
            write_atomic(OUT / f"{name}.svg", svg_text(fig, alt))
            if args.png:
                args.png.mkdir(parents=True, exist_ok=True)
                fig.savefig(args.png / f"{name}.png", dpi=110)
        plt.close(fig)
        print(f"wrote {OUT / name}.svg")


if __name__ == "__main__":
    main()
