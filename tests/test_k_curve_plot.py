"""plots.k_curve_points and plots.isolate_cause_curve on a synthetic grid file (headless, no model)."""
import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from dascourse import plots  # noqa: E402

CITIES = [f"c{i}" for i in range(12)]


def grid():
    """Pairs over 12 cities and rows whose hits are known: DAS k 1 and 4 (2 seeds), a mask at one lambda with
    two kept sizes, full patching."""
    rng = np.random.default_rng(0)
    pairs = {s: [[str(a), str(b)] for a, b in (rng.choice(CITIES, 2, replace=False) for _ in range(n))]
             for s, n in (("cause", 40), ("continent", 20), ("language", 20))}

    def row(method, k, seed, cause, cont, lang, sparsity=np.nan):
        text = lambda n, ones: "1" * ones + "0" * (n - ones)  # noqa: E731
        return {"method": method, "k": k, "seed": seed, "sparsity": sparsity, "cause": cause / 40,
                "isolate": (cont / 20 + lang / 20) / 2, "hits_cause": text(40, cause),
                "hits_continent": text(20, cont), "hits_language": text(20, lang)}

    rows = pd.DataFrame([row("DAS", 1, 0, 4, 20, 20), row("DAS", 1, 1, 8, 18, 20), row("DAS", 4, 0, 30, 10, 6),
                         row("DAS", 4, 1, 34, 10, 6), row("learned mask (DBM)", 10, 0, 20, 8, 8, 0.1),
                         row("learned mask (DBM)", 14, 1, 22, 8, 8, 0.1), row("full patching", 576, 0, 38, 2, 0)])
    return rows, {"pairs": pairs}


def test_points_average_the_seeds_hits_and_carry_intervals():
    points = plots.k_curve_points(*grid()).set_index(["method", "k"])
    das1 = points.loc[("DAS", 1)]
    assert das1.cause == pytest.approx(6 / 40) and das1.isolate == pytest.approx((19 / 20 + 1) / 2)
    assert das1.seeds == 2 and das1.cause_seed_min == pytest.approx(0.1) and das1.cause_seed_max == pytest.approx(0.2)
    mask = points.loc[("learned mask (DBM)", 12)]  # the mean of the kept sizes 10 and 14, one point per lambda
    assert (mask.k_min, mask.k_max, mask.sparsity) == (10, 14, 0.1)
    assert points.disentangle.tolist() == pytest.approx(((points.cause + points.isolate) / 2).tolist())
    for score in ("cause", "isolate"):
        assert (points[f"{score}_lo"] <= points[score] + 1e-12).all()
        assert (points[score] <= points[f"{score}_hi"] + 1e-12).all()


def test_figure_has_one_curve_per_method_and_labels_every_k():
    import matplotlib.pyplot as plt

    points = plots.k_curve_points(*grid())
    fig, ax = plt.subplots()
    plots.isolate_cause_curve(points, ax, title="t")
    labels = [t.get_text() for t in ax.texts]
    assert {"1", "4", "~12", "576"} <= set(labels)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("DAS (2 seeds)") for t in legend) and any(t.startswith("full patching") for t in legend)
    plt.close(fig)
