import os

# The whole suite runs offline: nothing may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest

import dascourse as dc


@pytest.fixture(scope="session")
def model():
    """The default model, loaded once for the whole test session."""
    return dc.load_model()
