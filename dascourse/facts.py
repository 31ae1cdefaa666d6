"""The city table, the model's answers, and which facts the model actually knows.

Interventions only mean something on facts the model gets right to begin with: if the model does not
know that Lyon is in France, patching Lyon's country is measuring noise. So every chapter starts from
`known_facts`.
"""
import json
import re
from importlib.resources import files

import pandas as pd
import torch

from .files import atomic_open, cache_dir
from .progress import progress_bar
from .prompts import get_template, make_prompt, shot_cities


def load_cities(path=None) -> pd.DataFrame:
    """The city table (city, country, continent, language) shipped with the course, or your own CSV of
    entities (path): the one loader of entity tables. A table has a header row, the entity's name first
    (renamed `city`, the name every dascourse helper uses for the entity), then one column per attribute;
    every cell is text ("" where empty). Bad tables fail here, naming the fix."""
    try:
        table = pd.read_csv(path or files("dascourse") / "data" / "cities.csv", dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path} is empty: it needs a header row (e.g. city,country) and one row per city.") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not UTF-8 text (byte {err.start} cannot be read): save it as CSV in UTF-8, "
                         f"e.g. with a spreadsheet's 'CSV UTF-8' export.") from None
    if table.empty:
        raise ValueError(f"The table {path} has no rows.")
    if table.shape[1] < 2:
        raise ValueError(f"{path} has only the column {table.columns[0]!r}: add attribute columns after the "
                         f"entity name, e.g. a header 'company,ceo,country'.")
    if "city" in table.columns[1:]:
        raise ValueError(f"{path} has an attribute column named 'city': put the entity name first, or rename it.")
    table = table.rename(columns={table.columns[0]: "city"})
    bad = table["city"][(table["city"] == "") | table["city"].duplicated()]
    if len(bad):
        raise ValueError(f"{path}: every row needs an entity name of its own in the first column; "
                         f"{bad.iloc[0]!r} is empty or repeated.")
    return table


def answer_token(tokenizer, answer: str, first_token_only: bool = False) -> int:
    """The id of the token that starts `answer` (with its leading space, as it follows the prompt).

    Answers like "North America" are several tokens; the model is then judged on the first one
    (" North"). Pass first_token_only=True to accept that; otherwise a multi-token answer is an error.
    """
    ids = tokenizer(" " + answer, add_special_tokens=False)["input_ids"]
    if len(ids) > 1 and not first_token_only:
        pieces = tokenizer.convert_ids_to_tokens(ids)
        raise ValueError(
            f"The answer {answer!r} is {len(ids)} tokens {pieces}; pass first_token_only=True to judge the "
            f"model on the first one."
        )
    return ids[0]


def next_token_logits(model, prompts: "list[str]", batch_size: int = 32, progress: bool = False) -> torch.Tensor:
    """Logits of the token after each prompt, shape [len(prompts), vocab], computed in batches."""
    if len(prompts) == 0:
        raise ValueError("No prompts given: pass a list with at least one prompt.")
    chunks = []
    for i in progress_bar(range(0, len(prompts), batch_size), "prompts", enabled=progress, unit="batches"):
        with model.trace(list(prompts[i : i + batch_size])):
            logits = model.lm_head.output[:, -1, :].save()
        chunks.append(logits.detach().float().cpu())
    return torch.cat(chunks)


def top_predictions(model, prompt: str, n: int = 5):
    """The model's n most likely next tokens after `prompt`, as (token, probability) pairs."""
    probs = next_token_logits(model, [prompt])[0].softmax(-1)
    values, ids = probs.topk(n)
    return [(model.tokenizer.decode(i), round(p, 3)) for i, p in zip(ids.tolist(), values.tolist())]


def _facts_cache(model):
    safe = re.sub(r"[^\w.-]+", "--", getattr(model, "name", "model"))
    return cache_dir() / "facts" / f"{safe}.json"


def knows(model, prompts, answers, progress=True):
    """For each (prompt, answer): is the model's top next token the first token of the answer?

    Results are cached on disk per model (keyed by prompt and answer), so a chapter asks only once.
    """
    path = _facts_cache(model)
    cache = json.loads(path.read_text()) if path.exists() else {}
    keys = [f"{p}\t{a}" for p, a in zip(prompts, answers)]
    todo = sorted({k for k in keys if k not in cache})
    if todo:
        todo_prompts = [k.split("\t")[0] for k in todo]
        targets = [answer_token(model.tokenizer, k.split("\t")[1], first_token_only=True) for k in todo]
        top = next_token_logits(model, todo_prompts, progress=progress).argmax(-1).tolist()
        cache.update({k: t == y for k, t, y in zip(todo, top, targets)})
        with atomic_open(path) as f:
            json.dump(cache, f)
    return [cache[k] for k in keys]


def known_facts(model, attributes="country", template=0, table: "pd.DataFrame | None" = None) -> pd.DataFrame:
    """The rows of `table` whose every listed attribute the model answers correctly.

    attributes: one attribute or a list, e.g. ["country", "continent", "language"].
    template: which template asks for each attribute: an index, a string with '{city}', or a dict
              {attribute: index or string} (see prompts.get_template).
    Cities used as solved examples in a template (Berlin, Tokyo, ...) are left out: the prompt
    would hand the model their answer.
    """
    attributes = [attributes] if isinstance(attributes, str) else list(attributes)
    if not attributes:
        raise ValueError("No attribute given: pass e.g. 'country' or ['country', 'continent'].")
    table = load_cities() if table is None else table
    if len(table) == 0:
        raise ValueError("The table of cities is empty.")
    keep = pd.Series(True, index=table.index)
    for attribute in attributes:
        get_template(attribute, template)  # an unknown attribute or template fails here, before the table does
        if attribute not in table.columns:
            raise ValueError(f"The table has no column {attribute!r}; its columns are {list(table.columns)}.")
        shots = shot_cities(get_template(attribute, template), set(table["city"]))
        prompts = [make_prompt(c, attribute, template) for c in table["city"]]
        keep &= pd.Series(knows(model, prompts, list(table[attribute])), index=table.index)
        keep &= ~table["city"].isin(shots)
    return table[keep].reset_index(drop=True)
