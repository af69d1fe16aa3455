"""Writes: the library's computation, saved before they are answered, never seen half-done; curation kept."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import asdict
from pathlib import Path

from click.testing import CliRunner

from kglink import GraphBundle
from kglink.cli import main
from kglink.serve.writes import add_entities

SAMPLE = Path(__file__).resolve().parents[2] / "graphs" / "sample"
NAMES = ["Zimbabwe Republic", "Judith Viorst Jr.", "Quantum Chromodynamics"]


def test_add_entities_equals_the_library_and_is_saved(serve, client, graph_copy, library, default_model):
    service, app = serve({"kg": graph_copy})
    before = service.store("kg").snapshot.version

    async def go():
        async with client(app) as c:
            added = await c.post("/v1/graphs/kg/entities", json={"names": NAMES + ["Zimbabwe"]})
            linked = await c.post("/v1/graphs/kg/link", json={"mentions": ["quantum chromodynamics"]})
            return added, linked, await c.get("/v1/graphs/kg")

    added, linked, info = asyncio.run(go())
    assert added.status_code == 200, added.text
    entities = library.entities.copy()
    new = entities.add(NAMES)
    assert added.json()["added"] == new and "zimbabwe" not in new
    assert added.json()["synonyms"] == [asdict(p) for p in entities.synonym_pairs(nodes=new)]
    assert added.json()["synonyms"]  # "zimbabwe republic" meets "zimbabwe"
    assert linked.json()["results"][0]["matches"][0]["node_id"] == "quantum chromodynamics"
    assert info.json()["version"] != before and info.json()["stats"]["entities"] == len(library.entities) + 3
    on_disk = GraphBundle.load(graph_copy, default_model, show_progress=False)
    assert set(new) <= set(on_disk.entities.docs.ids) and set(new) <= set(on_disk.graph.entity_names())
    assert on_disk.graph.synonyms("zimbabwe republic") == service.store("kg").snapshot.bundle.graph.synonyms(
        "zimbabwe republic"
    )


def test_reads_during_a_long_write_see_the_old_or_the_new_state(serve, client, graph_copy):
    service, app = serve({"kg": graph_copy})
    store = service.store("kg")
    old = (store.snapshot.version, store.snapshot.bundle.graph.stats()["entities"])
    halfway = threading.Event()

    def slow_write(bundle):
        answer = add_entities(bundle, ["Slowly Added Entity"])
        halfway.set()
        time.sleep(1.5)  # the copy is changed; nothing is published yet
        return answer

    future = store.submit(slow_write)
    assert halfway.wait(60)

    async def reads():
        seen, after = [], 0
        async with client(app) as c:
            while after < 3:  # reads through the write, then three after it was answered
                after += future.done()
                info = (await c.get("/v1/graphs/kg")).json()
                link = (await c.post("/v1/graphs/kg/link", json={"mentions": ["Slowly Added Entity"]})).json()
                top = link["results"][0]["best"]["node_id"]
                seen.append((info["version"], info["stats"]["entities"], top == "slowly added entity"))
                await asyncio.sleep(0.05)
        return seen

    seen = asyncio.run(reads())
    new = (store.snapshot.version, store.snapshot.bundle.graph.stats()["entities"])
    assert new[1] == old[1] + 1, (old, new, set(seen))
    assert set(seen) <= {(*old, False), (*new, True)} and (*old, False) in seen and (*new, True) in seen


def _build(out: Path, docs: int | None, *extra: str) -> None:
    openie = out.parent / f"openie-{docs}.json"
    data = json.loads((SAMPLE / "openie.json").read_text())
    openie.write_text(json.dumps({"docs": data["docs"][:docs]}))
    args = ["build", "--openie", str(openie), "--corpus", str(SAMPLE / "corpus.json"), "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--no-progress", *extra])
    assert result.exit_code == 0, result.output


def test_curation_survives_update_rebuild_and_restart(serve, client, tmp_path):
    folder = tmp_path / "kg"
    _build(folder, 120)
    service, app = serve({"kg": folder})
    pairs = service.store("kg").snapshot.bundle.graph.synonyms()
    rejected = max(pairs, key=lambda p: p.score)
    names = service.store("kg").snapshot.bundle.graph.entity_names()
    accepted = [names[0], names[-1]]

    async def decide():
        async with client(app) as c:
            body = {"reject": [[rejected.target, rejected.source]], "accept": [accepted]}
            return await c.post("/v1/graphs/kg/synonyms/decisions", json=body)

    r = asyncio.run(decide())
    assert r.status_code == 200, r.text
    service.close()

    def check(bundle_or_graph):
        names = {(p.source, p.target): p.score for p in bundle_or_graph.synonyms()}
        assert (rejected.source, rejected.target) not in names
        assert names[tuple(sorted(accepted))] == 1.0

    check(GraphBundle.load(folder, show_progress=False).graph)
    _build(folder, None, "--update")  # 40 more passages
    updated = GraphBundle.load(folder, show_progress=False)
    assert updated.graph.stats()["passages"] == 160
    check(updated.graph)
    _build(folder, None)  # a whole rebuild scores every pair again
    check(GraphBundle.load(folder, show_progress=False).graph)
    service2, app2 = serve({"kg": folder})  # and a restart
    check(service2.store("kg").snapshot.bundle.graph)

    result = CliRunner().invoke(
        main, ["synonyms", "--graph", str(folder), "--accept", rejected.source, rejected.target]
    )
    assert result.exit_code == 0, result.output
    reloaded = GraphBundle.load(folder, show_progress=False)
    assert (rejected.source, rejected.target, 1.0) in {
        (p.source, p.target, p.score) for p in reloaded.graph.synonyms()
    }
    assert (rejected.source, rejected.target) in reloaded.decisions.accept
    deadline = time.monotonic() + 30  # the running server notices the folder changed
    while (
        service2.store("kg").snapshot.bundle.decisions != reloaded.decisions and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    assert service2.store("kg").snapshot.bundle.decisions == reloaded.decisions
