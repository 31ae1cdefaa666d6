"""Progress bars: live while a loop runs, and one line once it is done.

    for step in progress_bar(range(steps), "DAS layer 12, k=32"):
        ...

In a Jupyter kernel (a notebook, Colab, VS Code) the bar is one display output updated in place (IPython's
`display(..., display_id=True)`, then `handle.update(...)`): the learner sees it move, and an executed
notebook keeps that single output, in its final state, where tqdm would leave one carriage-return line per
update (the site shows each as a separate box). Anywhere else (a terminal, the command line) it is tqdm on
stderr, so that stdout stays free for results.

The final line is the bar's title, "DAS layer 12, k=32: 100 steps", the very text it starts with: it holds no
timing, so a re-executed notebook gives the same output, and tools that record only a display's first
state and ignore its updates (nbval does) still see the committed text.
"""
import sys
import time

UPDATE_EVERY_S = 0.5  # a kernel update is a message to the browser: a few per second are plenty


def in_kernel():
    """True inside a Jupyter kernel, whose frontend can update a display in place (a terminal IPython cannot)."""
    ipython = sys.modules.get("IPython")  # imported by every kernel; never imported here for the CLI's sake
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def title(desc, total, unit="steps"):
    """The bar's first and final text: what runs and how long, no timings."""
    return f"{desc}: {total} {unit}"


def live_line(desc, done, total, elapsed_s, unit="steps", width=20):
    """The text shown while running, e.g. "DAS: [######--------------] 30/100 steps, 12 s, about 28 s left"."""
    filled = round(width * done / total) if total else width
    left = f", about {elapsed_s / done * (total - done):.0f} s left" if done else ""
    return f"{desc}: [{'#' * filled}{'-' * (width - filled)}] {done}/{total} {unit}, {elapsed_s:.0f} s{left}"


def progress_bar(iterable, desc, total=None, enabled=True, unit="steps"):
    """Yield the items of `iterable`, showing a progress bar labelled `desc` (see the module's docstring).
    `total`: the number of items, if `iterable` has no len(); `enabled=False` shows nothing."""
    total = len(iterable) if total is None else total
    if not enabled:
        yield from iterable
    elif in_kernel():
        yield from _kernel_bar(iterable, desc, total, unit)
    else:
        from tqdm import tqdm

        yield from tqdm(iterable, desc=desc, total=total, unit=unit.rstrip("s") or None, file=sys.stderr)


def _kernel_bar(iterable, desc, total, unit):
    from IPython.display import display

    text = {"text/plain": title(desc, total, unit)}
    handle = display(text, raw=True, display_id=True)
    start = last = time.monotonic()
    done = 0
    try:
        for item in iterable:
            yield item
            done += 1
            now = time.monotonic()
            if done < total and now - last >= UPDATE_EVERY_S:
                handle.update({"text/plain": live_line(desc, done, total, now - start, unit)}, raw=True)
                last = now
    finally:  # also on an error or an interrupt: then say where it stopped
        if done < total:
            text = {"text/plain": f"{title(desc, total, unit)} (stopped after {done})"}
        handle.update(text, raw=True)
