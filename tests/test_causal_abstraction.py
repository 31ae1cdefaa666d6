"""Tests for the causal-abstraction chapter: dascourse.toy (hierarchical equality) and its exercise checks."""
import json
import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from dascourse import toy
from dascourse.checks import CheckFailed
from dascourse.checks.causal_abstraction import check_interchange, check_train_das
from dascourse.diagnostics import null_space
from dascourse.interventions import RotatedSubspace
from dascourse.metrics import natural_variance, null_fraction


@pytest.fixture(scope="module")
def result():
    return toy.summary(toy.run(progress=lambda msg: None))


def test_high_level_counterfactuals():
    base = torch.tensor([[0, 0, 1, 2]])      # V1 true, V2 false: label false
    source = torch.tensor([[3, 4, 5, 5]])    # V1 false, V2 true
    assert toy.counterfactual_labels(base, source, "V1").item() == 1   # (false = false)
    assert toy.counterfactual_labels(base, source, "V2").item() == 1   # (true = true)
    assert toy.counterfactual_labels(base, source, "A").item() == 1    # a := 3 != b: (false = false)
    assert toy.counterfactual_labels(base, source, "V1+V2").item() == 0  # the source's own label: (false = true)


def test_splits_share_no_shape():
    pools = [toy.make_shapes(split) for split in toy.SPLIT_SEEDS]
    for i, a in enumerate(pools):
        for b in pools[i + 1:]:
            assert torch.cdist(a, b).min() > 1e-6
    with pytest.raises(ValueError, match="use one of"):
        toy.make_shapes("held-out")


def test_inputs_are_balanced():
    v1, v2, out = toy.high_level(toy.make_inputs(4000, 10000, seed=0))
    for flag in (v1, v2, out):
        assert abs(flag.double().mean().item() - 0.5) < 0.03


def test_das_and_controls(result):
    assert result["task_accuracy"] >= 0.99  # on unseen shapes
    assert result["das_iia"] >= 0.95
    controls = ("neuron", "random", "wrong_model_k2", "wrong_model_k4", "wrong_model_k8")
    for control in controls:
        assert result[f"{control}_iia"] <= result["das_iia"] - 0.15, control
        assert result[f"{control}_iia_changed"] <= result["das_iia_changed"] - 0.15, control
    assert result["full_iia"] <= 0.6  # the whole layer carries V1 and V2: the source's answer, right half the time
    for key in [key for key in result if key.startswith("diff ")]:  # DAS above every control, by the paired interval
        diff, lo, hi = result[key]
        assert 0 < lo <= diff <= hi, key


def test_joint_swap(result):
    # Both variables swapped: the high-level model gives the source's own label, as full patching does.
    assert result["joint_das_iia"] >= 0.9
    assert result["joint_full_iia"] >= 0.99


def test_the_illusion(result):
    assert result["illusion_same_function"] and result["illusion_own_null_same_function"]
    assert result["illusion_iia"] >= 0.9 and result["illusion_iia_changed"] >= 0.85
    assert result["illusion_iia"] == result["u_iia"]  # by construction: the patch along u, rerouted
    for part in ("null_part", "dormant_part"):  # neither constructed half alone changes an answer
        assert result[f"illusion_{part}_iia_changed"] <= 0.05, part
    assert result["illusion_own_null_iia_changed"] <= 0.7  # this network's null space carries little V1


def test_the_split_procedure(result):
    # The same procedure on every span: both illusions are flagged (a dormant read part, an inert ignored part
    # that varies); DAS's spans and u are not.
    assert result["illusion_flags"]["illusion"] and result["illusion_own_null_flags"]["illusion"]
    for prefix in ("das_v1", "das_v2", "u"):
        assert not result[f"{prefix}_flags"]["dormant_read"] and not result[f"{prefix}_flags"]["illusion"], prefix
        assert result[f"{prefix}_read_least_variance"] > 0.1, prefix
    for prefix in ("illusion", "illusion_own_null", "das_v1", "das_v2", "u"):
        assert result[f"{prefix}_ignored_iia"] <= 0.05, prefix  # what the next layer ignores does nothing alone


