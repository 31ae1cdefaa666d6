"""Interventions: what replaces h at the patched position, h' = intervention(h_base, h_source).

h_base is the base prompt's residual stream at (layer, the city's last token), h_source the source
prompt's at the same place; both are [..., d]. Every intervention of the course is one class here, with
its formula in its docstring:

    FullPatch          h' = h_source                                                  (chapter 1)
    NeuronSwap         h' = h_base + m * (h_source - h_base),   m a 0/1 mask [d]      (chapter 2)
    RotatedSubspace    h' = h_base + R_k^T R_k (h_source - h_base),   R_k learnt      (chapters 3, 5)
    FixedSubspace      the same with R_k given and frozen (PCA, best-k neurons)       (chapter 6)
    BoundlessSubspace  h' = h_base + R^T diag(m) R (h_source - h_base), m soft, learnt (chapter 7)
    LearnedNeuronMask  h' = h_base + sigmoid(logits / T) * (h_source - h_base); top k kept (chapter 6)
    SparseNeuronMask   the same mask with RAVEL's L1 price sparsity * sum(m); the m > 0.5 set is kept
    PublishedBoundless BoundlessSubspace as Wu et al. 2023 / pyvene train it (two-sided mask, clamped
                       boundary, linear temperature, its own learning rate for the boundary)

A new kind of intervention is one subclass of `Intervention` (in any file, a notebook included): give it
forward(h_base, h_source), and `config()` when its constructor takes arguments. Then `train.train_das`
trains it (swap=...), and `storage.save_intervention` / `load_intervention` write and read it (by class name).
"""
import torch
from torch import nn
from torch.nn.utils.parametrizations import orthogonal


def check_states(h_base, h_source, d):
    """h_base and h_source must be [..., d] tensors of the same shape (what every swap module takes)."""
    if h_base.shape != h_source.shape or h_base.shape[-1] != d:
        raise ValueError(
            f"h_base {tuple(h_base.shape)} and h_source {tuple(h_source.shape)} must have the same "
            f"shape, ending in d = {d}."
        )


def check_k(k: int, d: int, what: str = "the subspace needs 1 <= k <= d = {d} dimensions") -> None:
    """k must be an int with 1 <= k <= d; `what` ends the error (with {d} filled in), e.g. for neurons."""
    if not (isinstance(k, int) and 1 <= k <= d):
        raise ValueError(f"k={k!r} is out of range: {what.format(d=d)}.")


def swap_coordinates(h_base, h_source, m):
    """h' = h_base + m * (h_source - h_base) for a mask m ([d] or [..., d]; 0/1 or soft, in [0, 1]):
    coordinate i moves m_i of the way from the base's value to the source's. Differentiable in h_base,
    h_source and m. Computed in m's dtype and device (a float32 mask may patch a bfloat16 model on a
    GPU); h' comes back in h_base's. The one formula behind neuron_patch, NeuronSwap and mask_swap."""
    return h_base + (m * (h_source - h_base).to(m)).to(h_base)


def seeded(cls, *args, seed: int = 0, **kwargs):
    """cls(*args, **kwargs) built with torch seeded by `seed`, leaving the caller's random state alone:
    the one way an intervention with a random start (RotatedSubspace's R_k, ...) gets a reproducible one."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return cls(*args, **kwargs)


class Intervention(nn.Module):
    """h' = forward(h_base, h_source), a [..., d] tensor like h_base.

    Training hooks (train.train_das calls both every step; here they do nothing):
      anneal(fraction): hears how much of training is done (0 to 1) before each step.
      penalty():        a term added to the loss (0 here).
    Storage (storage.save_intervention): the class name is the file's type tag, `config()` the constructor's
    keyword arguments (plain values), and the tensors travel in the state_dict.
    d, k: the hidden size and the subspace's size, when the intervention has them (files record them and
    check d against the model's hidden size); None otherwise.
    """

    d = k = None

    def forward(self, h_base, h_source):
        raise NotImplementedError(f"{type(self).__name__} needs a forward(h_base, h_source) that returns h'.")

    def anneal(self, fraction):
        """Told before each training step how far training is (0 to 1); nothing to do by default."""

    def penalty(self):
        """A price added to the training loss; none by default."""
        return 0.0

    def param_groups(self):
        """The optimizer's parameter groups (torch.optim's dicts): one group at the training lr by default;
        an intervention that wants its own learning rate for some parameters returns a group with "lr"."""
        return [{"params": list(self.parameters())}]

    def config(self):
        """The keyword arguments that rebuild this intervention (its tensors come from the state_dict)."""
        return {}


class FullPatch(Intervention):
    """h' = h_source: the whole residual stream (k = d; a reference for Cause and Isolate, not a bound: a chosen subspace can beat it)."""

    def forward(self, h_base, h_source):
        return h_source


