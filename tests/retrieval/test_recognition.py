"""HippoRAG 2's recognition memory against a real local HTTP server: well-formed, malformed, empty replies."""

from __future__ import annotations

import json
import logging

import pytest
from llm_servers import completion, free_port, scripted

from kglink.corpus import OpenIEData, OpenIEDoc, Passage
from kglink.errors import InputError, LLMUnavailableError
from kglink.retrieval.recognition import RecognitionFilter, recognition_messages

DOCS = [
    OpenIEDoc(Passage("p1", "", "Ann met Bob."), ("Ann", "Bob"), (("Ann", "met", "Bob"),)),
    OpenIEDoc(Passage("p2", "", "Bob works at Acme."), ("Bob", "Acme"), (("Bob", "works at", "Acme"),)),
    OpenIEDoc(Passage("p3", "", "Cy likes Dee."), ("Cy", "Dee"), (("Cy", "likes", "Dee"),)),
]
QUESTION = "Who did Ann meet?"


@pytest.fixture(scope="module")
def bundle(default_model):
    from kglink import build_graph

    return build_graph(OpenIEData(tuple(DOCS), "v1", 0), model=default_model, facts=True)


def facts_reply(*facts) -> tuple[int, dict, float]:
    return 200, completion(json.dumps({"fact": [list(f) for f in facts]})), 0.0


def test_a_well_formed_reply_keeps_the_named_facts_and_their_scores(serve, bundle):
    server = serve(scripted(facts_reply(("Ann", "met", "Bob"))))
    found = bundle.facts.search(QUESTION, top_k=3)
    kept = RecognitionFilter(server.url, "m")(QUESTION, found)
    assert kept == [(("Ann", "met", "Bob"), dict(found)[("Ann", "met", "Bob")])]
    body = server.requests[0]
    assert body["model"] == "m" and body["messages"] == recognition_messages(QUESTION, [f for f, _ in found])
    assert QUESTION in body["messages"][-1]["content"] and "Cy" in body["messages"][-1]["content"]


def test_retriever_seeds_only_from_the_kept_facts(serve, bundle):
    from kglink import GraphRetriever

    server = serve(scripted(facts_reply(("Ann", "met", "Bob"))))
    retriever = GraphRetriever(
        bundle, seeds="facts", fact_top_k=3, recognition=RecognitionFilter(server.url, "m")
    )
    amb = dict(bundle.facts.search(QUESTION, top_k=3))[("Ann", "met", "Bob")]
    seeds = {s.node[2:]: s.weight for s in retriever.seeds(QUESTION)}
    assert seeds == pytest.approx({"ann": amb / 1, "bob": amb / 2})  # bob is in p1 and p2
    with pytest.raises(InputError, match="seeds='facts'"):
        GraphRetriever(bundle, recognition=RecognitionFilter(server.url, "m"))


def test_reworded_facts_match_the_closest_shown_one_and_invented_ones_are_dropped(serve, bundle):
    reply = (
        "Sure! ```json\n" + json.dumps({"fact": [["ann", "Met", "Bob."], ["Zed", "ate", "pie"]]}) + "\n```"
    )
    server = serve(scripted((200, completion(reply), 0.0)))
    kept = RecognitionFilter(server.url, "m")(QUESTION, bundle.facts.search(QUESTION, top_k=3))
    assert [f for f, _ in kept] == [("Ann", "met", "Bob")]


def test_a_malformed_reply_keeps_no_fact_and_is_asked_again(serve, bundle, tmp_path):
    server = serve(scripted((200, completion("I think Ann met Bob, but who knows"), 0.0)))
    recognition = RecognitionFilter(server.url, "m", cache_dir=tmp_path)
    found = bundle.facts.search(QUESTION, top_k=3)
    assert recognition(QUESTION, found) == [] and recognition(QUESTION, found) == []
    assert len(server.requests) == 2 and not list(tmp_path.iterdir())  # nothing cached


