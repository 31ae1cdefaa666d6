"""dascourse: the companion package of the Distributed Alignment Search course.

`import dascourse as dc` is the interface: every name the chapters, the command line and the tools use is
here (the chapters' exercise checks live in dascourse.checks). Each helper is introduced by the chapter
that needs it; see the book for the story behind each one. Old module paths (dascourse.das,
dascourse.evaluate, ...) still work for now and warn with the new name.
"""
import warnings

# transformers imports tqdm.auto, which in Jupyter without ipywidgets warns "IProgress not found" (with a
# local path in the message): noise for the learner, and it would make notebook outputs machine-specific.
# The filter stays process-wide, on purpose and narrowly: it matches that one message only, and the warning
# comes whenever some library first imports tqdm.auto (possibly lazily, after this import), so a filter
# scoped to our own imports would miss it.
warnings.filterwarnings("ignore", message="IProgress not found")

__version__ = "0.2.0"  # 0.2.0: rotation files carry the intervention's type (0.1.0 files still load)

# The model, prompts and facts (chapters 0-1).
from .facts import answer_token, known_facts, knows, load_cities, next_token_logits, top_predictions  # noqa: E402
from .files import atomic_open  # noqa: E402
from .hints import enable_hints, name_error_hint  # noqa: E402
from .model import DEFAULT_MODEL, ModelUnavailableError, load_model, set_seed, torch_module  # noqa: E402
from .prompts import ATTRIBUTES, TEMPLATES, city_positions, get_template, make_prompt, shot_cities  # noqa: E402

# Patching (chapters 1-2): one prompt set, the position sweep, neurons, prefix caches.
from .neurons import logit_diff_grad, neuron_patch, random_masks, rank_neurons, top_k_mask  # noqa: E402
from .patching import hidden_at_city, last_city_positions, patch  # noqa: E402
from .plots import layer_position_heatmap  # noqa: E402
from .prefix_cache import PrefixCache, clear_prefix_caches  # noqa: E402
from .sweep import hidden_from_end, patch_from_end, position_sweep  # noqa: E402

# Interventions h' = swap(h_base, h_source) (chapters 1-7) and their files.
from .interventions import (BoundlessSubspace, FixedSubspace, FullPatch, Intervention, LearnedNeuronMask,  # noqa: E402
                            NeuronSwap, PublishedBoundless, RotatedSubspace, SparseNeuronMask, check_k,
                            check_states, linear_temperature, low_rank_swap, mask_swap, rotate_swap_rotate_back,
                            seeded, swap_coordinates)
from .storage import RotationFileError, check_fits, load_intervention, save_intervention  # noqa: E402

# Pairs, training and scores (chapters 3-7).
from .pairs import (answer_ids, check_pair_columns, isolate_pairs, make_pairs, patch_pairs,  # noqa: E402
                    source_states, split_by_city)
from .metrics import (entity_interval, hits, iia, isolate_from_answers, logit_diff_share,  # noqa: E402
                      format_interval, natural_variance, null_fraction, paired_difference, score_row,
                      score_table, scores, with_intervals)
from .train import TrainSettings, fresh_rotation, train_boundless, train_das, train_das_many  # noqa: E402
from .baselines import (SPARSITIES, cause_by_attribute, fit_sparse_masks, nearest_size,  # noqa: E402
                        neuron_order, pair_states, pca_directions, random_subspaces, subspace,
                        train_learned_mask, train_side_by_side, train_sparse_masks)
from .settings import course_selection, course_settings, multitask_settings  # noqa: E402
from .grid_files import grid_difference, load_grid, read_rows, seed_mean_hits  # noqa: E402
from .splits import course_facts, course_split  # noqa: E402
from .metrics import disentangle_interval, score_differences  # noqa: E402  (evaluate's controls)

# Chapter 4's toy network and its basis-free diagnostics, and chapter 8's remote runs.
from . import diagnostics, toy  # noqa: E402
from .remote import iia_remote, load_remote_model, top_tokens_remote, train_das_remote  # noqa: E402

from ._deprecated import deprecated_names  # noqa: E402

# Renamed in 0.3: a rotation file holds any intervention.
__getattr__ = deprecated_names("dascourse", {"save_rotation": "save_intervention", "load_rotation": "load_intervention"})