class NeuronSwap(Intervention):
    """Swap the neurons (coordinates of h) that the 0/1 mask m [d] selects:

        h' = h_base + m * (h_source - h_base)

    mask: a [d] tensor or list, e.g. dc.top_k_mask(order, k); k is the number of neurons it selects.
    """

    def __init__(self, mask):
        super().__init__()
        mask = torch.as_tensor(mask, dtype=torch.float32)
        if mask.ndim != 1:
            raise ValueError(f"mask must be one [d] vector, got shape {tuple(mask.shape)}.")
        self.register_buffer("mask", mask)
        self.d, self.k = len(mask), int(mask.sum())

    def forward(self, h_base, h_source):
        check_states(h_base, h_source, self.d)
        return swap_coordinates(h_base, h_source, self.mask)

    def config(self):
        return {"mask": self.mask.tolist()}  # 0/1 floats: exact as plain values

    def extra_repr(self):
        return f"d={self.d}, k={self.k}"


def rotate_swap_rotate_back(h_base, h_source, R, k):
    """h' = R^T [ (R h_source)_{:k} ; (R h_base)_{k:} ] for an orthogonal [d, d] R (chapter 3's definition).

    Rows are vectors: h is [..., d], R h is h @ R.T, and rotating back is z @ R."""
    rotated_base, rotated_source = h_base @ R.T, h_source @ R.T
    return torch.cat([rotated_source[..., :k], rotated_base[..., k:]], dim=-1) @ R


def low_rank_swap(h_base, h_source, R_k):
    """h' = h_base + R_k^T R_k (h_source - h_base) for R_k [k, d] with orthonormal rows: the same h' as
    rotate_swap_rotate_back with any orthogonal R whose first k rows are R_k.

    Computed in R_k's dtype and device (a float32 R_k may patch a bfloat16 model on a GPU); h' comes
    back in h_base's."""
    delta = (h_source - h_base).to(R_k) @ R_k.T @ R_k
    return h_base + delta.to(h_base)


class RotatedSubspace(Intervention):
    """Swap a k-dimensional subspace of h from the source into the base.

        forward(h_base, h_source) = h_base + R_k^T R_k (h_source - h_base)

    which equals R^T [ (R h_source)_{:k} ; (R h_base)_{k:} ] for any orthogonal R whose first k
    rows are R_k. R_k (shape [k, d]) starts as random orthonormal rows (seed torch first for a
    reproducible start) and stays orthonormal while it trains, through torch's orthogonal
    parametrization (orthogonal_map: which of its maps; None takes torch's default). h_base and h_source
    are [..., d] tensors of the same shape. Only R_k is stored and trained (pyvene's
    LowRankRotatedSpaceIntervention does the same): k * d numbers, no d x d product per step.
    """

    def __init__(self, d, k, orthogonal_map=None):
        super().__init__()
        check_k(k, d)
        self.d, self.k, self.orthogonal_map = d, k, orthogonal_map
        # nn.Linear(d, k) holds a [k, d] weight; the parametrization keeps its rows orthonormal (torch's
        # default map: Householder reflections for k < d, the matrix exponential for k = d).
        self.rotate = orthogonal(nn.Linear(d, k, bias=False), orthogonal_map=orthogonal_map)

    @property
    def R_k(self):
        """The k rows of the rotation that span the swapped subspace: a [k, d] tensor."""
        return self.rotate.weight

    def forward(self, h_base, h_source):
        check_states(h_base, h_source, self.d)
        # R_k stays float32 (it trains) and may sit on the CPU while a model on a GPU runs in bfloat16:
        # low_rank_swap computes in R_k's dtype and device and hands back h' in h_base's.
        return low_rank_swap(h_base, h_source, self.R_k)

    def config(self):
        # The stored tensors mean an R_k only under the map that made them: a file records which.
        return {"d": self.d, "k": self.k, **({"orthogonal_map": self.orthogonal_map} if self.orthogonal_map else {})}

    def extra_repr(self):
        return f"d={self.d}, k={self.k}"


