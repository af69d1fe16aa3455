"""Whole folders: what a save refuses to replace, what a load refuses to read, what it recovers."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from kglink import ArtifactError, InputError, KnowledgeGraph, LateInteractionIndex
from kglink.artifacts import folders, read_folder, write_folder, writer_lock
from kglink.corpus import OpenIEData, OpenIEDoc, Passage


def _index(n: int, seed: int = 0) -> LateInteractionIndex:
    rng = np.random.default_rng(seed)
    index = LateInteractionIndex()
    index.add([rng.standard_normal((3, 4)).astype(np.float32) for _ in range(n)], [f"t{i}" for i in range(n)])
    return index


def _graph() -> KnowledgeGraph:
    doc = OpenIEDoc(Passage("p1", "", "Ann met Bob."), ("Ann",), (("Ann", "met", "Bob"),))
    return KnowledgeGraph.from_openie(OpenIEData((doc,), "v1", 0))


def test_a_folder_kglink_did_not_write_is_never_replaced(tmp_path):
    folder = tmp_path / "D"
    folder.mkdir()
    (folder / "precious.txt").write_text("x")
    with pytest.raises(InputError, match="D exists and is not a kglink late interaction index folder"):
        _index(2).save(folder)
    assert [p.name for p in folder.iterdir()] == ["precious.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["D"]  # nothing written beside it either


def test_a_kglink_folder_holding_foreign_files_is_not_replaced(tmp_path):
    _index(2).save(tmp_path / "ix")
    (tmp_path / "ix" / "notes.txt").write_text("mine")
    assert len(LateInteractionIndex.load(tmp_path / "ix")[0]) == 2  # a load reads around them
    with pytest.raises(InputError, match="notes.txt, which kglink did not write"):
        _index(3).save(tmp_path / "ix")
    assert (tmp_path / "ix" / "notes.txt").read_text() == "mine"


def test_a_graph_saved_alone_does_not_drop_a_bundles_indexes(tmp_path):
    folder = tmp_path / "g"
    _graph().save(folder)
    (folder / "entities").mkdir()  # as in a bundle folder
    with pytest.raises(InputError, match="also holds entities, which this save would drop"):
        _graph().save(folder)


def test_another_kind_of_kglink_folder_is_refused(tmp_path):
    _graph().save(tmp_path / "g")
    with pytest.raises(InputError, match="is not a kglink late interaction index folder"):
        _index(2).save(tmp_path / "g")


def test_a_changed_file_is_caught_by_the_manifest(tmp_path):
    _index(3).save(tmp_path / "ix")
    offsets = tmp_path / "ix" / "offsets.npy"
    offsets.write_bytes(offsets.read_bytes()[:-1] + b"\x01")
    with pytest.raises(ArtifactError, match="offsets.npy differs .*do not belong together"):
        LateInteractionIndex.load(tmp_path / "ix")


def test_parts_of_two_saves_are_refused_even_when_each_is_well_formed(tmp_path):
    _index(3, seed=0).save(tmp_path / "a")
    _index(3, seed=1).save(tmp_path / "b")
    shutil.copy(tmp_path / "b" / "tokens.npy", tmp_path / "a" / "tokens.npy")  # same shape, other data
    with pytest.raises(ArtifactError, match="tokens.npy differs"):
        LateInteractionIndex.load(tmp_path / "a")
    _graph().save(tmp_path / "g")
    (tmp_path / "g" / "entities").mkdir()  # a part of a bundle that no save of this folder wrote
    (tmp_path / "g" / "entities" / "config.json").write_text("{}")
    with pytest.raises(ArtifactError, match="entities/config.json is not in the manifest"):
        KnowledgeGraph.load(tmp_path / "g")


def test_a_folder_of_0_1_without_a_manifest_still_loads(tmp_path):
    _index(3).save(tmp_path / "ix")
    (tmp_path / "ix" / "MANIFEST.json").unlink()
    assert len(LateInteractionIndex.load(tmp_path / "ix")[0]) == 3


def test_a_failed_save_leaves_the_old_version_and_no_leftovers(tmp_path):
    _index(2).save(tmp_path / "ix")
    with pytest.raises(RuntimeError, match="boom"):
        with write_folder(tmp_path / "ix", "late_interaction_index") as tmp:
            _index(5).write(tmp)
            raise RuntimeError("boom")
    assert len(LateInteractionIndex.load(tmp_path / "ix")[0]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix"]


def test_without_the_atomic_exchange_a_save_takes_two_renames_and_still_works(tmp_path, monkeypatch):
    monkeypatch.setattr(folders, "_exchange", lambda a, b: False)
    _index(2).save(tmp_path / "ix")
    _index(4).save(tmp_path / "ix")
    assert len(LateInteractionIndex.load(tmp_path / "ix")[0]) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix"]


def test_a_kill_between_the_two_renames_is_recovered_on_load(tmp_path):
    """What that kill leaves: no folder, the old version aside, the complete new one beside it."""
    _index(2).save(tmp_path / "old")
    time.sleep(0.01)
    _index(4).save(tmp_path / "new")
    (tmp_path / "old").rename(tmp_path / ".ix.old-x1")
    (tmp_path / "new").rename(tmp_path / ".ix.new-x1")
    assert len(LateInteractionIndex.load(tmp_path / "ix")[0]) == 4  # the newest complete version
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix"]


def test_leftovers_of_a_killed_writer_are_removed_by_the_next_load(tmp_path):
    _index(2).save(tmp_path / "ix")
    (tmp_path / ".ix.new-abc123").mkdir()
    (tmp_path / ".ix.new-abc123" / "tokens.npy").write_bytes(b"half")
    assert len(LateInteractionIndex.load(tmp_path / "ix")[0]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix"]


def test_a_reader_never_sees_a_mix_while_a_writer_saves_again_and_again(tmp_path):
    folder = tmp_path / "ix"
    _index(1).save(folder)
    stop, seen, errors = threading.Event(), set(), []

    def writer():
        n = 1
        while not stop.is_set() and n < 40:
            n += 1
            _index(n, seed=n).save(folder)

    def check(path):
        index, config = LateInteractionIndex.read(path)
        assert config["n_docs"] == len(index)
        return len(index)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while thread.is_alive() and time.monotonic() < deadline:
            try:
                seen.add(read_folder(folder, check))
            except ArtifactError as e:  # allowed only as "changed N times while read"
                errors.append(str(e))
    finally:
        stop.set()
        thread.join()
    assert len(seen) > 1 and all("while it was read" in e for e in errors)


def test_a_second_writer_waits_for_the_first(tmp_path):
    folder = tmp_path / "g"
    code = (
        "import sys, time; from kglink.artifacts import writer_lock\n"
        f"with writer_lock({str(folder)!r}):\n"
        "    print('got it', flush=True)\n"
    )
    with writer_lock(folder):
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(3)
        assert proc.poll() is None  # still waiting
    out, err = proc.communicate(timeout=60)
    assert out.decode().strip() == "got it"
    assert b"another kglink process is writing" in err
    assert f"(pid {os.getpid()})".encode() in err


def test_a_lock_of_a_killed_process_is_free(tmp_path):
    folder = tmp_path / "g"
    code = "import os; from kglink.artifacts import writer_lock\n"
    code += f"with writer_lock({str(folder)!r}):\n    os._exit(9)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 9
    start = time.monotonic()
    with writer_lock(folder):
        pass
    assert time.monotonic() - start < 1


def test_the_manifest_lists_every_file_with_its_size_and_hash(tmp_path):
    _index(2).save(tmp_path / "ix")
    manifest = json.loads((tmp_path / "ix" / "MANIFEST.json").read_text())
    assert manifest["kind"] == "late_interaction_index"
    assert sorted(manifest["files"]) == ["config.json", "docs.json", "offsets.npy", "tokens.npy"]
    size, digest = manifest["files"]["docs.json"]
    assert size == (tmp_path / "ix" / "docs.json").stat().st_size
    assert digest == hashlib.sha256((tmp_path / "ix" / "docs.json").read_bytes()).hexdigest()


def _save_linking(folder, relink: list[str], write: dict[str, bytes]) -> None:
    """A save of ``folder`` that hard-links ``relink`` from the version on disk, as the server does."""
    with write_folder(folder, "late_interaction_index") as tmp:
        for rel in relink:
            os.link(folder / rel, tmp / rel)
        for rel, data in write.items():
            (tmp / rel).write_bytes(data)


def test_a_hard_linked_file_keeps_its_listed_hash_and_a_new_one_is_hashed(tmp_path, monkeypatch):
    _index(2).save(tmp_path / "ix")
    before = json.loads((tmp_path / "ix" / "MANIFEST.json").read_text())["files"]
    hashed = []
    real = folders._sha256
    monkeypatch.setattr(folders, "_sha256", lambda p: hashed.append(p.name) or real(p))
    _save_linking(tmp_path / "ix", ["tokens.npy", "offsets.npy", "config.json"], {"docs.json": b"{}"})
    after = json.loads((tmp_path / "ix" / "MANIFEST.json").read_text())["files"]
    assert hashed == ["docs.json"]  # the three links were not read again
    assert {k: after[k] for k in ("tokens.npy", "offsets.npy", "config.json")} == {
        k: before[k] for k in ("tokens.npy", "offsets.npy", "config.json")
    }
    assert after["docs.json"] == [2, hashlib.sha256(b"{}").hexdigest()]
    folders.verify(tmp_path / "ix")  # what the manifest says is what the files hold


def test_a_file_changed_in_place_is_still_caught_after_it_is_linked_into_a_new_version(tmp_path):
    _index(3).save(tmp_path / "ix")
    offsets = tmp_path / "ix" / "offsets.npy"
    offsets.write_bytes(offsets.read_bytes()[:-1] + b"\x01")  # by hand, in place
    _save_linking(tmp_path / "ix", ["tokens.npy", "offsets.npy", "config.json", "docs.json"], {})
    with pytest.raises(ArtifactError, match="offsets.npy differs"):
        LateInteractionIndex.load(tmp_path / "ix")
