"""Importing dascourse changes nothing outside it: no IPython handler, no nnsight registration, no
template added behind a chapter's back. What needs such a change does it when called, and says so."""
import subprocess
import sys
import textwrap

IMPORT_EVERYTHING = textwrap.dedent("""
    import sys, types
    calls = []
    shell = types.SimpleNamespace(set_custom_exc=lambda *args: calls.append(args))
    sys.modules["IPython"] = types.SimpleNamespace(get_ipython=lambda: shell)  # as if in Jupyter
    from cloudpickle.cloudpickle import _PICKLE_BY_VALUE_MODULES
    import dascourse, dascourse.remote, dascourse.cli, dascourse.bench, dascourse.das, dascourse.evaluate
    print("on import:", len(calls), "dascourse" in _PICKLE_BY_VALUE_MODULES)
    dascourse.enable_hints()
    dascourse.remote.ship_dascourse()
    print("when asked:", len(calls), "dascourse" in _PICKLE_BY_VALUE_MODULES)
""")


def test_import_installs_nothing_and_the_explicit_calls_do():
    out = subprocess.run([sys.executable, "-c", IMPORT_EVERYTHING], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["on import: 0 False", "when asked: 1 True"]