class FixedSubspace(RotatedSubspace):
    """RotatedSubspace's swap with given, frozen rows R_k [k, d] (orthonormal):

        h' = h_base + R_k^T R_k (h_source - h_base)

    for baselines that choose R_k instead of learning it: the top-k principal directions of
    h_source - h_base (baselines.pca_directions), k standard basis vectors (the best k neurons), or, with
    R_k=None, RotatedSubspace's random start (DAS before training). R_k is written through the same
    orthogonal parametrization, so the baselines and DAS run the very same code.
    """

    def __init__(self, d, k, R_k=None):
        super().__init__(d, k)
        if R_k is not None:
            if tuple(R_k.shape) != (k, d):
                raise ValueError(f"R_k has shape {tuple(R_k.shape)}, not [k, d] = [{k}, {d}].")
            if not torch.allclose(R_k @ R_k.T, torch.eye(k, device=R_k.device), atol=1e-4):
                raise ValueError("R_k's rows must be orthonormal (R_k R_k^T = I); orthonormalize them first, "
                                 "e.g. R_k = torch.linalg.qr(R_k.T).Q.T.")
            with torch.no_grad():
                self.rotate.weight = R_k  # the orthogonal parametrization stores exactly these rows
        self.requires_grad_(False)

    def config(self):
        return {"d": self.d, "k": self.k}  # R_k itself comes back with the state_dict


class BoundlessSubspace(RotatedSubspace):
    """Boundless DAS (chapter 7; Wu et al. 2023, pyvene's BoundlessRotatedSpaceIntervention): a full
    rotation R (a RotatedSubspace with k = d, so R = R_k) and a learnt soft boundary b choose the size of
    the swapped subspace as well as its direction:

        m_i = sigmoid((b - i) / temperature),   i = 0 .. d-1
        forward(h_base, h_source) = h_base + R^T diag(m) R (h_source - h_base)

    Coordinates well below b are swapped (m_i ~ 1), those well above are kept (m_i ~ 0). A high
    temperature makes the edge soft, so the loss reaches b through many coordinates; a low one makes m
    almost a 0/1 mask, the swap of chapter 3 with k = the number of i < b.

    boundary: where b starts, as a fraction of d. The parameter `boundary` holds b / d, so that one
    optimizer step moves b by a similar share of d whatever d is.
    temperatures: (first, last) temperature; `anneal(fraction)` goes between them geometrically,
    t = first * (last / first) ** fraction. Training calls it before each step and adds `penalty()`,
    penalty_weight * b / d, so that of two boundaries that move the answer equally well the smaller wins.
    temperature: the current temperature (default: the first); a saved module records where it was.
    """

    def __init__(self, d, boundary=0.5, temperatures=(50.0, 0.1), penalty_weight=1.0, temperature=None):
        # The Cayley map, a linear solve, costs a tenth of torch's default for a square R (the matrix
        # exponential: 0.4 s per step at d = 576 on 2 CPU cores) and starts from the same R.
        super().__init__(d, d, orthogonal_map="cayley")
        if not 0 < boundary <= 1:
            raise ValueError(f"boundary={boundary!r} is a fraction of d: pick a start in (0, 1], e.g. 0.5.")
        first, last = temperatures
        if not first >= last > 0:
            raise ValueError(f"temperatures={temperatures!r} must go from high to low, both > 0, e.g. (50.0, 0.1).")
        self.temperatures, self.penalty_weight = (first, last), penalty_weight
        self.boundary = torch.nn.Parameter(torch.tensor(float(boundary)))
        self.register_buffer("coords", torch.arange(d, dtype=torch.float32))
        self.temperature = first if temperature is None else temperature

    @property
    def R(self):
        """The full d x d rotation."""
        return self.R_k

    @property
    def b(self):
        """The boundary in coordinates: b = d * boundary."""
        return self.d * self.boundary

    def mask(self):
        """m_i = sigmoid((b - i) / temperature) for i = 0 .. d-1."""
        return torch.sigmoid((self.b - self.coords) / self.temperature)

    @property
    def learnt_k(self):
        """How many rotated coordinates are swapped more than half (m_i > 0.5, i.e. i < b)."""
        return int((self.mask() > 0.5).sum())

    def anneal(self, fraction):
        """Set the temperature for a point `fraction` (0 to 1) of the way through training."""
        first, last = self.temperatures
        self.temperature = first * (last / first) ** fraction

    def penalty(self):
        """penalty_weight * b / d: a price on the subspace's size."""
        return self.penalty_weight * self.boundary

    def forward(self, h_base, h_source):
        check_states(h_base, h_source, self.d)
        R = self.R
        return h_base + ((h_source - h_base) @ R.T * self.mask()) @ R

    def config(self):
        # The boundary's start is overwritten by the state_dict; temperature is no tensor, so it travels here.
        return {"d": self.d, "temperatures": list(self.temperatures), "penalty_weight": self.penalty_weight,
                "temperature": self.temperature}

    def extra_repr(self):
        return f"d={self.d}, b={self.b.item():.1f}, temperature={self.temperature:.3g}"


