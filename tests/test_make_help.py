"""`make help` lists every target of the Makefile, one line each."""
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_make_help_lists_every_target():
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):(?!=)", (ROOT / "Makefile").read_text(), re.M))
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    listed = [line.split()[1] for line in out.splitlines()]
    assert len(listed) == len(set(listed)), "a target is listed twice"
    assert set(listed) == targets, (f"add to `make help` (Makefile): {sorted(targets - set(listed))}; "
                                    f"listed but no such target: {sorted(set(listed) - targets)}")
