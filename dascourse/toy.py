"""A network whose answer we know (chapter 4): DAS as causal abstraction on hierarchical equality.

Task. Four shapes a, b, c, d (random vectors); the answer is whether (a = b) equals (c = d). A small MLP
learns it on training shapes (a pool of 10,000 for 20,000 training inputs); everything is scored on shapes
it never saw (validation and test pools drawn with other seeds), as in the DAS paper and pyvene's tutorial.
The high-level causal model that solves it:

    V1 = (a = b)      V2 = (c = d)      out = (V1 = V2)

Interchange intervention on the high-level model: run it on a base input, but set one variable to the
value it takes on a source input. For V1 the counterfactual label is (V1(source) = V2(base)).

Alignment. V1 and V2 are aligned with two disjoint k-dimensional subspaces of the MLP's hidden layer
`layer`, rows 0..k-1 and k..2k-1 of one trained rotation R (the course's RotatedSubspace). The
network's interchange intervention on a subspace with orthonormal rows B ([k, d]) is

    h' = h_base + B^T B (h_source - h_base)          (then run the layers above `layer` on h')

(interventions.low_rank_swap), and the interchange intervention accuracy (IIA) is the share of (base, source)
pairs on which the intervened network outputs the high-level model's counterfactual label (metrics.hits). IIA near 1 for V1, V2
and the joint swap of both, on sampled pairs, makes the high-level model an approximate causal abstraction of
the network under this alignment; it does not check every intervention.

The interpretability illusion (Makelov et al. 2023), built by construction: `plant_dormant_pathway` and
`add_disconnected_copy` make networks that compute the same function with extra units (`planted_copy`),
`illusion_direction` the 1-D patch direction v = a disconnected + b dormant that "carries" V1 although neither
part does anything; `dascourse.diagnostics.read_ignored_split` is the procedure, run identically on DAS's spans
and on v. The dormant unit is 0 on every input, so the scale of its outgoing weight does not change the
function; it changes what the procedure sees (`scale_sweep`), and the chapter uses the smallest scale of
PLANTED_SCALES at which v's read part is dormant (`dormant_scale`).

    python -m dascourse.toy      # the chapter's numbers; ends with one JSON line
"""
import contextlib
import copy
import itertools
import json
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

from . import diagnostics
from .diagnostics import null_space
from .interventions import RotatedSubspace, low_rank_swap
from .metrics import hits, paired_difference

# The knobs below (shape pool, widths, layer, k, steps, lr) were chosen on the VALIDATION pairs (seed
# VALIDATION_SEED); the held-out pairs (TEST_SEED) are used only to report.
SHAPE_DIM = 4
HIDDEN = (32, 16, 16)  # layer 0 is wider than layer 1, so layer 1's weight has a null space at layer 0
TRAIN_SEED, VALIDATION_SEED, TEST_SEED = 0, 1, 2
# Each split has its own pool of shapes (its seed): the MLP and DAS train on "train"'s, and are chosen and
# scored on shapes they never saw. Pools this large make pairs that share almost no shape.
SPLIT_SEEDS = {"train": TRAIN_SEED, "validation": VALIDATION_SEED, "test": TEST_SEED}
N_SHAPES = {"train": 10000, "validation": 10000, "test": 10000}
VARIABLES = ("V1", "V2")
DTYPE = torch.float64  # tiny network: float64 keeps trained results the same across CPUs and thread counts


@contextlib.contextmanager
def one_thread():
    """Train on one CPU thread (then restore the caller's count): torch splits some reductions by thread,
    and Adam grows those last-bit differences into a different network. This network is too small to gain
    from threads anyway."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# ---------------------------------------------------------------- the task and the high-level model

def make_shapes(split="train", dim=SHAPE_DIM):
    """The pool of shapes of `split` ("train", "validation" or "test"): [N_SHAPES[split], dim] random vectors
    (seed SPLIT_SEEDS[split]); the pools share no shape."""
    if split not in SPLIT_SEEDS:
        raise ValueError(f"split={split!r}: use one of {sorted(SPLIT_SEEDS)}.")
    g = torch.Generator().manual_seed(SPLIT_SEEDS[split])
    return torch.randn(N_SHAPES[split], dim, generator=g, dtype=DTYPE)


def make_inputs(n, n_shapes, seed=0):
    """n inputs as shape ids [n, 4] (a, b, c, d): V1 = (a = b) and V2 = (c = d) each true for half of
    them, independently, so the label (V1 = V2) is balanced too."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(n_shapes, (n, 4), generator=g)
    for first, same in ((0, torch.rand(n, generator=g) < 0.5), (2, torch.rand(n, generator=g) < 0.5)):
        other = (ids[:, first] + torch.randint(1, n_shapes, (n,), generator=g)) % n_shapes  # never equal
        ids[:, first + 1] = torch.where(same, ids[:, first], other)
    return ids


