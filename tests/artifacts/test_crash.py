"""Saves killed with SIGKILL, for real: afterwards the folder loads and is the old or the new version.

A subprocess (``crash_worker.py``) saves a new version over an old one and is killed at
injected points between file-system steps, or by this test after a random delay. The
folder is then loaded with no manual step and its content hash compared with those of
the old and the new version. The default suite kills a bundle save five times; ``-m slow``
kills each kind of save at up to 60 of its steps (a token index save has 48, a bundle
save about 165), plus six random delays each: over 250 kills.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("crash_worker.py")
SAMPLE = Path(__file__).resolve().parents[2] / "graphs" / "sample"
MODES = ("tokens", "entities", "bundle", "cli-update")


def _run(mode: str, folder: Path, kill_at: int, model: Path, *extra: str, delay: float | None = None):
    cmd = [sys.executable, str(WORKER), mode, str(folder), str(kill_at), str(model), str(SAMPLE), *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if delay is not None:
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def _digest(folder: Path) -> str:
    """Hash of every file's path and bytes (the lock and the manifest's random version id aside)."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.name not in (".lock", "MANIFEST.json"):
            h.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _load(mode: str, folder: Path, model):
    from kglink import EntityIndex, GraphBundle, LateInteractionIndex

    if mode == "tokens":
        return LateInteractionIndex.load(folder)
    if mode == "entities":
        return EntityIndex.load(folder, model)
    return GraphBundle.load(folder, model)


@pytest.fixture(scope="module")
def tiny(plain_ckpt):
    from kglink import LateInteractionModel

    return plain_ckpt, LateInteractionModel.from_pretrained(plain_ckpt, show_progress=False)


def _versions(mode: str, work: Path, model_dir: Path) -> tuple[Path, str, str, int]:
    """The old folder, the old and new content hashes, and the number of steps of a save."""
    old = work / "old" / "g"
    old.parent.mkdir(parents=True)
    assert _run(mode, old, 0, model_dir, "--old")[0] == 0
    new = work / "new" / "g"
    shutil.copytree(old, new)
    code, out, err = _run(mode, new, 0, model_dir)
    assert code == 0, err
    return old, _digest(old), _digest(new), int(out.split()[-1])


def _kill_and_check(mode, work, old, digests, model_dir, model, n, kill_at=0, delay=None) -> str:
    folder = work / f"run{n}" / "g"
    shutil.copytree(old, folder)
    code, _, err = _run(mode, folder, kill_at, model_dir, delay=delay)
    assert code in (0, -signal.SIGKILL), err
    _load(mode, folder, model)  # loads with no manual step (recovering if it must)
    got = _digest(folder)
    assert got in digests, f"kill at step {kill_at} / after {delay}s left a folder that is neither version"
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(".g.")] == []  # no leftovers
    return "old" if got == digests[0] else "new"


def _kills(mode, tmp_path, tiny, points, delays) -> list[str]:
    model_dir, model = tiny
    old, old_digest, new_digest, steps = _versions(mode, tmp_path, model_dir)
    assert old_digest != new_digest
    digests = (old_digest, new_digest)
    seen = []
    for n, kill_at in enumerate(points(steps)):
        seen.append(_kill_and_check(mode, tmp_path, old, digests, model_dir, model, n, kill_at=kill_at))
    for n, delay in enumerate(delays, start=10_000):
        seen.append(_kill_and_check(mode, tmp_path, old, digests, model_dir, model, n, delay=delay))
    return seen


def _five(steps: int) -> list[int]:
    return [1, steps // 3, 2 * steps // 3, steps - 1, steps]


def _sixty(steps: int) -> range:
    return range(1, steps + 1, max(1, steps // 60))


def test_a_bundle_save_killed_at_a_few_points_is_old_or_new(tmp_path, tiny):
    seen = _kills("bundle", tmp_path, tiny, _five, [])
    assert "old" in seen and "new" in seen  # the kills did land on both sides of the switch


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_every_step_of_every_save_killed(tmp_path, tiny, mode):
    rng = random.Random(mode)
    seen = _kills(mode, tmp_path, tiny, _sixty, [rng.uniform(0.5, 4) for _ in range(6)])
    assert "old" in seen and "new" in seen