def mask_swap(h_base, h_source, logits, temperature):
    """h' = h_base + m * (h_source - h_base) with the soft mask m = sigmoid(logits / temperature) [d]:
    neuron i moves m_i of the way from the base's value to the source's. Differentiable in `logits`;
    h_base and h_source ([..., d]) are left as they are."""
    # The mask stays float32 (it trains) while a model on a GPU may run in bfloat16, as in RotatedSubspace.
    return swap_coordinates(h_base, h_source, torch.sigmoid(logits / temperature))


class LearnedNeuronMask(Intervention):
    """RAVEL's differentiable binary masking (chapter 6): a learnt soft mask m over the d neurons,

        m_i = sigmoid(logit_i / temperature),   i = 0 .. d-1
        forward(h_base, h_source) = h_base + m * (h_source - h_base)

    trained like DAS: train_das(model, pairs, layer, k=None, swap=LearnedNeuronMask(d, k), ...). The
    logits start at 0 (every m_i = 0.5); `anneal(fraction)` lowers the temperature geometrically from
    temperatures[0] to temperatures[1], so that m ends almost 0/1. When scored it is a hard mask:
    `neuron_swap()` is chapter 2's NeuronSwap with the k neurons of highest logit, h' = h_base +
    hard_mask() * (h_source - h_base). Unlike DAS it can only pick neurons, not rotate: the control that
    asks whether training a *choice of neurons* with DAS's loss and budget does as well as training R_k.

    d: the hidden size; k: how many neurons the hard mask keeps; temperature: the current temperature
    (default: the first); a saved module records where it was.
    """

    def __init__(self, d, k, temperatures=(1.0, 0.01), temperature=None):
        super().__init__()
        check_k(k, d)
        first, last = temperatures
        if not first >= last > 0:
            raise ValueError(f"temperatures={temperatures!r} must go from high to low, both > 0, e.g. (1.0, 0.01).")
        self.d, self.k, self.temperatures = d, k, (first, last)
        self.logits = nn.Parameter(torch.zeros(d))
        self.temperature = first if temperature is None else temperature

    def mask(self):
        """The soft mask m [d] that training patches with: sigmoid(logits / temperature)."""
        return torch.sigmoid(self.logits / self.temperature)

    def hard_mask(self, k=None):
        """The 0/1 mask [d] of the k neurons with the highest logits (ties: the lower index first);
        k: default the module's own k (one trained mask gives its top k for any k)."""
        k = self.k if k is None else k
        check_k(k, self.d)
        order = torch.sort(self.logits.detach().cpu(), descending=True, stable=True).indices
        hard = torch.zeros(self.d)
        hard[order[:k]] = 1.0
        return hard

    def neuron_swap(self, k=None):
        """The intervention that is scored: NeuronSwap(hard_mask(k)), swapping exactly k neurons."""
        return NeuronSwap(self.hard_mask(k)).to(self.logits.device)

    def anneal(self, fraction):
        """Set the temperature for a point `fraction` (0 to 1) of the way through training."""
        first, last = self.temperatures
        self.temperature = first * (last / first) ** fraction

    def forward(self, h_base, h_source):
        check_states(h_base, h_source, self.d)
        return mask_swap(h_base, h_source, self.logits, self.temperature)

    def config(self):
        return {"d": self.d, "k": self.k, "temperatures": list(self.temperatures), "temperature": self.temperature}

    def extra_repr(self):
        return f"d={self.d}, k={self.k}, temperature={self.temperature:.3g}"


