import pytest

import dascourse as dc


def decode(tokenizer, prompts, positions):
    ids = tokenizer(prompts, padding=True)["input_ids"]
    return ["".join(tokenizer.decode([ids[row][i]]) for i in pos).strip() for row, pos in enumerate(positions)]


def test_make_prompt_fills_the_template():
    assert dc.make_prompt("Paris").endswith("Paris is in the country of")
    assert dc.make_prompt("Lima", "language", 2).endswith("City: Lima. Language:")
    assert dc.make_prompt("Lima", "country", "Where is {city}? In") == "Where is Lima? In"


@pytest.mark.parametrize(
    "args, message",
    [
        (("Paris", "population"), "Unknown attribute 'population'"),
        (("Paris", "country", 7), "out of range"),
        (("Paris", "country", "Paris is in the country of"), "no {city} placeholder"),
    ],
)
def test_make_prompt_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        dc.make_prompt(*args)


def test_multi_token_names(model):
    cities = ["Rio de Janeiro", "São Paulo", "Kuala Lumpur", "Paris"]
    prompts = [dc.make_prompt(c) for c in cities]
    positions = dc.city_positions(model.tokenizer, prompts, cities)
    assert [len(p) for p in positions[:2]] == [3, 2]
    assert all(p == list(range(p[0], p[-1] + 1)) for p in positions)  # contiguous
    assert decode(model.tokenizer, prompts, positions) == cities


def test_left_padding_shifts_positions(model):
    short, long = dc.make_prompt("Paris"), dc.make_prompt("Rio de Janeiro")
    alone = dc.city_positions(model.tokenizer, [short], ["Paris"])[0]
    batched = dc.city_positions(model.tokenizer, [short, long], ["Paris", "Rio de Janeiro"])
    pad = len(model.tokenizer(long)["input_ids"]) - len(model.tokenizer(short)["input_ids"])
    assert pad > 0 and batched[0] == [i + pad for i in alone]
    # Every row's last real token is the batch's last column.
    assert dc.last_city_positions(model, [short, long], ["Paris", "Rio de Janeiro"]).tolist() == [
        p[-1] for p in batched
    ]


def test_the_question_not_the_solved_example(model):
    prompt = dc.make_prompt("Berlin")  # Berlin is also the first solved example
    (positions,) = dc.city_positions(model.tokenizer, [prompt], ["Berlin"])
    assert positions[0] > 10


@pytest.mark.parametrize(
    "prompts, cities, error, message",
    [
        (["Paris is in"], ["Rome"], ValueError, "'Rome' does not occur"),
        (["Paris is in", "Rome is in"], ["Paris"], ValueError, "2 prompts but 1 cities"),
        ([], [], ValueError, "No prompts"),
        ("Paris is in", "Paris", TypeError, "Pass lists"),
    ],
)
def test_city_positions_bad_input(model, prompts, cities, error, message):
    with pytest.raises(error, match=message):
        dc.city_positions(model.tokenizer, prompts, cities)


def test_hidden_state_same_alone_and_in_a_padded_batch(model):
    cities = ["Paris", "Rio de Janeiro", "São Paulo"]
    prompts = [dc.make_prompt(c) for c in cities]
    batch = dc.hidden_at_city(model, prompts, cities, 8)
    for row in range(3):
        alone = dc.hidden_at_city(model, prompts[row : row + 1], cities[row : row + 1], 8)
        assert (alone - batch[row]).abs().max() < 1e-4
