import os

# The whole suite runs offline: nothing may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest

import dascourse as dc

# Markers (registered in pyproject.toml), set here rather than by hand on each test:
# - a test that asks for a fixture in FIXTURE_MARKS (directly or through another fixture) gets its marker;
# - the tests below, which load the model, execute notebooks or build things without such a fixture, are
#   named here: by file, by file::test (every case of a parametrized test) or by file::test[case].
# `make test-fast` deselects model, notebook, browser and slow.
FIXTURE_MARKS = {"model": "model", "run_cli": "model", "browser": "browser"}
NAMED_MARKS = {
    "test_learner_render.py::test_a_hint_is_hidden_until_its_summary_is_clicked": ("browser",),
    # the check of a trace exercise (1.1) takes the model, through request.getfixturevalue
    "test_check_mistakes.py::test_a_stub_is_reported_as_skipped[check_patch_residual]": ("model",),
    "test_learner_stubs.py::test_stub_runs_as_a_skipped_check[1.1]": ("model",),
    "test_cli.py::test_train_warns_below_the_minimum_number_of_entities": ("model",),  # in the subprocess
    "test_cli.py::test_evaluate_refuses_a_rotation_for_another_hidden_size": ("model",),  # in the subprocess
    "test_reliability.py::test_no_network_while_loading_and_patching": ("model",),
    "test_wheel.py": ("slow",),
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        marks = {mark for fixture, mark in FIXTURE_MARKS.items() if fixture in item.fixturenames}
        if item.get_closest_marker("learner_run"):  # the learner notebooks' full runs (tests/test_learner*.py)
            marks.update({"notebook", "model"})
        path = item.nodeid.split("/")[-1]
        for name in {path, path.split("[")[0], path.split("::")[0]}:
            marks.update(NAMED_MARKS.get(name, ()))
        for mark in sorted(marks):
            item.add_marker(mark)


@pytest.fixture(autouse=True)
def _model_only_where_marked(request, monkeypatch):
    """A test without the `model` marker that loads a model's weights in this process fails, naming the fix,
    so that `make test-fast` cannot quietly load the model. (A subprocess it starts is not watched.)"""
    if request.node.get_closest_marker("model"):
        return
    from pathlib import Path

    from transformers import AutoModelForCausalLM

    load = AutoModelForCausalLM.from_pretrained

    def refuse_local_weights(path, *args, **kwargs):
        if Path(str(path)).is_dir():
            raise RuntimeError(f"{request.node.nodeid} loads a model ({path}) but is not marked `model`: "
                               "name it in NAMED_MARKS in tests/conftest.py (or use the `model` fixture).")
        return load(path, *args, **kwargs)  # a hub name: fails offline as the test expects

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", refuse_local_weights)


@pytest.fixture(scope="session")
def model():
    """The default model, loaded once for the whole test session."""
    return dc.load_model()
