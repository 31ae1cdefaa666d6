"""Kept only because published notebooks (chapters 3 and 5-8) call `das.make_pairs`, `das.train_das`, ...:
each name now lives in the module of its idea -- counterfactual pairs and their patching in
dascourse.pairs, IIA in dascourse.metrics, the training loop in dascourse.train."""
from .metrics import iia
from .pairs import (answer_ids, check_pair_columns, isolate_pairs, make_pairs, pairs_cache, patch_pairs,
                    source_states, split_by_city)
from .train import TrainSettings, train_das, train_das_many

__all__ = ["TrainSettings", "answer_ids", "check_pair_columns", "iia", "isolate_pairs", "make_pairs", "pairs_cache",
           "patch_pairs", "source_states", "split_by_city", "train_das", "train_das_many"]