def linear_temperature(temperatures, fraction):
    """T = first + (last - first) * fraction: the linear schedule RAVEL and pyvene's Boundless tutorial use
    (torch.linspace(first, last, steps)), at a point `fraction` (0 to 1) of training."""
    first, last = temperatures
    return first + (last - first) * fraction


def check_temperatures(temperatures, example):
    """(first, last) must go from high to low, both > 0; `example` is shown in the error."""
    first, last = temperatures
    if not first >= last > 0:
        raise ValueError(f"temperatures={temperatures!r} must go from high to low, both > 0, e.g. {example}.")
    return float(first), float(last)


class SparseNeuronMask(Intervention):
    """RAVEL's differentiable binary masking (DBM; Huang et al. 2024): a learnt soft mask m over the d
    neurons with an L1 price on its size, so that the number of neurons kept is learnt, not chosen:

        m_i = sigmoid(logit_i / T),   i = 0 .. d-1
        forward(h_base, h_source) = h_base + m * (h_source - h_base)
        penalty() = sparsity * sum_i m_i                 (added to DAS's cross-entropy by train.train)
        kept set  = {i : m_i > 0.5} = {i : logit_i > 0}  (the same set at every temperature T > 0)

    The logits start at 0 (m = 0.5 everywhere, nothing kept yet); `anneal(fraction)` lowers T linearly from
    temperatures[0] to temperatures[1], as RAVEL's torch.linspace schedule does (RAVEL's own start and end
    are a config; these defaults suit the course's 100 Adam steps at lr 3e-3). What is scored is the
    hard swap `neuron_swap()`: NeuronSwap of the kept set, whose size `k` is reported, never forced.
    To land near a target size, choose `sparsity` on validation pairs (baselines.fit_sparse_masks).

    d: the hidden size; sparsity: the L1 weight (lambda); temperature: the current T (default the first).
    """

    def __init__(self, d, sparsity, temperatures=(1.0, 0.01), temperature=None):
        super().__init__()
        if not sparsity >= 0:
            raise ValueError(f"sparsity={sparsity!r} is the L1 weight lambda: pick one >= 0, e.g. 0.01.")
        self.d, self.sparsity = d, float(sparsity)
        self.temperatures = check_temperatures(temperatures, "(1.0, 0.01)")
        self.logits = nn.Parameter(torch.zeros(d))
        self.temperature = self.temperatures[0] if temperature is None else temperature

    @property
    def k(self):
        """The size of the kept set, #{i : m_i > 0.5}: learnt, so it changes while the mask trains."""
        return int((self.logits > 0).sum())

    def mask(self):
        """The soft mask m [d] that training patches with: sigmoid(logits / T)."""
        return torch.sigmoid(self.logits / self.temperature)

    def kept(self):
        """The 0/1 mask [d] of the kept set {i : m_i > 0.5} (float, on the CPU)."""
        return (self.logits.detach().cpu() > 0).float()

    def neuron_swap(self):
        """The intervention that is scored: NeuronSwap(kept()), h' = h_base + kept * (h_source - h_base)."""
        return NeuronSwap(self.kept()).to(self.logits.device)

    def anneal(self, fraction):
        """Set T for a point `fraction` (0 to 1) of the way through training (linear_temperature)."""
        self.temperature = linear_temperature(self.temperatures, fraction)

    def penalty(self):
        """sparsity * sum_i m_i: RAVEL's L1 price on the mask's size (its get_sparsity_loss)."""
        return self.sparsity * self.mask().sum()

    def forward(self, h_base, h_source):
        check_states(h_base, h_source, self.d)
        return mask_swap(h_base, h_source, self.logits, self.temperature)

    def config(self):
        return {"d": self.d, "sparsity": self.sparsity, "temperatures": list(self.temperatures),
                "temperature": self.temperature}

    def extra_repr(self):
        return f"d={self.d}, sparsity={self.sparsity:g}, kept={self.k}, temperature={self.temperature:.3g}"


