"""A save that the crash tests kill: ``python crash_worker.py MODE FOLDER KILL_AT MODEL SAMPLE``.

The worker loads what ``FOLDER`` holds (the old version), makes the new one and saves it,
counting the file-system steps of the save (renames, fsyncs, opens, unlinks, the atomic
exchange). With ``KILL_AT`` = N > 0 it sends itself SIGKILL just before step N; with 0 it
runs to the end and prints how many steps the save took. ``MODE ... --old`` writes the
old version instead, unkilled. Nothing here is part of kglink: the kills are injected by
wrapping ``os`` functions in this process only.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import numpy as np

mode, folder, kill_at, model_dir, sample = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:6]
old = "--old" in sys.argv
steps = 0
armed = False


def _counted(fn):
    def wrapper(*args, **kwargs):
        global steps
        if armed:
            steps += 1
            if steps == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
        return fn(*args, **kwargs)

    return wrapper


for name in ("replace", "rename", "fsync", "open", "unlink", "rmdir", "mkdir", "ftruncate"):
    setattr(os, name, _counted(getattr(os, name)))

from kglink.artifacts import folders  # noqa: E402

folders._exchange = _counted(folders._exchange)


def _openie(part: int) -> Path:
    """The sample's first 6 passages (old) or first 10 (new), as an OpenIE file beside the folder."""
    docs = json.loads((Path(sample) / "openie.json").read_text())["docs"]
    path = folder.parent / f"openie-{part}.json"
    path.write_text(json.dumps({"docs": docs[: 6 if part == 0 else 10]}))
    return path


def tokens() -> None:
    from kglink import LateInteractionIndex

    n = 5 if old else 8
    rng = np.random.default_rng(n)
    index = LateInteractionIndex()
    vectors = [rng.standard_normal((int(rng.integers(1, 6)), 8)).astype(np.float32) for _ in range(n)]
    index.add(vectors, [f"text {i}" for i in range(n)])
    save(lambda: index.save(folder))


def entities() -> None:
    from kglink import EntityIndex, LateInteractionModel

    model = LateInteractionModel.from_pretrained(model_dir, show_progress=False)
    if old:
        index = EntityIndex(model, threshold=0.5)
        index.add(["stanford university", "leland stanford"])
        return index.save(folder)
    index = EntityIndex.load(folder, model)
    index.add(["barack obama", "the university of hawaii", "obama"])
    save(lambda: index.save(folder))


def bundle() -> None:
    from kglink import GraphBundle, LateInteractionModel, build_graph

    model = LateInteractionModel.from_pretrained(model_dir, show_progress=False)
    if old:
        return build_graph(_openie(0), model=model, threshold=0.9).save(folder)
    loaded = GraphBundle.load(folder, model)
    loaded.extend(_openie(1))
    save(lambda: loaded.save(folder))


def cli_update() -> None:
    from kglink.cli import main

    if old:
        return bundle()
    args = ["build", "--openie", str(_openie(1)), "--out", str(folder), "--update", "--no-progress"]
    save(lambda: main(args, standalone_mode=False))


def save(run) -> None:
    global armed
    armed = True
    run()
    armed = False
    print(steps)


{"tokens": tokens, "entities": entities, "bundle": bundle, "cli-update": cli_update}[mode]()
