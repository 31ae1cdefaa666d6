"""Where dascourse keeps what it computes once (model weights, which facts a model knows), written so
that a process killed half-way never leaves a half-written file behind."""
import hashlib
import os
import tempfile
from pathlib import Path


def cache_dir():
    """$DASCOURSE_CACHE if set, else ~/.cache/dascourse."""
    return Path(os.environ.get("DASCOURSE_CACHE") or Path.home() / ".cache" / "dascourse")


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_text(path, text):
    """Write to a temporary file beside `path`, then rename it into place (atomic on POSIX)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".partial-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