class PublishedBoundless(BoundlessSubspace):
    """Boundless DAS as Wu et al. 2023 train it (pyvene's BoundlessRotatedSpaceIntervention and its
    Boundless DAS tutorial); BoundlessSubspace is the course's earlier variant (one-sided mask, geometric
    schedule, one learning rate). A full rotation R and a learnt boundary b:

        b   = d * clamp(boundary, 1e-3, 1)
        m_i = sigmoid(i / T) * sigmoid((b - i) / T),   i = 0 .. d-1   (pyvene's sigmoid_boundary from 0 to b)
        forward(h_base, h_source) = h_base + R^T diag(m) R (h_source - h_base)
        loss = cross-entropy of the counterfactual (source's) answer + penalty_weight * boundary

    T falls linearly from temperatures[0] to temperatures[1] (pyvene's tutorial: 50 to 0.1); the boundary
    trains at its own learning rate lr_boundary (the tutorial's 1e-2; R at the training lr, its 1e-3).
    Train it with train.train_boundless (plain Cause loss, no Isolate terms).

    The boundary's trajectory: `widths` holds b at the start of every step (anneal appends it), and
    train_boundless appends the final b. Adam moves `boundary` by about lr_boundary per step at most, so b
    moves at most steps * lr_boundary * d: `step_limit()` says whether the learnt width is that limit
    rather than a finding. Note pyvene's mask: m_0 <= 0.5 at every T (sigmoid(0) = 1/2), and at high T
    the first coordinates are damped too; `learnt_k` (#{i : m_i > 0.5}) counts as the mask is.
    """

    def __init__(self, d, boundary=0.5, temperatures=(50.0, 0.1), penalty_weight=1.0, lr_boundary=1e-2,
                 temperature=None):
        super().__init__(d, boundary, check_temperatures(temperatures, "(50.0, 0.1)"), penalty_weight, temperature)
        if not lr_boundary > 0:
            raise ValueError(f"lr_boundary={lr_boundary!r} must be > 0, e.g. 1e-2 (pyvene's tutorial).")
        self.lr_boundary, self.widths = float(lr_boundary), []

    @property
    def b(self):
        """The boundary in coordinates, b = d * clamp(boundary, 1e-3, 1) (the clamp passes no gradient outside)."""
        return self.d * torch.clamp(self.boundary, 1e-3, 1.0)

    def mask(self):
        """m_i = sigmoid(i / T) * sigmoid((b - i) / T) for i = 0 .. d-1."""
        return torch.sigmoid(self.coords / self.temperature) * torch.sigmoid((self.b - self.coords) / self.temperature)

    def anneal(self, fraction):
        """Record b (the width before this step), then set T linearly for `fraction` (0 to 1) of training."""
        self.widths.append(self.b.item())
        self.temperature = linear_temperature(self.temperatures, fraction)

    def param_groups(self):
        """R at the training lr; the boundary at lr_boundary."""
        rotation = [p for name, p in self.named_parameters() if name != "boundary"]
        return [{"params": rotation}, {"params": [self.boundary], "lr": self.lr_boundary}]

    def hard_subspace(self):
        """FixedSubspace of the rows of R whose m_i > 0.5: the swap with a 0/1 mask (k = learnt_k)."""
        rows = self.R.detach()[self.mask().detach() > 0.5]
        if len(rows) == 0:
            raise ValueError("No coordinate has m_i > 0.5 (the boundary is at its floor): nothing to swap.")
        return FixedSubspace(self.d, len(rows), rows)

    def step_limit(self):
        """How far b moved against how far Adam could move it, from `widths` (b before each step, and after):

            moved = |b_end - b_start|,   most = steps * lr_boundary * d,   share = moved / most
            final_rate = mean |b_{t+1} - b_t| over the last quarter of steps / (lr_boundary * d)

        limited = share > 0.5 and final_rate > 0.5: b went most of the way it could and was still moving
        at over half the largest step when training stopped, so its end is where the steps ran out."""
        steps = len(self.widths) - 1
        if steps < 1:
            raise ValueError("No trajectory: train it first with dc.train_boundless (it records b per step).")
        per_step = self.lr_boundary * self.d
        moved, most = abs(self.widths[-1] - self.widths[0]), steps * per_step
        tail = self.widths[-(max(steps // 4, 1) + 1):]
        final_rate = sum(abs(b - a) for a, b in zip(tail, tail[1:])) / (len(tail) - 1) / per_step
        return {"start": self.widths[0], "end": self.widths[-1], "steps": steps, "moved": moved,
                "most": most, "share": moved / most, "final_rate": final_rate,
                "limited": moved / most > 0.5 and final_rate > 0.5}

    def config(self):
        return {**super().config(), "lr_boundary": self.lr_boundary}
