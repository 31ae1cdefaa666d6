"""dascourse: the companion package of the Distributed Alignment Search course.

Each helper is introduced by the chapter that needs it; see the book for the story behind each one.
"""
import warnings

# transformers imports tqdm.auto, which in Jupyter without ipywidgets warns "IProgress not found" (with a
# local path in the message): noise for the learner, and it would make notebook outputs machine-specific.
# The filter stays process-wide, on purpose and narrowly: it matches that one message only, and the warning
# comes whenever some library first imports tqdm.auto (possibly lazily, after this import), so a filter
# scoped to our own imports would miss it.
warnings.filterwarnings("ignore", message="IProgress not found")

from .facts import answer_token, known_facts, knows, load_cities, next_token_logits, top_predictions
from .hints import enable_hints, name_error_hint
from .model import DEFAULT_MODEL, ModelUnavailableError, load_model, set_seed
from .patching import hidden_at_city, last_city_positions, patch
from .prefix_cache import clear_prefix_caches
from .prompts import ATTRIBUTES, TEMPLATES, city_positions, make_prompt

__version__ = "0.2.0"  # 0.2.0: rotation files carry the intervention's type (0.1.0 files still load)
from .neurons import logit_diff_grad, neuron_patch, random_masks, rank_neurons, top_k_mask
from .storage import RotationFileError, load_rotation, save_rotation