def embed(ids, shapes):
    """The network's input: the four shape vectors side by side, [n, 4 * dim]."""
    return shapes[ids].flatten(1)


def high_level(ids):
    """The high-level causal model on shape ids [n, 4]: (V1, V2, out) as bool tensors."""
    v1, v2 = ids[:, 0] == ids[:, 1], ids[:, 2] == ids[:, 3]
    return v1, v2, v1 == v2


def first_shape_model(ids, first=None):
    """A WRONG high-level model of the same task (the DAS paper's): its variable A is the identity of
    the first shape, out = ((A = b) = (c = d)). `first` sets A (an intervention); None keeps a."""
    a = ids[:, 0] if first is None else first
    return (a == ids[:, 1]) == (ids[:, 2] == ids[:, 3])


def counterfactual_labels(base_ids, source_ids, variable):
    """The high-level model's output on the base when `variable` takes its value on the source:
    V1 -> (V1(source) = V2(base)), V2 -> (V1(base) = V2(source)), "V1+V2" (both swapped) -> (V1(source) =
    V2(source)), the source's own label; A (wrong model) -> ((a_source = b) = (c = d)) of the base. A long tensor
    of 0/1 labels."""
    v1_b, v2_b, _ = high_level(base_ids)
    v1_s, v2_s, _ = high_level(source_ids)
    if variable == "V1":
        out = v1_s == v2_b
    elif variable == "V2":
        out = v1_b == v2_s
    elif variable == "V1+V2":
        out = v1_s == v2_s
    elif variable == "A":
        out = first_shape_model(base_ids, first=source_ids[:, 0])
    else:
        raise ValueError(f"variable={variable!r}: use 'V1', 'V2', 'V1+V2' (the high-level model) or 'A' (the wrong one).")
    return out.long()


def make_pairs(n, seed, n_shapes):
    """n (base, source) pairs of fresh inputs on a pool of n_shapes shapes: {"base": ids [n, 4], "source": ids [n, 4]}."""
    both = make_inputs(2 * n, n_shapes, seed)
    return {"base": both[:n], "source": both[n:]}


# ---------------------------------------------------------------- the network

class MLP(nn.Module):
    """x -> ReLU(Linear) per hidden width -> Linear to 2 logits. hidden(x, layer) is the output of
    hidden layer `layer` (0-based, after its ReLU); from_hidden(h, layer) runs the layers above it."""

    def __init__(self, in_dim=4 * SHAPE_DIM, hidden=HIDDEN):
        super().__init__()
        widths = [in_dim, *hidden]
        self.layers = nn.ModuleList(nn.Linear(i, o, dtype=DTYPE) for i, o in zip(widths, widths[1:]))
        self.out = nn.Linear(widths[-1], 2, dtype=DTYPE)

    def hidden(self, x, layer):
        for linear in self.layers[: layer + 1]:
            x = F.relu(linear(x))
        return x

    def from_hidden(self, h, layer):
        for linear in self.layers[layer + 1:]:
            h = F.relu(linear(h))
        return self.out(h)

    def forward(self, x):
        return self.from_hidden(self.hidden(x, len(self.layers) - 1), len(self.layers) - 1)

    def next_linear(self, layer):
        """The Linear that reads hidden layer `layer` (the next hidden layer's, or the output's)."""
        return self.layers[layer + 1] if layer + 1 < len(self.layers) else self.out

    def next_weight(self, layer):
        """The weight that reads hidden layer `layer`: [next width, d]."""
        return self.next_linear(layer).weight