def test_the_dormant_scale_sweep(result):
    # Same function and same patch at every scale of the dormant column; only the read part's variance changes.
    sweep = result["scale_sweep"]
    assert [float(scale) for scale in sweep] == list(toy.PLANTED_SCALES)
    assert all(row["iia"] == result["u_iia"] for row in sweep.values())
    variances = [row["read_least_variance"] for row in sweep.values()]
    assert variances == sorted(variances, reverse=True)  # a larger dormant weight: a more dormant read part
    assert not sweep["1"]["flags"]["dormant_read"]  # at scale 1 the read part is mostly u's own read direction
    flagged = [float(scale) for scale, row in sweep.items() if row["flags"]["dormant_read"]]
    assert result["illusion_scale"] == min(flagged)
    assert result["illusion_read_least_variance"] == sweep[str(result["illusion_scale"])]["read_least_variance"]


@pytest.mark.parametrize("scale", [1, 5, 20])
def test_planted_network_is_the_same_function_and_reroutes_the_patch(scale):
    torch.manual_seed(0)
    mlp = toy.MLP(in_dim=6, hidden=(5, 3)).requires_grad_(False)
    x_base, x_source = torch.randn(50, 6, dtype=toy.DTYPE), torch.randn(50, 6, dtype=toy.DTYPE)
    u = torch.randn(5, dtype=toy.DTYPE)
    u = u / u.norm()
    planted, v, disconnected, dormant = toy.planted_copy(mlp, 0, u, scale)
    assert planted.layers[0].out_features == 11
    assert torch.allclose(planted.next_weight(0)[:, -1], 2 * scale * mlp.next_weight(0) @ u)
    assert torch.allclose(planted(x_base), mlp(x_base), rtol=0, atol=1e-12)
    assert torch.all(planted.hidden(x_base, 0)[:, -1] == 0)  # dormant
    a, b = v @ disconnected, v @ dormant
    assert v.norm().item() == pytest.approx(1.0) and 2 * scale * a * b == pytest.approx(1.0) and b <= a
    assert torch.allclose(toy.interchange(planted, x_base, x_source, 0, v[None]),
                          toy.interchange(mlp, x_base, x_source, 0, u[None]), atol=1e-12)
    for part in (disconnected, dormant):  # each part alone: nothing
        assert torch.allclose(toy.interchange(planted, x_base, x_source, 0, part[None]), mlp(x_base), atol=1e-12)
    with pytest.raises(ValueError, match="must be >= 1"):
        toy.illusion_direction(disconnected, 10, scale=0.5)


def test_dormant_read_share_is_the_original_units_share_of_the_read_projection():
    # 1 / (1 + q) by Sherman-Morrison, against the projection of the dormant axis on the row space of [W, 0, c].
    torch.manual_seed(0)
    mlp = toy.MLP(in_dim=6, hidden=(5, 3)).requires_grad_(False)
    u = torch.randn(5, dtype=toy.DTYPE)
    u = u / u.norm()
    W = mlp.next_weight(0)
    for scale in (1, 10):
        planted = toy.planted_copy(mlp, 0, u, scale)[0]
        null = null_space(planted.next_weight(0))
        axis = torch.eye(11, dtype=toy.DTYPE)[-1]
        read = axis - null.T @ (null @ axis)
        share = read[:5].pow(2).sum() / read.pow(2).sum()
        assert share.item() == pytest.approx(toy.dormant_read_share(W, 2 * scale * W @ u))
    assert toy.dormant_read_share(W, 20 * W @ u) < 0.1 < toy.dormant_read_share(W, 2 * W @ u)


def test_best_separating_direction_finds_the_informative_axis():
    g = torch.Generator().manual_seed(0)
    labels = torch.rand(400, generator=g) < 0.5
    acts = torch.randn(400, 3, generator=g, dtype=torch.float64)
    acts[:, 1] += 3 * labels  # only axis 1 tells the classes apart
    w = toy.best_separating_direction(acts, labels, torch.eye(3, dtype=torch.float64))
    assert w[1] > 0.95
    assert toy.separation(acts, labels, w)[1] > 2.5


