"""The course's DAS settings (layer, k, learning rate, batch size, steps), chosen once on validation data.

`make selection` runs `python -m dascourse select` on the course's city table and writes its best
configuration to dascourse/data/course_settings.json, next to the sweep's CSV; the training, evaluation
and multi-task chapters read it with `course_settings()`, so that they use one configuration and the
book page "How the settings were chosen" shows where it came from.
"""
import json
from importlib import resources

SETTINGS_FILE = "course_settings.json"


def course_settings():
    """{"layer", "k", "lr", "batch_size", "steps", "made_by"}: the configuration the chapters use."""
    text = resources.files("dascourse").joinpath("data", SETTINGS_FILE).read_text(encoding="utf-8")
    return json.loads(text)
