"""dascourse: the companion package of the Distributed Alignment Search course.

Each helper is introduced by the chapter that needs it; see the book for the story behind each one.
"""
import warnings

# transformers imports tqdm.auto, which in Jupyter without ipywidgets warns "IProgress not found" (with a
# local path in the message): noise for the learner, and it would make notebook outputs machine-specific.
warnings.filterwarnings("ignore", message="IProgress not found")

from .facts import answer_token, known_facts, knows, load_cities, next_token_logits, top_predictions
from .model import DEFAULT_MODEL, ModelUnavailableError, load_model, set_seed
from .patching import hidden_at_city, last_city_positions, patch
from .prompts import ATTRIBUTES, TEMPLATES, city_positions, make_prompt

__version__ = "0.2.0"
from .neurons import logit_diff_grad, neuron_patch, random_masks, rank_neurons, top_k_mask
from .hints import name_error_hint  # imported in IPython, it also adds a hint to NameErrors (hints.py)
from .rotation_file import RotationFileError, load_rotation, save_rotation
