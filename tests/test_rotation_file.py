import signal
import subprocess
import sys
import textwrap

import pytest
import torch

import dascourse as dc
from dascourse.interventions import RotatedSubspace
from dascourse.storage import RotationFileError, load_intervention, save_intervention


def seeded_rotation(d=576, k=8, seed=0):
    torch.manual_seed(seed)
    return RotatedSubspace(d, k)


def test_round_trip_gives_the_same_patched_logits(model, tmp_path):
    rotation = seeded_rotation()
    with torch.no_grad():
        rotation.rotate.parametrizations.weight.original.add_(0.1)  # not the seeded start: a "trained" R_k
    path = tmp_path / "rot.pt"
    save_intervention(path, rotation, model=model.name, layer=12, attribute="country")
    loaded, metadata = load_intervention(path, model=model, layer=12)
    assert torch.equal(loaded.R_k, rotation.R_k)
    assert metadata["model"] == model.name and metadata["hidden_size"] == 576 and metadata["k"] == 8
    assert metadata["attribute"] == "country" and metadata["dascourse_version"] == dc.__version__
    pairs = dc.make_pairs(model, dc.known_facts(model, "country"), n=4, seed=0)
    with torch.no_grad():
        before = dc.patch_pairs(model, pairs, 12, rotation)
        after = dc.patch_pairs(model, pairs, 12, loaded)
    assert torch.equal(before, after)


def test_rotation_for_another_model_hidden_size_or_layer_is_refused(model, tmp_path):
    path = tmp_path / "rot.pt"
    save_intervention(path, seeded_rotation(), model="meta-llama/Llama-3.2-1B", layer=12)
    with pytest.raises(RotationFileError, match=r"model 'meta-llama/Llama-3.2-1B', not 'SmolLM2-135M-Instruct'"):
        load_intervention(path, model=model)
    save_intervention(path, seeded_rotation(d=960), model=model.name, layer=12)  # SmolLM2-360M's width
    with pytest.raises(RotationFileError, match="hidden size 960, not 576"):
        load_intervention(path, model=model)
    save_intervention(path, seeded_rotation(), model=model.name, layer=12)
    with pytest.raises(RotationFileError, match="layer 12, not 3"):
        load_intervention(path, model=model, layer=3)


@pytest.mark.parametrize("damage", ["empty", "truncated", "flipped", "text"])
def test_corrupt_or_truncated_file_gives_one_clear_error(tmp_path, damage):
    path = tmp_path / "rot.pt"
    save_intervention(path, seeded_rotation(), model="m", layer=0)
    data = path.read_bytes()
    damaged = {
        "empty": b"",
        "truncated": data[: len(data) // 2],
        "flipped": data[: len(data) // 2] + bytes(64) + data[len(data) // 2 + 64 :],  # inside R_k's bytes
        "text": b"not a rotation",
    }[damage]
    path.write_bytes(damaged)
    with pytest.raises(RotationFileError, match="corrupt"):
        load_intervention(path)


def test_missing_file_and_foreign_file(tmp_path):
    with pytest.raises(RotationFileError, match="No rotation file at"):
        load_intervention(tmp_path / "nothing.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(RotationFileError, match="not a dascourse rotation file"):
        load_intervention(tmp_path / "other.pt")


def test_save_checks_its_input(tmp_path):
    with pytest.raises(ValueError, match="saves an Intervention"):
        save_intervention(tmp_path / "rot.pt", torch.zeros(8, 576))
    with pytest.raises(ValueError, match="contradicts"):
        save_intervention(tmp_path / "rot.pt", seeded_rotation(), hidden_size=2048)
    assert not list(tmp_path.iterdir())  # nothing written


# The writer below saves a big rotation (d=2048: ~17 MB) over a good file. Its torch.save is wrapped so
# that it writes half the bytes, flushes them to disk, says "half" and waits to be killed.
WRITER = """
import sys, time, torch
from dascourse import storage
from dascourse.interventions import RotatedSubspace

real_save = torch.save

def half_save(obj, f):
    real_save(obj, buffer := __import__("io").BytesIO())
    data = buffer.getvalue()
    f.write(data[: len(data) // 2])
    f.flush()
    print("half", flush=True)
    time.sleep(600)

storage.torch.save = half_save
torch.manual_seed(1)
storage.save_intervention(sys.argv[1], RotatedSubspace(2048, 512), model="m", layer=1)
"""


def test_writer_killed_mid_write_leaves_the_previous_file(tmp_path):
    path = tmp_path / "rot.pt"
    previous = seeded_rotation()
    save_intervention(path, previous, model="m", layer=0)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "half"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    partial = [p for p in tmp_path.iterdir() if p.name.startswith("rot.pt.partial-")]
    assert len(partial) == 1 and partial[0].stat().st_size > 1_000_000  # the killed write was real
    loaded, metadata = load_intervention(path)
    assert torch.equal(loaded.R_k, previous.R_k) and metadata["layer"] == 0  # the previous file, intact
    following = seeded_rotation(seed=2)
    save_intervention(path, following, model="m", layer=2)  # the next save and load work as usual
    assert torch.equal(load_intervention(path)[0].R_k, following.R_k)


def test_saves_killed_at_a_random_moment_never_leave_a_broken_file(tmp_path):
    # A loop of real saves (no hook), SIGKILLed at a random moment: whatever the moment, the file loads.
    path = tmp_path / "rot.pt"
    save_intervention(path, seeded_rotation(), model="m", layer=0)
    loop = textwrap.dedent("""
        import sys, torch
        from dascourse.interventions import RotatedSubspace
        from dascourse.storage import save_intervention
        rotation = RotatedSubspace(2048, 256)
        print("saving", flush=True)
        for i in range(10_000):
            save_intervention(sys.argv[1], rotation, model="m", layer=i % 30)
    """)
    writer = subprocess.Popen([sys.executable, "-c", loop, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "saving"
        with pytest.raises(subprocess.TimeoutExpired):
            writer.wait(timeout=0.5 + torch.rand(1).item())
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    rotation, metadata = load_intervention(path)
    assert rotation.d in (576, 2048) and 0 <= metadata["layer"] < 30
