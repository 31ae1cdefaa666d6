"""The public interface is `import dascourse as dc`; the old module paths warn, naming the new name and the
release that removes them (the one test that uses the old names)."""
import subprocess
import sys
import warnings

import pytest

import dascourse as dc
from dascourse._deprecated import REMOVED_IN

OLD = [("dascourse.das", "make_pairs", "make_pairs"), ("dascourse.das", "train_das", "train_das"),
       ("dascourse.rotation", "RotatedSubspace", "RotatedSubspace"), ("dascourse.fast", "PrefixCache", "PrefixCache"),
       ("dascourse.boundless", "BoundlessSubspace", "BoundlessSubspace"),
       ("dascourse.rotation_file", "save_rotation", "save_intervention"),
       ("dascourse.evaluate", "scores", "scores"), ("dascourse", "load_rotation", "load_intervention")]


@pytest.mark.parametrize("module, old, new", OLD)
def test_old_names_warn_and_give_the_new_object(module, old, new):
    mod = __import__(module, fromlist=["_"])
    with pytest.warns(DeprecationWarning, match=rf"{module}\.{old} is deprecated and will be removed in dascourse "
                                                rf"{REMOVED_IN}: use dc\.{new}"):
        value = getattr(mod, old)
    assert value is getattr(dc, new)


def test_full_patch_alias_is_a_full_patch():
    from dascourse import evaluate

    with pytest.warns(DeprecationWarning, match=r"dc\.FullPatch\(\)"):
        assert isinstance(evaluate.full_patch, dc.FullPatch)


def test_unknown_old_name_is_an_attribute_error():
    from dascourse import das

    with pytest.raises(AttributeError):
        das.no_such_name  # noqa: B018


def test_importing_dascourse_warns_nothing():
    subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", "import dascourse"], check=True)


def test_the_new_names_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        dc.make_pairs, dc.train_das, dc.scores, dc.save_intervention, dc.TrainSettings  # noqa: B018


def test_no_module_shadows_the_standard_library():
    from pathlib import Path

    assert not (Path(dc.__file__).parent / "select.py").exists()  # renamed dascourse/selection.py