def test_an_empty_list_keeps_no_fact_and_the_question_falls_back_to_dense(serve, bundle, tmp_path):
    from kglink import GraphRetriever

    server = serve(scripted(facts_reply()))
    recognition = RecognitionFilter(server.url, "m", cache_dir=tmp_path)
    retriever = GraphRetriever(bundle, seeds="facts", fact_top_k=3, recognition=recognition)
    hits = retriever.retrieve(QUESTION, top_k=2)
    assert [h.passage_id for h in hits] == [h.passage_id for h in retriever.retrieve_dense(QUESTION, 2)]
    assert all(h.seeds == () and h.via == "dense" for h in hits)
    assert len(list(tmp_path.glob("*.json"))) == 1  # a well-formed empty answer is cached


def test_the_cache_makes_a_repeated_question_free(serve, bundle, tmp_path):
    server = serve(scripted(facts_reply(("Bob", "works at", "Acme"), ("Ann", "met", "Bob"))))
    found = bundle.facts.search(QUESTION, top_k=3)
    first = RecognitionFilter(server.url, "m", cache_dir=tmp_path)(QUESTION, found)
    again = RecognitionFilter(server.url, "m", cache_dir=tmp_path)(QUESTION, found)
    assert [f for f, _ in first] == [("Bob", "works at", "Acme"), ("Ann", "met", "Bob")]  # the model's order
    assert again == first and len(server.requests) == 1
    other_model = RecognitionFilter(server.url, "m2", cache_dir=tmp_path)(QUESTION, found)
    assert other_model == first and len(server.requests) == 2  # another model is asked itself


def test_a_failing_server_keeps_every_fact_with_a_warning(serve, bundle, caplog):
    server = serve(scripted((500, {"error": "boom"}, 0.0)))
    recognition = RecognitionFilter(server.url, "m", max_retries=1)
    recognition.client.backoff = 0.0
    found = bundle.facts.search(QUESTION, top_k=3)
    with caplog.at_level(logging.WARNING):
        assert recognition(QUESTION, found) == found
    assert "keeping all 3 facts" in caplog.text and len(server.requests) == 2


def test_no_server_at_all_is_an_error_that_says_what_to_check(bundle):
    recognition = RecognitionFilter(f"http://127.0.0.1:{free_port()}/v1", "m", max_retries=0)
    with pytest.raises(LLMUnavailableError, match="is the server running"):
        recognition(QUESTION, bundle.facts.search(QUESTION, top_k=3))


@pytest.mark.slow
def test_recognition_on_real_llama_cpp_server(smollm2_server, bundle, tmp_path):
    recognition = RecognitionFilter(smollm2_server, "smollm2", cache_dir=tmp_path, max_tokens=256)
    found = bundle.facts.search(QUESTION, top_k=3)
    kept = recognition(QUESTION, found)
    assert set(kept) <= set(found)  # only facts that were shown, with their scores
    print("\nSmolLM2 kept:", kept)
    assert recognition(QUESTION, found) == kept


def test_cli_retrieve_filters_fact_seeds_through_the_endpoint(serve, bundle, tmp_path):
    from click.testing import CliRunner

    from kglink.cli import main

    bundle.save(tmp_path / "kg")
    server = serve(scripted(facts_reply(("Cy", "likes", "Dee"))))
    args = ["retrieve", "--graph", str(tmp_path / "kg"), QUESTION, "--seeds", "facts", "--top-k", "1"]
    out = CliRunner().invoke(main, args + ["--recognition-base-url", server.url, "--recognition-model", "m"])
    assert out.exit_code == 0, out.output
    seeds = [line.split()[0] for line in out.stdout.splitlines() if line.startswith("  ")]
    assert sorted(seeds) == ["cy", "dee"] and len(server.requests) == 1
    assert len(list((tmp_path / ".kg-recognition-cache").glob("*.json"))) == 1
    half = CliRunner().invoke(main, args + ["--recognition-model", "m"])
    assert half.exit_code != 0 and "--recognition-base-url" in half.output
