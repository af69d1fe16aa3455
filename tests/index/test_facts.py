"""The fact index on a hand-built three-triple graph: which facts a question reaches, and seed weights."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from kglink.corpus import OpenIEData, OpenIEDoc, Passage

DOCS = [
    OpenIEDoc(Passage("p1", "", "Ann met Bob."), ("Ann", "Bob"), (("Ann", "met", "Bob"),)),
    OpenIEDoc(Passage("p2", "", "Bob works at Acme."), ("Bob", "Acme"), (("Bob", "works at", "Acme"),)),
    OpenIEDoc(Passage("p3", "", "Cy likes Dee."), ("Cy", "Dee"), (("Cy", "likes", "Dee"),)),
]


@pytest.fixture(scope="module")
def bundle(default_model):
    from kglink import build_graph

    return build_graph(OpenIEData(tuple(DOCS), "v1", 0), model=default_model, facts=True)


def test_every_triple_is_one_fact_scored_by_mean_maxsim(bundle, default_model):
    from kglink import maxsim_reference

    facts = bundle.facts
    assert len(facts) == 3
    question = "Who did Ann meet?"
    found = facts.search(question, top_k=3)
    assert found[0][0] == ("Ann", "met", "Bob")
    query = default_model.encode_query(question)
    for triple, score in found:  # the slow reference on the stored (float16) vectors
        doc = facts.docs.embedding("|".join(p.lower() for p in triple))
        assert score == pytest.approx(maxsim_reference([query], [doc])[0, 0] / len(query), abs=1e-5)
    assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)


def test_fact_seeds_weigh_by_fact_score_over_passages_and_average(bundle):
    from kglink import GraphRetriever

    retriever = GraphRetriever(bundle, seeds="facts", fact_top_k=3)
    question = "Who did Ann meet?"
    score = {t: s for t, s in bundle.facts.search(question, top_k=3)}
    amb, bwa, cld = (
        score[("Ann", "met", "Bob")],
        score[("Bob", "works at", "Acme")],
        score[("Cy", "likes", "Dee")],
    )
    # passages per entity, by construction: ann 1, bob 2 (p1, p2), acme 1, cy 1, dee 1
    want = {"ann": amb, "bob": (amb / 2 + bwa / 2) / 2, "acme": bwa, "cy": cld, "dee": cld}
    seeds = {s.node[2:]: s for s in retriever.seeds(question)}
    assert {n: s.weight for n, s in seeds.items()} == pytest.approx(want)
    assert seeds["ann"].source == "fact" and seeds["ann"].mention == "Ann met Bob"
    assert retriever.retrieve(question, top_k=1)[0].passage_id == "p1"


def test_both_seed_sources_add_up_on_a_shared_node(bundle):
    from kglink import GraphRetriever

    ngram = {s.node: s for s in GraphRetriever(bundle).seeds("Who did Ann meet?")}
    fact = {s.node: s for s in GraphRetriever(bundle, seeds="facts", fact_top_k=3).seeds("Who did Ann meet?")}
    both = {s.node: s for s in GraphRetriever(bundle, seeds="both", fact_top_k=3).seeds("Who did Ann meet?")}
    assert "e:ann" in ngram and set(both) == set(ngram) | set(fact)
    assert both["e:ann"].source == "ngram+fact"
    assert both["e:ann"].weight == pytest.approx(ngram["e:ann"].weight + fact["e:ann"].weight)


def test_an_update_encodes_only_the_new_facts_and_they_survive_a_save(bundle, default_model, tmp_path):
    from kglink import GraphBundle, build_graph

    grown = build_graph(OpenIEData(tuple(DOCS), "v1", 0), model=default_model, facts=True)
    calls = []
    encode = default_model.encode_documents
    default_model.encode_documents = lambda texts, *a, **k: (
        calls.append(list(texts)) or encode(texts, *a, **k)
    )
    try:
        new = OpenIEDoc(
            Passage("p4", "", "Ann met Bob in Rome."), (), (("Ann", "met", "Bob"), ("Ann", "visited", "Rome"))
        )
        grown.extend(OpenIEData((new,), "v1", 0))
    finally:
        del default_model.encode_documents
    assert len(grown.facts) == 4 and ["Ann visited Rome"] in calls and ["Ann met Bob"] not in calls
    grown.save(tmp_path / "g")
    loaded = GraphBundle.load(tmp_path / "g", default_model)
    assert len(loaded.facts) == 4
    q = "Where did Ann go?"
    before, after = grown.facts.search(q, 2), loaded.facts.search(q, 2)
    assert [t for t, _ in after] == [t for t, _ in before] and after[0][0] == ("Ann", "visited", "Rome")
    assert [s for _, s in after] == pytest.approx([s for _, s in before])


def test_without_a_fact_index_fact_seeds_say_how_to_get_one(default_model):
    from kglink import GraphRetriever, InputError, build_graph

    plain = build_graph(OpenIEData(tuple(DOCS), "v1", 0), model=default_model)
    with pytest.raises(InputError, match="kglink build --facts"):
        GraphRetriever(plain, seeds="facts")


def test_cli_builds_facts_and_shows_where_seeds_came_from(tmp_path):
    import json

    from kglink.cli import main

    openie = tmp_path / "o.json"
    docs = [{"idx": d.passage.id, "passage": d.passage.text, "extracted_entities": list(d.entities),
             "extracted_triples": [list(t) for t in d.triples]} for d in DOCS]  # fmt: skip
    openie.write_text(json.dumps({"docs": docs}))
    runner = CliRunner()
    out = tmp_path / "g"
    assert (
        runner.invoke(
            main, ["build", "--openie", str(openie), "--out", str(out), "--facts", "--no-progress"]
        ).exit_code
        == 0
    )
    result = runner.invoke(main, ["retrieve", "--graph", str(out), "--seeds", "both", "Who did Ann meet?"])
    assert result.exit_code == 0, result.output
    assert "from ngram+fact 'Ann'" in result.output and "from fact 'Ann met Bob'" in result.output
