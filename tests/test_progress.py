"""dascourse.progress: one display updated in place in a kernel (so an executed notebook keeps one line),
tqdm on stderr elsewhere."""
import subprocess
import sys

import nbformat
import pytest

from dascourse import progress


class FakeHandle:
    def __init__(self, shown):
        self.shown = shown

    def update(self, data, raw):
        self.shown.append(data["text/plain"])


@pytest.fixture
def kernel(monkeypatch):
    """Pretend to be in a Jupyter kernel; return the list of texts the display showed, in order."""
    import IPython.display

    shown = []

    def display(data, raw, display_id):
        assert raw and display_id is True
        shown.append(data["text/plain"])
        return FakeHandle(shown)

    monkeypatch.setattr(progress, "in_kernel", lambda: True)
    monkeypatch.setattr(IPython.display, "display", display)
    monkeypatch.setattr(progress, "UPDATE_EVERY_S", 0)  # update on every step, to see the live lines
    return shown


def test_kernel_bar_ends_on_the_text_it_started_with(kernel):
    assert list(progress.progress_bar(range(3), "DAS layer 1")) == [0, 1, 2]
    assert kernel[0] == kernel[-1] == "DAS layer 1: 3 steps"
    assert [line.split("] ")[1].split(",")[0] for line in kernel[1:-1]] == ["1/3 steps", "2/3 steps"]
    assert not any(ch.isdigit() for ch in kernel[-1].replace("1: 3", "")), "the final line holds no timing"


def test_kernel_bar_says_where_an_interrupted_loop_stopped(kernel):
    with pytest.raises(KeyboardInterrupt):
        for step in progress.progress_bar(range(10), "DAS"):
            if step == 4:
                raise KeyboardInterrupt
    assert kernel[-1] == "DAS: 10 steps (stopped after 4)"


def test_disabled_bar_shows_nothing(kernel, capsys):
    assert list(progress.progress_bar(iter("ab"), "x", total=2, enabled=False)) == ["a", "b"]
    assert kernel == [] and capsys.readouterr() == ("", "")


def test_outside_a_kernel_it_is_tqdm_on_stderr(monkeypatch, capsys):
    assert not progress.in_kernel()  # pytest is no kernel
    assert list(progress.progress_bar(range(5), "prompts", unit="batches")) == list(range(5))
    out, err = capsys.readouterr()
    assert out == "" and "prompts" in err and "5/5" in err


def test_an_executed_notebook_keeps_one_final_line_that_nbval_accepts(tmp_path):
    """A real kernel (nbclient, as `make execute` runs the chapters): the bar's ~20 updates leave one output,
    and nbval, run on the executed notebook, finds the same output (it records a display's first state)."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import time\nfrom dascourse import progress\nprogress.UPDATE_EVERY_S = 0.01\n"
        "for _ in progress.progress_bar(range(20), 'DAS layer 1, k=2'):\n    time.sleep(0.02)\nprint('done')")])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = nb.cells[0].outputs
    assert [o.output_type for o in outputs] == ["display_data", "stream"], outputs
    assert outputs[0].data["text/plain"] == "DAS layer 1, k=2: 20 steps" and outputs[1].text == "done\n"
    path = tmp_path / "bar.ipynb"
    nbformat.write(nb, path)
    nbval = subprocess.run([sys.executable, "-m", "pytest", "--nbval", str(path), "-q", "-p", "no:cacheprovider"],
                           capture_output=True, text=True, cwd=tmp_path)
    assert nbval.returncode == 0, nbval.stdout[-2000:]
