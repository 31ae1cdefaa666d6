"""Files on disk (the in-memory prefix caches are prefix_cache.py's): where dascourse keeps what it
computes once (model weights, which facts a model knows), written so that a process killed half-way
never leaves a half-written file behind."""
import hashlib
import os
import tempfile
from contextlib import contextmanager
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


@contextmanager
def atomic_open(path, mode="w"):
    """Open a temporary file beside `path` for writing; when the block ends without error, rename it
    to `path` (os.replace, atomic on POSIX). Readers see the old file or the new one, never half of it:
    a writer killed mid-way leaves only a stray `<name>.partial-*` file, which no reader opens.

        with atomic_open(path, "wb") as f:
            torch.save(obj, f)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".partial-", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
