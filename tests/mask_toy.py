"""A toy for the neuron masks' tests (test_learned_mask, test_dbm): pairs of D-dimensional states whose
counterfactual label a fixed readout takes from ANSWER_NEURONS of h_source, and the loop train_das runs."""
import torch
import torch.nn.functional as F

D, ANSWER_NEURONS = 16, [2, 5, 11]


def toy_pairs(n, seed, weak=0.0):
    """h_base, h_source [n, D] and a readout [D, 4] that reads ANSWER_NEURONS (the others with weight `weak`
    times a fixed random draw); a pair's counterfactual label is the readout's answer on h_source."""
    g = torch.Generator().manual_seed(seed)
    readout = weak * torch.randn(D, 4, generator=torch.Generator().manual_seed(99))
    readout[ANSWER_NEURONS] = 3 * torch.randn(len(ANSWER_NEURONS), 4, generator=g)
    h_base, h_source = torch.randn(2, n, D, generator=g)
    return h_base, h_source, readout, (h_source @ readout).argmax(-1)


def train_on_toy(mask, steps, weak=0.0, lr=0.05, batch_size=32):
    """The loop train_das runs, on the toy: anneal, patch with the soft mask, cross-entropy + the mask's
    penalty, Adam on the mask's param_groups. Returns `mask`, trained."""
    h_base, h_source, readout, labels = toy_pairs(512, seed=0, weak=weak)
    opt = torch.optim.Adam(mask.param_groups(), lr=lr)
    g = torch.Generator().manual_seed(1)
    for step in range(steps):
        mask.anneal(step / steps)
        rows = torch.randint(len(labels), (batch_size,), generator=g)
        loss = F.cross_entropy(mask(h_base[rows], h_source[rows]) @ readout, labels[rows]) + mask.penalty()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return mask


def toy_iia(swap, weak=0.0, seed=2):
    """Share of fresh toy pairs on which `swap` gives the counterfactual label."""
    h_base, h_source, readout, labels = toy_pairs(256, seed, weak=weak)
    with torch.no_grad():
        return ((swap(h_base, h_source) @ readout).argmax(-1) == labels).float().mean().item()
