"""Deprecated, removed in dascourse 0.4: chapters 3 and 5-8 of dascourse 0.2 called `das.make_pairs`, `das.train_das` and the like. Every name is now in
`import dascourse as dc` (dc.<name>); using one from here warns with its new name."""
from ._deprecated import deprecated_names

__getattr__ = deprecated_names(__name__, {
    "TrainSettings": "TrainSettings",
    "answer_ids": "answer_ids",
    "check_pair_columns": "check_pair_columns",
    "iia": "iia",
    "isolate_pairs": "isolate_pairs",
    "make_pairs": "make_pairs",
    "patch_pairs": "patch_pairs",
    "source_states": "source_states",
    "split_by_city": "split_by_city",
    "train_das": "train_das",
    "train_das_many": "train_das_many",
})
