"""Your own table of entities -- cities, companies, countries -- instead of the course's city table.

A table is a CSV file with a header row: the first column names the entity, every other column is an
attribute (the shipped city table is one: city,country,continent,language). Loaded, its first column is
called `city`, the name every dascourse helper uses for the entity, so the chapters' helpers work on it
unchanged. Each attribute needs a prompt: dascourse's own template when it has one, otherwise a
two-shot template built from the table itself (`template_for`).
"""
from .facts import known_facts, load_cities
from .prompts import PLACEHOLDER, TEMPLATES

# Below this many training entities DAS memorizes them: on the city table at the course's settings
# (dascourse/data/learning_curve.csv, book/learning_curve.md) held-out Cause is 0.37 with 40 training cities and
# 0.58 with all 223, but 0.07 and 0.17 with 10 and 20 (training loss under 0.01). `train` warns below it.
MIN_TRAIN_ENTITIES = 40


load_entities = load_cities  # the one loader of entity tables (facts.load_cities); the CLI's name for it


def check_columns(table, attributes, path=None):
    """Raise a ValueError naming the first of `attributes` that is not an attribute column of `table`."""
    columns = list(table.columns[1:])
    for attribute in attributes:
        if attribute not in columns:
            raise ValueError(f"{path or 'The table'} has no column {attribute!r}; its attribute columns are {columns}.")


def template_for(table, attribute):
    """The prompt asking for `attribute`: dascourse's template 0 when it has one (the city table thus gets
    the chapters' prompts), otherwise two solved examples from the first two rows with different answers:

        'The capital of France is Paris. The capital of Japan is Tokyo. The capital of {city} is'

    Those two entities then never enter a pair: known_facts leaves out entities named in a template.
    """
    if attribute in TEMPLATES:
        return TEMPLATES[attribute][0]
    shots = table[table[attribute] != ""].drop_duplicates(attribute).head(2)
    if len(shots) < 2:
        raise ValueError(f"The column {attribute!r} needs at least two different values to build a prompt from.")
    name = attribute.replace("_", " ")
    examples = " ".join(f"The {name} of {e} is {v}." for e, v in zip(shots["city"], shots[attribute]))
    return f"{examples} The {name} of {PLACEHOLDER} is"


def known_rows(model, table, attribute, others=(), template=0):
    """The rows whose `attribute` the model answers right (and that no template names), with each of
    `others` blanked (NaN) where the model gets it wrong or the cell is empty: Isolate terms and scores
    skip a blank, so an entity counts for every attribute the model knows. Returns (rows, skipped), with
    skipped[a] = how many rows were dropped (for `attribute`) or blanked (for each other attribute).
    template: the prompts, e.g. {attribute: template_for(table, attribute), ...} (see prompts.get_template).
    """
    filled = table[table[attribute] != ""]
    rows = known_facts(model, attribute, template, table=filled) if len(filled) else filled.iloc[:0]
    skipped = {attribute: len(table) - len(rows)}
    for other in others:
        filled = rows[rows[other] != ""]
        known = known_facts(model, other, template, table=filled)["city"] if len(filled) else []
        blank = ~rows["city"].isin(known)
        rows[other] = rows[other].where(~blank)
        skipped[other] = int(blank.sum())
    return rows, skipped


def require_entities(rows, needed, attribute, path=None, why="to make pairs"):
    """Raise a ValueError about the user's table when `rows` (the entities the model knows) are fewer than
    `needed`: the message says how many the model knows and what to do, not which helper would fail."""
    if len(rows) < needed:
        raise ValueError(f"The model knows the {attribute!r} of only {len(rows)} entit{'y' if len(rows) == 1 else 'ies'} "
                         f"of {path or 'the city table'}; {needed} are needed {why}. Add rows the model is likely "
                         f"to know (well-known entities), or choose another attribute.")


def few_entities_warning(n_train, path=None):
    """The warning `train` prints when it trains on fewer than MIN_TRAIN_ENTITIES entities, else None."""
    if n_train >= MIN_TRAIN_ENTITIES:
        return None
    return (f"warning: {n_train} training entities from {path or 'the city table'}; below {MIN_TRAIN_ENTITIES} a "
            f"rotation tends to fit its training entities and move held-out ones much less (see the learning curve, "
            f"book/learning_curve.md). Add entities, and judge the rotation by `evaluate` on held-out ones.")
