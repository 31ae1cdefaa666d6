"""Few-shot prompt templates, and where a city's tokens sit inside a tokenized prompt.

A small model answers "X is in the country of" far more reliably when two solved examples come first,
so every template is few-shot. Each attribute has several templates, so that evaluation can hold out
templates as well as cities.
"""
import re
from collections.abc import Mapping
from types import MappingProxyType

PLACEHOLDER = "{city}"

# Read-only (a mapping proxy of tuples): a result must not depend on what some earlier cell added here.
# A prompt of your own is passed where a template is asked (see get_template).
TEMPLATES = MappingProxyType({
    "country": (
        "Berlin is in the country of Germany. Tokyo is in the country of Japan. {city} is in the country of",
        "Q: Which country is Madrid in? A: Spain. Q: Which country is Toronto in? A: Canada. "
        "Q: Which country is {city} in? A:",
        "City: Rome. Country: Italy.\nCity: Seoul. Country: South Korea.\nCity: {city}. Country:",
    ),
    "continent": (
        "Berlin is on the continent of Europe. Tokyo is on the continent of Asia. {city} is on the continent of",
        "Q: Which continent is Madrid in? A: Europe. Q: Which continent is Lima in? A: South America. "
        "Q: Which continent is {city} in? A:",
        "City: Cairo. Continent: Africa.\nCity: Seoul. Continent: Asia.\nCity: {city}. Continent:",
    ),
    "language": (
        "People in Berlin speak German. People in Tokyo speak Japanese. People in {city} speak",
        "Q: What language do people speak in Madrid? A: Spanish. Q: What language do people speak in "
        "Cairo? A: Arabic. Q: What language do people speak in {city}? A:",
        "City: Rome. Language: Italian.\nCity: Moscow. Language: Russian.\nCity: {city}. Language:",
    ),
})
ATTRIBUTES = tuple(TEMPLATES)


def check_placeholder(template):
    if PLACEHOLDER not in template:
        raise ValueError(f"Template {template!r} has no {PLACEHOLDER} placeholder; write e.g. '{{city}} is in'.")


def get_template(attribute: str, template=0) -> str:
    """The prompt template asking for `attribute`, a string containing '{city}'.

    template: an index into TEMPLATES[attribute]; a string containing '{city}' (for any attribute, one of
    your own table's columns included); or a dict {attribute: index or string} naming one per attribute
    (attributes it leaves out take template 0). Helpers that ask for several attributes (e.g. evaluate's
    scores) pass the dict on, so each attribute gets its own prompt.
    """
    if isinstance(template, Mapping):
        template = template.get(attribute, 0)
    if isinstance(template, str):
        check_placeholder(template)
        return template
    if attribute not in TEMPLATES:
        raise ValueError(
            f"Unknown attribute {attribute!r}: choose one of {', '.join(TEMPLATES)}, or pass its prompt as "
            f"template={{{attribute!r}: '... {PLACEHOLDER} ...'}} (a string containing {PLACEHOLDER})."
        )
    n = len(TEMPLATES[attribute])
    if not (isinstance(template, int) and 0 <= template < n):
        raise ValueError(f"Template index {template!r} out of range: {attribute!r} has {n} templates (0..{n-1}).")
    return TEMPLATES[attribute][template]


def make_prompt(city: str, attribute: str = "country", template=0) -> str:
    """The prompt asking for `attribute` of `city`, e.g. '... Paris is in the country of'."""
    return get_template(attribute, template).replace(PLACEHOLDER, city)


def shot_cities(template, cities):
    """The cities among `cities` that appear in the template's solved examples (e.g. Berlin, Tokyo)."""
    shots = template.split(PLACEHOLDER)[0]
    return {c for c in cities if re.search(rf"(?<!\w){re.escape(c)}(?!\w)", shots)}


def city_positions(tokenizer, prompts, cities):
    """Token positions of each city in a batch of prompts, as the model sees the batch.

    Returns one list of positions per prompt, in the coordinates of the padded batch that
    `tokenizer(prompts, padding=True)` builds (left padding, as nnsight uses, shifts every position
    by the row's padding). The *last* occurrence of the city is used: the one the question is about,
    not a solved example. A multi-token name ("Rio de Janeiro") gives several positions; its last
    token is `positions[-1]`.
    """
    if isinstance(prompts, str) or isinstance(cities, str):
        raise TypeError("Pass lists: city_positions(tokenizer, [prompt], [city]).")
    if len(prompts) == 0:
        raise ValueError("No prompts given: pass at least one prompt and its city.")
    if len(prompts) != len(cities):
        raise ValueError(f"{len(prompts)} prompts but {len(cities)} cities: pass one city per prompt.")
    # Offsets are taken from the padded batch itself, so they already include each row's padding.
    enc = tokenizer(list(prompts), padding=True, return_offsets_mapping=True)
    out = []
    for row, (prompt, city) in enumerate(zip(prompts, cities)):
        start = prompt.rfind(city)
        if start < 0:
            raise ValueError(
                f"City {city!r} does not occur in prompt {prompt!r}: pass, for each prompt, the city it asks "
                f"about (e.g. the prompt make_prompt({city!r}) with the city {city!r})."
            )
        end = start + len(city)
        mask = enc["attention_mask"][row]
        # A token belongs to the city when its character span overlaps [start, end); special and
        # padding tokens have empty spans (0, 0) and never overlap.
        positions = [
            i for i, (a, b) in enumerate(enc["offset_mapping"][row]) if mask[i] and b > a and a < end and b > start
        ]
        out.append(positions)
    return out
