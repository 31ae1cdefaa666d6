"""Plots shared by the chapters."""
import matplotlib.pyplot as plt
import numpy as np


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
