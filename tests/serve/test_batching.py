"""Concurrent requests batched together give the answers they get one at a time."""

from __future__ import annotations

import asyncio

import pytest

WORDS = [
    "Zimbabwe",
    "Judith Viorst",
    "American Psychological Association",
    "Brothers Grimm",
    "Harare",
    "Journal of Psychotherapy Integration",
    "Stanford",
    "zzzz qqqq",
    "Lake Kariba",
    "Africa",
]


def _requests(n: int) -> list[dict]:
    return [{"mentions": [WORDS[i % 10], WORDS[(3 * i + 1) % 10]], "top_k": 1 + i % 4} for i in range(n)]


def _same(batched: list[dict], alone: list[dict]) -> None:
    """Same mentions, nodes, order and linked flags; scores equal up to float32 rounding.

    A padded batch of other lengths changes the encoder's sums in the last bits (about
    1e-7), so scores are compared to 1e-5, ranks and node ids exactly.
    """
    for b, a in zip(batched, alone, strict=True):
        for rb, ra in zip(b["results"], a["results"], strict=True):
            assert (rb["mention"], rb["linked"]) == (ra["mention"], ra["linked"])
            assert [m["node_id"] for m in rb["matches"]] == [m["node_id"] for m in ra["matches"]]
            scores = [m["score"] for m in rb["matches"]] + [rb["best"]["score"]]
            expected = [m["score"] for m in ra["matches"]] + [ra["best"]["score"]]
            assert scores == pytest.approx(expected, abs=1e-5)


def test_50_concurrent_links_equal_the_sequential_ones(serve, client, sample_dir):
    service, app = serve({"kg": sample_dir}, max_wait_ms=20)
    bodies = _requests(50)

    async def go():
        async with client(app) as c:
            alone = [(await c.post("/v1/graphs/kg/link", json=b)).json() for b in bodies]
            sizes_before = service.metrics.batch_size._sum.get()
            together = await asyncio.gather(*(c.post("/v1/graphs/kg/link", json=b) for b in bodies))
            return alone, [r.json() for r in together], sizes_before

    alone, together, before = asyncio.run(go())
    _same(together, alone)
    batches = service.metrics.batch_size._sum.get() - before  # jobs, summed over batches
    count = sum(
        s.value for m in service.metrics.batch_size.collect() for s in m.samples if s.name.endswith("_count")
    )
    assert batches == 50 and count < 100  # 50 sequential batches of one, then far fewer than 50 more
    assert service.model.misses == 0


def test_batching_off_runs_one_job_a_batch(serve, client, sample_dir):
    service, app = serve({"kg": sample_dir}, batching=False)
    bodies = _requests(12)

    async def go():
        async with client(app) as c:
            return await asyncio.gather(*(c.post("/v1/graphs/kg/link", json=b) for b in bodies))

    results = asyncio.run(go())
    assert all(r.status_code == 200 for r in results)
    samples = {s.name: s.value for m in service.metrics.batch_size.collect() for s in m.samples}
    assert samples["kglink_batch_size_count"] == 12 and samples["kglink_batch_size_sum"] == 12


def test_a_bad_mention_in_a_grouped_batch_fails_alone(serve, client, sample_dir):
    """Links of one batch run as one call; one that fails makes each run alone and keep its answer."""
    service, app = serve({"kg": sample_dir}, max_wait_ms=50)
    bodies = [{"mentions": [w], "top_k": 2} for w in WORDS]
    bad = {"mentions": ["Harare", "?!"], "top_k": 2}  # "?!" has no letters: the library refuses it

    async def go():
        async with client(app) as c:
            alone = [await c.post("/v1/graphs/kg/link", json=b) for b in [*bodies, bad]]
            together = await asyncio.gather(*(c.post("/v1/graphs/kg/link", json=b) for b in [bad, *bodies]))
            return alone, together

    alone, together = asyncio.run(go())
    assert alone[-1].status_code == together[0].status_code == 400
    assert together[0].json() == alone[-1].json()
    assert all(r.status_code == 200 for r in together[1:])
    _same([r.json() for r in together[1:]], [r.json() for r in alone[:-1]])


def test_links_of_one_batch_run_as_one_library_call(serve, client, sample_dir, monkeypatch):
    service, app = serve({"kg": sample_dir}, max_wait_ms=50)
    entities = service.stores["kg"].snapshot.bundle.entities
    calls, link = [], entities.link
    counted = lambda mentions, *a: calls.append(list(mentions)) or link(mentions, *a)  # noqa: E731
    monkeypatch.setattr(entities, "link", counted)
    bodies = [{"mentions": [w, "Africa"], "top_k": 3} for w in WORDS[:6]]

    async def go():
        async with client(app) as c:
            return await asyncio.gather(*(c.post("/v1/graphs/kg/link", json=b) for b in bodies))

    answers = [r.json()["results"] for r in asyncio.run(go())]
    assert [[r["mention"] for r in a] for a in answers] == [b["mentions"] for b in bodies]
    assert len(calls) < len(bodies)  # grouped: fewer calls than requests
    assert sorted(m for c in calls for m in c) == sorted(m for b in bodies for m in b["mentions"])