def train_mlp(shapes, hidden=HIDDEN, n_train=20000, steps=3000, lr=3e-3, batch_size=256, seed=TRAIN_SEED):
    """A seeded MLP trained on n_train inputs (seed `seed`) with Adam and cross-entropy."""
    ids = make_inputs(n_train, len(shapes), seed)
    x, y = embed(ids, shapes), high_level(ids)[2].long()
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        mlp = MLP(x.shape[1], hidden)
    opt = torch.optim.Adam(mlp.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    with one_thread():
        _fit(mlp, opt, x, y, g, steps, batch_size)
    return mlp.requires_grad_(False)


def _fit(mlp, opt, x, y, g, steps, batch_size):
    for _ in range(steps):
        rows = torch.randint(len(x), (batch_size,), generator=g)
        loss = F.cross_entropy(mlp(x[rows]), y[rows])
        opt.zero_grad()
        loss.backward()
        opt.step()


def task_accuracy(mlp, shapes, n=4000, seed=TEST_SEED):
    """Share of n fresh inputs on the pool `shapes` (the test pool: shapes the MLP never saw) on which the
    MLP's answer is (a = b) = (c = d)."""
    ids = make_inputs(n, len(shapes), seed)
    with torch.no_grad():
        return (mlp(embed(ids, shapes)).argmax(-1) == high_level(ids)[2].long()).double().mean().item()


# ---------------------------------------------------------------- interventions and IIA

def interchange(mlp, x_base, x_source, layer, basis):
    """Logits of the MLP run on x_base with hidden layer `layer`'s subspace `basis` ([k, d], orthonormal rows)
    taken from x_source: h' = h_base + B^T B (h_source - h_base) (interventions.low_rank_swap); basis = the
    identity is full-layer patching."""
    h = low_rank_swap(mlp.hidden(x_base, layer), mlp.hidden(x_source, layer), basis)
    return mlp.from_hidden(h, layer)


def score(mlp, shapes, pairs, layer, basis, variable):
    """{"all": IIA on every pair, "changed": IIA on the pairs whose counterfactual label differs from the
    base's own label (where doing nothing scores 0), "hits": [n] bool per pair (metrics.hits), "changed_mask":
    [n] bool} for one variable and one subspace; `shapes` is the pool the pairs' ids index."""
    labels = counterfactual_labels(pairs["base"], pairs["source"], variable)
    changed = labels != high_level(pairs["base"])[2].long()
    with torch.no_grad():
        hit = hits(interchange(mlp, embed(pairs["base"], shapes), embed(pairs["source"], shapes), layer, basis), labels)
    return {"all": hit.double().mean().item(), "changed": hit[changed].double().mean().item(), "hits": hit,
            "changed_mask": changed}


# ---------------------------------------------------------------- DAS

def train_das(mlp, shapes, layer, k, variables=VARIABLES, steps=800, lr=1e-2, batch_size=128, seed=TRAIN_SEED,
              n_pairs=8000):
    """One RotatedSubspace(d, len(variables) * k): variable i is aligned with rows i*k .. (i+1)*k - 1 of R_k.
    Each step draws batch_size fresh training pairs per variable (seed `seed`), swaps that variable's
    rows from the source and minimises the cross-entropy of the high-level counterfactual label."""
    pairs = make_pairs(n_pairs, seed + 100, len(shapes))
    x_base, x_source = embed(pairs["base"], shapes), embed(pairs["source"], shapes)
    with torch.no_grad():
        h_base, h_source = mlp.hidden(x_base, layer), mlp.hidden(x_source, layer)  # the MLP is frozen
    labels = {v: counterfactual_labels(pairs["base"], pairs["source"], v) for v in variables}
    return _fit_rotation(mlp, h_base, h_source, labels, layer, k, steps, lr, batch_size, seed)


def train_rotation(mlp, h_base, h_source, labels, layer, k, steps=800, lr=1e-2, batch_size=128, seed=TRAIN_SEED):
    """Exercise 4.2's loop, for one variable: a RotatedSubspace(d, k) trained on the hidden states h_base,
    h_source [N, d] at `layer` so that swapping its subspace gives the counterfactual `labels` [N]."""
    return _fit_rotation(mlp, h_base, h_source, {"V": labels}, layer, k, steps, lr, batch_size, seed)


def _fit_rotation(mlp, h_base, h_source, labels, layer, k, steps, lr, batch_size, seed):
    """`steps` Adam steps on a fresh RotatedSubspace(d, len(labels) * k); labels: {variable: [N] labels}."""
    variables = tuple(labels)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        rotation = RotatedSubspace(h_base.shape[1], len(variables) * k).to(DTYPE)
    opt = torch.optim.Adam(rotation.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    with one_thread():
        for _ in range(steps):
            _das_step(rotation, opt, mlp, layer, k, variables, h_base, h_source, labels, g, batch_size)
    return rotation


def _das_step(rotation, opt, mlp, layer, k, variables, h_base, h_source, labels, g, batch_size):
    R_k, loss = rotation.R_k, 0.0
    for i, v in enumerate(variables):
        rows = torch.randint(len(h_base), (batch_size,), generator=g)
        h = low_rank_swap(h_base[rows], h_source[rows], R_k[i * k:(i + 1) * k])
        loss = loss + F.cross_entropy(mlp.from_hidden(h, layer), labels[v][rows])
    opt.zero_grad()
    loss.backward()
    opt.step()


def variable_basis(rotation, i, k):
    """Rows i*k .. (i+1)*k - 1 of a trained rotation's R_k: the subspace aligned with variable i."""
    return rotation.R_k[i * k:(i + 1) * k].detach()


def random_bases(d, k, n, seed):
    """n random [2k, d] bases with orthonormal rows (a fresh RotatedSubspace's R_k each)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return [RotatedSubspace(d, 2 * k).to(DTYPE).R_k.detach() for _ in range(n)]


def neuron_bases(d, k, n, seed):
    """n random choices of 2k distinct neurons as [2k, d] bases (rows of the identity)."""
    g = torch.Generator().manual_seed(seed)
    return [torch.eye(d, dtype=DTYPE)[torch.randperm(d, generator=g)[:2 * k]] for _ in range(n)]


def best_neurons(mlp, shapes, pairs, layer, k, variable):
    """The best k neurons for `variable`: every one of the C(d, k) sets scored on `pairs` (IIA on all pairs,
    the validation pairs in `run`), the best as a [k, d] basis of identity rows. C(32, 2) = 496 sets: seconds."""
    d = mlp.layers[layer].out_features
    eye = torch.eye(d, dtype=DTYPE)
    return max((eye[list(rows)] for rows in itertools.combinations(range(d), k)),
               key=lambda b: score(mlp, shapes, pairs, layer, b, variable)["all"])


def score_both(mlp, shapes, pairs, layer, basis, k):
    """V1 on rows 0..k-1 and V2 on rows k..2k-1 of `basis`: {"V1": score, "V2": score, "min": lower IIA}."""
    return with_min({v: score(mlp, shapes, pairs, layer, basis[i * k:(i + 1) * k], v) for i, v in enumerate(VARIABLES)})


def with_min(per_variable):
    """{"V1": score, "V2": score} with "min": the lower of the two's IIA on all pairs and on label-changing pairs."""
    per_variable["min"] = {part: min(per_variable[v][part] for v in VARIABLES) for part in ("all", "changed")}
    return per_variable


# ---------------------------------------------------------------- the illusion, and the procedure that exposes it

def separation(acts, labels, direction):
    """How well `direction` ([d]) tells the classes of a bool variable apart in acts [n, d]:
    (mean difference m1 - m0 of acts @ direction, d' = (m1 - m0) / pooled standard deviation)."""
    on, off = acts[labels] @ direction, acts[~labels] @ direction
    gap = (on.mean() - off.mean()).item()
    return gap, gap / (0.5 * (on.var() + off.var())).sqrt().item()


def best_separating_direction(acts, labels, basis):
    """The unit direction inside the span of `basis`'s orthonormal rows ([m, d]) with the largest d' for the
    bool `labels`: Fisher's discriminant w = S_within^-1 (m1 - m0) in the basis's coordinates, mapped back.
    Its sign makes the class True the larger side."""
    z = acts @ basis.T
    within = torch.cov(z[labels].T) + torch.cov(z[~labels].T)
    ridge = 1e-9 * within.diagonal().mean() * torch.eye(len(basis), dtype=z.dtype)  # keeps the solve defined
    w = torch.linalg.solve(within + ridge, z[labels].mean(0) - z[~labels].mean(0)) @ basis
    return w / w.norm()


# ---------------------------------------------------------------- the illusion, built into an equivalent network

def add_units(mlp, layer, w_in, b_in, w_out):
    """A copy of `mlp` with m units appended to hidden layer `layer`: unit j is ReLU(w_in[j] . x + b_in[j]) of
    the layer below and the next layer reads it through column w_out[:, j] (w_in [m, in], b_in [m],
    w_out [next, m]). The original units keep their indices 0..d-1."""
    old_in, old_next = mlp.layers[layer], mlp.next_linear(layer)
    with torch.random.fork_rng():  # nn.Linear's random init is overwritten below: keep the caller's RNG untouched
        wider_in = nn.Linear(old_in.in_features, old_in.out_features + len(w_in), dtype=DTYPE)
        wider_next = nn.Linear(old_next.in_features + len(w_in), old_next.out_features, dtype=DTYPE)
    with torch.no_grad():
        wider_in.weight.copy_(torch.cat([old_in.weight, w_in]))
        wider_in.bias.copy_(torch.cat([old_in.bias, b_in]))
        wider_next.weight.copy_(torch.cat([old_next.weight, w_out], dim=1))
        wider_next.bias.copy_(old_next.bias)
    new = copy.deepcopy(mlp)
    new.layers[layer] = wider_in
    if layer + 1 < len(new.layers):
        new.layers[layer + 1] = wider_next
    else:
        new.out = wider_next
    return new.requires_grad_(False)


def add_disconnected_copy(mlp, layer):
    """Append to hidden layer `layer` a copy of its d units (same incoming weights and biases) that the next
    layer never reads (outgoing weights 0): the copy's directions lie in the next weight's null space, move
    with the inputs like the originals, and change nothing. Same function on every input."""
    lin = mlp.layers[layer]
    return add_units(mlp, layer, lin.weight, lin.bias, torch.zeros(mlp.next_weight(layer).shape, dtype=DTYPE))


def plant_dormant_pathway(mlp, layer, effect):
    """Append to hidden layer `layer` one dormant unit: incoming weights and bias 0, so it is ReLU(0) = 0 on
    every input, and the next layer reads it through the column `effect` ([next width]). Same function on
    every input; but a patch that sets the unit to t adds t * effect to the next layer's pre-activation."""
    d_in, d_next = mlp.layers[layer].in_features, mlp.next_weight(layer).shape[0]
    return add_units(mlp, layer, torch.zeros(1, d_in, dtype=DTYPE), torch.zeros(1, dtype=DTYPE),
                     effect.reshape(d_next, 1))


def illusion_direction(disconnected, dormant_index, scale=1.0):
    """v = a u + b e_dormant, with u = `disconnected` (a unit vector [D] in the next weight's null space) and

        a = cos(theta), b = sin(theta), sin(2 theta) = 1 / scale  (theta <= pi/4, so b <= a),  i.e. 2 scale a b = 1.

    Patching along v, h' = h_base + v v^T (h_source - h_base), moves the dormant unit (0 in both runs) to
    a b u^T (h_source - h_base): the difference the disconnected part sees, handed to the dormant pathway. If
    the next layer reads the dormant unit through 2 scale W_next u, it receives W_next u u^T (h_source - h_base)
    whatever the scale. scale = 1: v = (u + e_dormant) / sqrt(2). Neither part alone moves anything the next
    layer reads on natural inputs."""
    if scale < 1:
        raise ValueError(f"scale={scale}: a unit v gives 2 a b <= 1, so the dormant column's scale must be >= 1 "
                         f"(scale the dormant unit's outgoing weight up, not down).")
    theta = 0.5 * torch.asin(torch.tensor(1.0 / scale, dtype=DTYPE))
    v = torch.cos(theta) * disconnected
    v[dormant_index] = v[dormant_index] + torch.sin(theta)
    return v


def planted_copy(mlp, layer, u, scale=1.0):
    """The planted-copy illusion around a unit direction u ([d]) of hidden layer `layer`: a disconnected copy
    of the layer's d units (`add_disconnected_copy`), then one dormant unit read through the column
    c = 2 scale W_next u (`plant_dormant_pathway`); v = illusion_direction(u on the copy's units, the dormant
    unit, scale). The dormant unit is 0 on every input, so every scale gives the same function, and the patch
    along v gives the next layer 2 scale a b (u^T dh) W_next u = (u^T dh) W_next u: the original network
    patched along u. Returns (network, v, disconnected part, dormant part), directions of the 2d + 1 units."""
    d = len(u)
    net = plant_dormant_pathway(add_disconnected_copy(mlp, layer), layer, 2 * scale * mlp.next_weight(layer) @ u)
    disconnected = embed_vector(u, 2 * d + 1, offset=d)
    return net, illusion_direction(disconnected, 2 * d, scale), disconnected, torch.eye(2 * d + 1, dtype=DTYPE)[-1]


def dormant_read_share(next_weight, column):
    """1 / (1 + q), q = c^T (W W^T)^-1 c (W = next_weight [m, d] of full row rank, c = column [m]): when the
    next layer reads the original units through W and a dormant unit through c, the share of the squared
    length of the dormant axis's read part (its projection on the row space of [W, c]) that lies on the
    original units (Sherman-Morrison). Near 1: the read part is mostly a direction the original units move
    along; near 0: the read part is the dormant axis itself. c = 2 scale W u gives q = 4 scale^2 ||P_row u||^2."""
    q = column @ torch.linalg.solve(next_weight @ next_weight.T, column)
    return (1 / (1 + q)).item()


def embed_vector(vector, size, offset=0):
    """`vector` placed at positions offset.. of a zero vector of length `size` (a direction of the widened layer)."""
    out = torch.zeros(size, dtype=vector.dtype)
    out[offset:offset + len(vector)] = vector
    return out


def variable_direction(mlp, shapes, layer, basis, variable="V1", n=4000, seed=TRAIN_SEED):
    """u: the unit direction inside the span of `basis` ([k, d], e.g. DAS's subspace for `variable`) along the
    class-mean difference of the variable, mean(h | variable true) - mean(h | false), on n training inputs."""
    ids = make_inputs(n, len(shapes), seed)
    acts, labels = mlp.hidden(embed(ids, shapes), layer), high_level(ids)[VARIABLES.index(variable)]
    gap = acts[labels].mean(0) - acts[~labels].mean(0)
    u = gap @ basis.T @ basis
    return u / u.norm()


def build_illusion(mlp, shapes, layer, u, scale=1.0, n=4000, seed=TRAIN_SEED):
    """The two constructions of the chapter, both from a real V1 direction u ([d]) of the trained network:

    "own null space": one dormant unit, whose outgoing column is gain * W_next u, and the disconnected part
        u_null = the direction in W_next's null space (of the original units) that best separates V1; the gain
        2 * gap(u) / gap(u_null) makes the dormant unit hand on u's V1 gap (class-mean differences).
    "planted copy": `planted_copy(mlp, layer, u, scale)`, a disconnected copy of the layer's units and the
        dormant unit with column 2 scale W_next u: the patch along v gives the next layer exactly
        W_next u u^T dh, the original network patched along u.

    Returns {name: (network, v = the 1-D patch direction, its disconnected part, its dormant part)}."""
    d, W = len(u), mlp.next_weight(layer)
    ids = make_inputs(n, len(shapes), seed)
    acts, v1 = mlp.hidden(embed(ids, shapes), layer), high_level(ids)[0]
    u_null = best_separating_direction(acts, v1, null_space(W))
    gain = 2 * separation(acts, v1, u)[0] / separation(acts, v1, u_null)[0]
    disconnected = embed_vector(u_null, d + 1)
    own = (plant_dormant_pathway(mlp, layer, gain * W @ u), illusion_direction(disconnected, d), disconnected,
           torch.eye(d + 1, dtype=DTYPE)[-1])
    return {"own null space": own, "planted copy": planted_copy(mlp, layer, u, scale)}


def illusion_report(mlp, shapes, pairs, layer, u, scale=1.0):
    """For each construction of `build_illusion(mlp, shapes["train"], layer, u, scale)`, on `pairs` (V1's
    counterfactuals, on shapes["test"]): whether it computes the same function (logits equal to 1e-12 on 4000
    held-out inputs), the IIA of the 1-D patch along v and along each of its constructed parts alone, and
    `split_report` of v: the basis-free procedure that is run on DAS's spans too."""
    test = shapes["test"]
    x = embed(make_inputs(4000, len(test), TEST_SEED), test)
    report = {}
    for name, (net, v, disconnected, dormant) in build_illusion(mlp, shapes["train"], layer, u, scale).items():
        with torch.no_grad():
            same = torch.allclose(net(x), mlp(x), rtol=0, atol=1e-12)
        report[name] = {
            "same_function": same,
            "iia": score(net, test, pairs, layer, v[None], "V1"),
            "disconnected_iia": score(net, test, pairs, layer, disconnected[None], "V1"),
            "dormant_iia": score(net, test, pairs, layer, dormant[None], "V1"),
            "split": split_report(net, shapes, pairs, layer, v[None], "V1"),
        }
    return report


def scale_sweep(mlp, shapes, pairs, layer, u, scales=None):
    """The planted copy at each scale of the dormant unit's column 2 scale W_next u (`planted_copy`; default
    PLANTED_SCALES): {scale: {"a", "b": v's mixing, "read_share": dormant_read_share (1 / (1 + q)), "iia":
    score along v (V1, on `pairs`), "split": split_report of v}}. The function and the patch's effect are the
    same at every scale; only the geometry the procedure reads changes."""
    scales = PLANTED_SCALES if scales is None else scales
    W, test = mlp.next_weight(layer), shapes["test"]
    out = {}
    for scale in scales:
        net, v, disconnected, _ = planted_copy(mlp, layer, u, scale)
        a, b = v @ disconnected, v[-1]
        out[scale] = {"a": a.item(), "b": b.item(), "read_share": dormant_read_share(W, 2 * scale * W @ u),
                      "iia": score(net, test, pairs, layer, v[None], "V1"),
                      "split": split_report(net, shapes, pairs, layer, v[None], "V1")}
    return out


def dormant_scale(sweep):
    """The smallest scale of `scale_sweep`'s whose v has a dormant read part (flags' "dormant_read"): the
    scale at which the planted copy has the geometry Makelov et al. describe."""
    for scale in sorted(sweep):
        if sweep[scale]["split"]["flags"]["dormant_read"]:
            return scale
    raise ValueError(f"No scale in {sorted(sweep)} gives v a dormant read part: pass larger scales to scale_sweep.")


def split_report(mlp, shapes, pairs, layer, basis, variable):
    """diagnostics.read_ignored_split of span(basis) at `layer` of `mlp`, with its flags: natural variances from
    4000 held-out inputs, each part's IIA alone on the label-changing pairs of `pairs` for `variable`."""
    test = shapes["test"]
    with torch.no_grad():
        acts = mlp.hidden(embed(make_inputs(4000, len(test), TEST_SEED), test), layer)
        report = diagnostics.read_ignored_split(
            basis, mlp.next_weight(layer), acts,
            lambda part: score(mlp, test, pairs, layer, part, variable)["changed"])
    return {**report, "flags": diagnostics.flags(report)}


# ---------------------------------------------------------------- the chapter's run

LAYER, K = 0, 2  # chosen on the validation pairs (python tools/toy_validation.py): with the training pool of
# 10,000 shapes, 20,000 inputs and 3000 steps, layer 0 is where DAS reaches 0.95 (k = 1, 2, 4: 0.97-1.00; layer 1:
# 0.52-0.58), and k = 2 is the smallest k with validation IIA >= 0.95 for both V1 and V2 (0.995 and 0.992).
N_RANDOM = 5
PLANTED_SCALES = (1, 2, 5, 10, 20)  # the planted copy's dormant column 2 scale W u; the chapter's scale is the
# smallest of these whose v has a dormant read part (dormant_scale): what the construction needs, not a tuning.
WRONG_KS = (2, 4, 8)  # the wrong model's variable gets up to 4 times V1's dimensions


def entity_names(pairs):
    """Entity names for metrics.paired_difference: every input is its own entity (the pairs are built from
    distinct fresh inputs on a pool of 10,000 shapes, so they share almost no shape)."""
    n = len(pairs["base"])
    return [f"base {i}" for i in range(n)], [f"source {i}" for i in range(n)]


def compare(first, second, pairs):
    """metrics.paired_difference of two scores on the same pairs (IIA on all pairs): [diff, lo, hi]."""
    return list(paired_difference(first["hits"].double(), second["hits"].double(), *entity_names(pairs)))


def mean_score(scores):
    """The mean of several scores of one variable on the same pairs; "hits" becomes each pair's share of hits."""
    out = {part: sum(s[part] for s in scores) / len(scores) for part in ("all", "changed")}
    out["hits"] = torch.stack([s["hits"].double() for s in scores]).mean(0)
    return out


def run(layer=LAYER, k=K, n_pairs=2000, mlp=None, progress=print):
    """`chapter_run` on one CPU thread (this tiny network's thousand small scoring passes only wait on a second
    thread, and a busy machine makes that wait long); same arguments and result."""
    with one_thread():
        return chapter_run(layer, k, n_pairs, mlp, progress)


def chapter_run(layer=LAYER, k=K, n_pairs=2000, mlp=None, progress=print):
    """The chapter's numbers, all on the same held-out pairs of unseen (test) shapes: the MLP's accuracy; IIA
    for DAS (V1, V2, and the joint swap of both) and the controls, each as {"all", "changed", "hits"} (per
    variable, and "min": the lower of V1's and V2's); DAS minus each control as a paired difference with its
    interval (`compare`); the planted copy at each of PLANTED_SCALES (`scale_sweep`), the illusion
    (`illusion_report`) at the smallest of them whose read part is dormant ("illusion_scale"), and the same
    procedure on DAS's V1 and V2 spans and on u. `mlp`: the chapter's trained MLP if you have it already
    (train_mlp(make_shapes("train"))), else trained here."""
    shapes = {split: make_shapes(split) for split in SPLIT_SEEDS}
    mlp = train_mlp(shapes["train"]) if mlp is None else mlp
    test_shapes = shapes["test"]
    progress(f"MLP trained: accuracy on unseen shapes {task_accuracy(mlp, test_shapes):.3f}")
    validation = make_pairs(n_pairs, VALIDATION_SEED, len(shapes["validation"]))
    test = make_pairs(n_pairs, TEST_SEED, len(test_shapes))
    d = mlp.layers[layer].out_features
    rotation = train_das(mlp, shapes["train"], layer, k)
    R_k = rotation.R_k.detach()
    das = score_both(mlp, test_shapes, test, layer, R_k, k)
    # Neurons: for each variable the best k of all C(d, k) sets on the validation pairs, scored on the test pairs.
    neuron = with_min({v: score(mlp, test_shapes, test, layer,
                                best_neurons(mlp, shapes["validation"], validation, layer, k, v), v) for v in VARIABLES})
    progress(f"all {len(list(itertools.combinations(range(d), k)))} sets of {k} neurons scored for V1 and for V2")
    randoms = [score_both(mlp, test_shapes, test, layer, b, k) for b in random_bases(d, k, N_RANDOM, seed=0)]
    random = with_min({v: mean_score([r[v] for r in randoms]) for v in VARIABLES})
    identity = torch.eye(d, dtype=DTYPE)
    full = score_both(mlp, test_shapes, test, layer, torch.cat([identity, identity]), d)
    wrong = {kk: score(mlp, test_shapes, test, layer,
                       train_das(mlp, shapes["train"], layer, kk, variables=("A",)).R_k.detach(), "A") for kk in WRONG_KS}
    progress("the wrong model's variable trained with k = " + ", ".join(map(str, WRONG_KS)))
    u = variable_direction(mlp, shapes["train"], layer, variable_basis(rotation, 0, k))
    sweep = scale_sweep(mlp, shapes, test, layer, u)
    illusion_scale = dormant_scale(sweep)
    controls = {"neuron": neuron, "random": random, "full": full}
    return {
        "mlp": mlp, "shapes": shapes, "rotation": rotation, "test": test, "layer": layer, "k": k, "u": u,
        "task_accuracy": task_accuracy(mlp, test_shapes),
        "das": das, **controls,
        "joint": {"das": score(mlp, test_shapes, test, layer, R_k, "V1+V2"),
                  "full": score(mlp, test_shapes, test, layer, identity, "V1+V2")},
        "wrong_model": wrong,
        # DAS minus each control on the same pairs, per variable; the wrong model's A against DAS's V1.
        "differences": {**{f"{name} {v}": compare(das[v], c[v], test) for name, c in controls.items() for v in VARIABLES},
                        **{f"wrong_model_k{kk} V1": compare(das["V1"], s, test) for kk, s in wrong.items()}},
        "u_iia": score(mlp, test_shapes, test, layer, u[None], "V1"),
        "scale_sweep": sweep, "illusion_scale": illusion_scale,
        "illusion": illusion_report(mlp, shapes, test, layer, u, illusion_scale),
        "das_split": {v: split_report(mlp, shapes, test, layer, variable_basis(rotation, i, k), v)
                      for i, v in enumerate(VARIABLES)},
        "u_split": split_report(mlp, shapes, test, layer, u[None], "V1"),
    }


def summary(result, digits=4):
    """The JSON-ready numbers of `run`'s result, floats rounded to `digits` places (None: as computed)."""
    out = {"task_accuracy": result["task_accuracy"], "layer": result["layer"], "k": result["k"],
           "das_v1_iia": result["das"]["V1"]["all"], "das_v2_iia": result["das"]["V2"]["all"]}
    for name in ("das", "neuron", "random", "full"):
        out[f"{name}_iia"], out[f"{name}_iia_changed"] = result[name]["min"]["all"], result[name]["min"]["changed"]
    for kk, s in result["wrong_model"].items():
        out[f"wrong_model_k{kk}_iia"], out[f"wrong_model_k{kk}_iia_changed"] = s["all"], s["changed"]
    for name, s in result["joint"].items():
        out[f"joint_{name}_iia"], out[f"joint_{name}_iia_changed"] = s["all"], s["changed"]
    for name, diff in result["differences"].items():
        out[f"diff {name}"] = diff
    out["u_iia"], out["u_iia_changed"] = result["u_iia"]["all"], result["u_iia"]["changed"]
    for prefix, name in (("illusion", "planted copy"), ("illusion_own_null", "own null space")):
        ill = result["illusion"][name]
        for key, part in (("", "iia"), ("_null_part", "disconnected_iia"), ("_dormant_part", "dormant_iia")):
            out[f"{prefix}{key}_iia"], out[f"{prefix}{key}_iia_changed"] = ill[part]["all"], ill[part]["changed"]
        out[f"{prefix}_same_function"] = ill["same_function"]
        out.update(split_numbers(prefix, ill["split"]))
    out["illusion_scale"] = result["illusion_scale"]
    out["scale_sweep"] = {str(scale): {"a": row["a"], "b": row["b"], "read_share": row["read_share"],
                                       "iia": row["iia"]["all"], "iia_changed": row["iia"]["changed"],
                                       **split_numbers("", row["split"])} for scale, row in result["scale_sweep"].items()}
    for v, report in result["das_split"].items():
        out.update(split_numbers(f"das_{v.lower()}", report))
    out.update(split_numbers("u", result["u_split"]))
    return {key: _rounded(v, digits) for key, v in out.items()}


def split_numbers(prefix, report):
    """A `split_report` as flat JSON fields, named prefix_<field> (just <field> when prefix is "")."""
    fields = {"null_fraction": report["null_fraction"], "null_fraction_random": report["null_fraction_random"],
              **{f"{part}_{key}": report[part][key] for part in ("read", "ignored")
                 for key in ("dim", "least_variance", "most_variance", "iia")},
              "flags": report["flags"]}
    return {f"{prefix}_{key}" if prefix else key: value for key, value in fields.items()}


def _rounded(v, digits):
    if isinstance(v, float):
        return v if digits is None else round(v, digits)
    if isinstance(v, list):
        return [_rounded(x, digits) for x in v]
    if isinstance(v, dict):
        return {key: _rounded(x, digits) for key, x in v.items()}
    return v


def main():
    started = time.time()
    result = run(progress=lambda msg: print(f"{msg} ({time.time() - started:.0f} s)", file=sys.stderr, flush=True))
    numbers = summary(result, digits=None)  # printed with 3 places from the unrounded values (as the chapter does)
    for name in ("das", "neuron", "random", "full", "wrong_model_k2", "wrong_model_k8", "joint_das"):
        print(f"{name:15s} IIA all pairs {numbers[name + '_iia']:.3f}   label-changing pairs "
              f"{numbers[name + '_iia_changed']:.3f}", file=sys.stderr)
    for scale, row in numbers["scale_sweep"].items():
        print(f"planted copy, dormant column 2 x {scale:>2s} W u: IIA along v {row['iia']:.3f}, read part's least "
              f"natural variance {row['read_least_variance']:.3f}, flagged {row['flags']['illusion']}", file=sys.stderr)
    print(f"the illusion below uses scale {numbers['illusion_scale']}: the smallest whose read part is dormant",
          file=sys.stderr)
    for prefix in ("illusion", "illusion_own_null", "das_v1", "das_v2"):
        print(f"{prefix:17s} null fraction {numbers[prefix + '_null_fraction']:.3f} (random "
              f"{numbers[prefix + '_null_fraction_random'][0]:.3f}); flags {numbers[prefix + '_flags']}", file=sys.stderr)
    print(json.dumps(summary(result)))


if __name__ == "__main__":
    main()
