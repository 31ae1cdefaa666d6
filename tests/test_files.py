"""dascourse.files: where the cache lives, and atomic_open's promise (readers see the old file or the new one)."""
import pytest

from dascourse.files import atomic_open, cache_dir, sha256


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DASCOURSE_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.delenv("DASCOURSE_CACHE")
    assert cache_dir().parts[-2:] == (".cache", "dascourse")


def test_atomic_open_replaces_the_file_only_when_the_block_succeeds(tmp_path):
    path = tmp_path / "sub" / "table.csv"
    with atomic_open(path) as f:
        f.write("old")
    with pytest.raises(RuntimeError), atomic_open(path) as f:
        f.write("half of the new")
        raise RuntimeError("killed mid-write")
    assert path.read_text() == "old"
    assert [p.name for p in path.parent.iterdir()] == ["table.csv"]  # no .partial-* left behind


def test_sha256_of_a_known_text(tmp_path):
    path = tmp_path / "abc"
    path.write_bytes(b"abc")
    assert sha256(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