def test_cli_prints_the_json(result):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    out = subprocess.run([sys.executable, "-m", "dascourse.toy"], capture_output=True, text=True, check=True, env=env)
    numbers = json.loads(out.stdout.strip().splitlines()[-1])
    assert numbers == json.loads(json.dumps(result))  # same functions, same numbers


def test_natural_variance_and_null_fraction():
    acts = torch.randn(500, 4, dtype=torch.float64) * torch.tensor([1.0, 1.0, 1.0, 0.0], dtype=torch.float64)
    var = natural_variance(acts, torch.eye(4, dtype=torch.float64)[[0, 3]])
    assert var[0] > 0.5 and var[1] == 0  # the 4th coordinate never moves: dormant
    null = null_space(torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64))
    assert null.shape == (2, 3)
    assert null_fraction(torch.tensor([[0.0, 3.0, 4.0]], dtype=torch.float64), null) == pytest.approx(1.0)
    assert null_fraction(torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64), null) == pytest.approx(0.0)


# ---------------------------------------------------------------- the checks, given right and wrong answers

def interchange_right(mlp, x_base, x_source, layer, basis):
    h_base, h_source = mlp.hidden(x_base, layer), mlp.hidden(x_source, layer)
    return mlp.from_hidden(h_base + (h_source - h_base) @ basis.T @ basis, layer)


def interchange_in_place(mlp, x_base, x_source, layer, basis):
    x_base += 0  # touches the input
    x_base[:, 0] = x_base[:, 0] * 1.5
    return interchange_right(mlp, x_base, x_source, layer, basis)


def interchange_forgot_source(mlp, x_base, x_source, layer, basis):
    return mlp.from_hidden(mlp.hidden(x_base, layer), layer)  # h' = h_base: nothing swapped


def interchange_squeezed(mlp, x_base, x_source, layer, basis):
    return interchange_right(mlp, x_base, x_source, layer, basis).squeeze()


def interchange_source_logits(mlp, x_base, x_source, layer, basis):
    return mlp(x_source)  # the whole network on the source


def test_check_interchange_passes_the_right_answer(capsys):
    check_interchange(interchange_right)
    assert "all checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (interchange_in_place, "an input it was given"),
    (interchange_forgot_source, "base's own logits"),
    (interchange_squeezed, "batch of one"),
    (interchange_source_logits, "source's logits"),
])
def test_check_interchange_names_the_mistake(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_interchange(wrong)


def train_das_right(mlp, h_base, h_source, labels, layer, k, steps):
    torch.manual_seed(0)
    rotation = RotatedSubspace(h_base.shape[1], k).to(h_base.dtype)
    opt = torch.optim.Adam(rotation.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):
        rows = torch.randint(len(h_base), (128,), generator=g)
        logits = mlp.from_hidden(rotation(h_base[rows], h_source[rows]), layer)
        loss = F.cross_entropy(logits, labels[rows])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return rotation


def train_das_base_labels(mlp, h_base, h_source, labels, layer, k, steps):
    own = mlp.from_hidden(h_base, layer).argmax(-1)  # the base's own answer, not the counterfactual
    return train_das_right(mlp, h_base, h_source, own, layer, k, steps)


def train_das_plain_parameter(mlp, h_base, h_source, labels, layer, k, steps):
    return torch.nn.Parameter(torch.randn(k, h_base.shape[1], dtype=h_base.dtype))


def train_das_no_steps(mlp, h_base, h_source, labels, layer, k, steps):
    return train_das_right(mlp, h_base, h_source, labels, layer, k, 0)


def test_check_train_das_passes_the_right_answer(capsys):
    check_train_das(train_das_right)
    assert "all checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (train_das_base_labels, "counterfactual ones"),
    (train_das_plain_parameter, "not orthonormal"),
    (train_das_no_steps, "should reach 0.9"),
])
def test_check_train_das_names_the_mistake(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_train_das(wrong)
