"""pytest plugin: wall time and peak memory of each notebook nbval runs (`make test` loads it with -p).

The time is the sum of the notebook's cell times; the peak memory is the kernel's high-water mark
(VmHWM in /proc, Linux only), read just before nbval shuts that kernel down.
"""
import collections
from pathlib import Path

seconds = collections.Counter()
peak_mb = {}


def _kernel_peak_mb(notebook):
    kernel = getattr(notebook, "kernel", None)
    pid = getattr(getattr(getattr(kernel, "km", None), "provisioner", None), "pid", None)
    status = Path(f"/proc/{pid}/status")
    if pid is None or not status.exists():
        return None
    for line in status.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024


def _is_notebook_cell(item):
    return item is not None and str(item.fspath).endswith(".ipynb")


def pytest_runtest_logreport(report):
    if report.nodeid.split("::")[0].endswith(".ipynb"):
        seconds[report.nodeid.split("::")[0]] += report.duration


def pytest_runtest_teardown(item, nextitem):
    # The last cell of a notebook: its kernel is still running, so its high-water mark is readable.
    if _is_notebook_cell(item) and (nextitem is None or nextitem.parent is not item.parent):
        peak_mb[item.nodeid.split("::")[0]] = _kernel_peak_mb(item.parent)


def pytest_terminal_summary(terminalreporter):
    if not seconds:
        return
    write = terminalreporter.write_line
    terminalreporter.section("notebook times and peak memory")
    for name, s in seconds.items():
        mb = peak_mb.get(name)
        write(f"{name:<50} {s / 60:5.1f} min  {'' if mb is None else f'{mb:6.0f} MB peak'}")
    total = sum(seconds.values())
    write(f"{'all notebooks':<50} {total / 60:5.1f} min")
