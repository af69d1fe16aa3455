"""Tests of the OpenAI-compatible chat client and the ``llm`` extraction backend.

The fast tests talk to a real HTTP server from the standard library, running in a thread
and answering with canned OpenAI-format replies (well-formed, fenced, malformed,
truncated, failing, slow). The slow test starts llama-cpp-python's server on SmolLM2.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

import pytest
from llm_servers import MUSIQUE_LIKE, completion, free_port, scripted

from kglink.chat import ChatClient
from kglink.corpus import Passage, load_openie
from kglink.errors import InputError, LLMError, LLMUnavailableError
from kglink.ie import write_openie
from kglink.ie.llm import LLMExtractor
from kglink.ie.prompts import PROMPT_VERSION
from kglink.ie.replies import parse_entities, parse_triples

MSG = [{"role": "user", "content": "hi"}]
PASSAGES = [
    Passage("p1", "Paris", "Paris is the capital of France."),
    Passage("p2", "Ann", "Ann met Bob in Rome."),
    Passage("p3", "", "The Nile flows through Egypt."),
]
FACTS = {
    "Paris": (["Paris", "France"], [["Paris", "capital of", "France"]]),
    "Ann met": (["Ann", "Bob", "Rome"], [["Ann", "met", "Bob"], ["Ann", "was in", "Rome"]]),
    "The Nile": (["Nile", "Egypt"], [["Nile", "flows through", "Egypt"]]),
}


def facts_responder(wrap: Callable[[str], str] = lambda s: s, fail_on: str | None = None):
    """Answers NER and triple prompts from FACTS; ``fail_on`` passages get HTTP 500."""

    def respond(body):
        prompt = body["messages"][-1]["content"]
        key = next(k for k in FACTS if k in prompt)
        if fail_on and fail_on in prompt:
            return 500, {"error": "boom"}, 0.0
        entities, triples = FACTS[key]
        if prompt.startswith("Convert the paragraph"):
            return 200, completion(wrap(json.dumps({"triples": triples}))), 0.0
        return 200, completion(wrap(json.dumps({"named_entities": entities}))), 0.0

    return respond


# ---- the chat client -------------------------------------------------------------------


def test_chat_sends_openai_request_and_returns_text(serve, monkeypatch):
    server = serve(scripted((200, completion("hello there"), 0.0)))
    monkeypatch.setenv("KGLINK_TEST_KEY", "sk-123")
    client = ChatClient(server.url, "tiny", api_key_env="KGLINK_TEST_KEY")
    assert client.chat(MSG, max_tokens=7, json_mode=True) == "hello there"
    body = server.requests[0]
    assert body["model"] == "tiny" and body["messages"] == MSG and body["max_tokens"] == 7
    assert body["temperature"] == 0.0 and body["response_format"] == {"type": "json_object"}
    assert server.headers[0]["Authorization"] == "Bearer sk-123"
    monkeypatch.delenv("KGLINK_TEST_KEY")
    client.chat(MSG)
    assert "Authorization" not in server.headers[1] and "response_format" not in server.requests[1]


def test_chat_retries_500_then_succeeds(serve):
    server = serve(scripted((500, {"error": "busy"}, 0.0), (503, b"down", 0.0), (200, completion("ok"), 0.0)))
    client = ChatClient(server.url, "m", max_retries=3, backoff=0.01)
    assert client.chat(MSG) == "ok"
    assert len(server.requests) == 3


def test_chat_honours_retry_after_on_429(serve):
    server = serve(scripted((429, {"error": "slow down"}, 0.0), (200, completion("ok"), 0.0)))
    client = ChatClient(server.url, "m", max_retries=1, backoff=0.0)
    assert client.chat(MSG) == "ok" and len(server.requests) == 2


def test_chat_gives_up_after_max_retries(serve):
    server = serve(scripted((500, {"error": "model crashed"}, 0.0)))
    client = ChatClient(server.url, "m", max_retries=2, backoff=0.01)
    with pytest.raises(LLMError, match=r"HTTP 500.*model crashed.*after 3 attempts"):
        client.chat(MSG)
    assert len(server.requests) == 3


def test_chat_times_out_with_clear_error(serve):
    server = serve(scripted((200, completion("late"), 1.0)))
    client = ChatClient(server.url, "m", timeout=0.2, max_retries=1, backoff=0.0)
    start = time.perf_counter()
    with pytest.raises(LLMError, match=r"no reply .* within 0\.2 s.*raise the timeout") as info:
        client.chat(MSG)
    assert not isinstance(info.value, LLMUnavailableError)
    assert len(server.requests) == 2 and time.perf_counter() - start < 0.9


def test_chat_server_down_says_what_to_check():
    url = f"http://127.0.0.1:{free_port()}/v1"
    client = ChatClient(url, "m", max_retries=1, backoff=0.0)
    with pytest.raises(LLMUnavailableError, match=rf"is the server running at {url}\?"):
        client.chat(MSG)


@pytest.mark.parametrize(
    "status, payload, message",
    [
        (404, {"error": "not found"}, r"HTTP 404.*ends in /v1"),
        (401, {"error": "bad key"}, r"HTTP 401.*API key in \$OPENAI_API_KEY"),
        (400, {"error": "bad request"}, r"HTTP 400.*refused"),
        (200, b"<html>hello</html>", r"not JSON.*OpenAI-compatible"),
        (200, {"id": "x"}, r"without choices\[0\]\.message\.content"),
    ],
)
def test_chat_does_not_retry_client_errors(serve, status, payload, message):
    server = serve(scripted((status, payload, 0.0)))
    with pytest.raises(LLMError, match=message):
        ChatClient(server.url, "m", max_retries=3, backoff=0.01).chat(MSG)
    assert len(server.requests) == 1


def test_chat_400_in_json_mode_suggests_turning_it_off(serve):
    server = serve(scripted((400, {"error": "response_format not supported"}, 0.0)))
    with pytest.raises(LLMError, match=r"HTTP 400.*not supported.*json_mode=False"):
        ChatClient(server.url, "m").chat(MSG, json_mode=True)


def test_chat_client_checks_arguments():
    with pytest.raises(InputError, match="http://"):
        ChatClient("localhost:8080/v1", "m")
    with pytest.raises(InputError, match="model"):
        ChatClient("http://localhost:8080/v1", "")


# ---- parsing replies -------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        '{"named_entities": ["Radio City", "India"]}',
        'Here you go:\n```json\n{"named_entities": ["Radio City", "India"]}\n```\nAnything else?',
        "{'named_entities': ['Radio City', 'India', 'India', '  ']}",
        '["Radio City", "India"]',
        '{"named_entities": ["Radio City", "India", "Hin',  # truncated
        '{"entities": ["Radio City", "India"]}',
    ],
)
def test_parse_entities_variants(reply):
    assert parse_entities(reply).items == ("Radio City", "India")


def test_parse_entities_counts_dropped_and_handles_garbage():
    parsed = parse_entities('{"named_entities": ["A", null, {"x": 1}, 3, true]}')
    assert parsed.items == ("A", "3") and parsed.dropped == 3 and not parsed.salvaged
    assert parse_entities("I cannot help with that.").items == ()
    assert parse_entities("").items == ()


def test_parse_triples_salvages_and_drops():
    good = [["Radio City", "located in", "India"], ["Radio City", "is", "private FM radio station"]]
    reply = json.dumps({"triples": [*good, ["only", "two"], ["a", "", "c"], ["a", "b", ["c"]], "x", good[0]]})
    parsed = parse_triples(reply)
    assert parsed.items == tuple(map(tuple, good)) and parsed.dropped == 4 and not parsed.salvaged
    truncated = json.dumps({"triples": good})[:-12]
    parsed = parse_triples("```json\n" + truncated)
    assert parsed.items == (tuple(good[0]),) and parsed.salvaged
    single = "Triples: {'triples': [['India\\'s radio', 'is', 'Radio City']],}"
    assert parse_triples(single).items == (("India's radio", "is", "Radio City"),)
    assert parse_triples('{"named_entities": ["a", "b", "c"]}').items == ()
    assert parse_triples("no json here").items == ()


# ---- the extractor ---------------------------------------------------------------------


def expected(passage: Passage):
    entities, triples = next(v for k, v in FACTS.items() if k in passage.text)
    return tuple(entities), tuple(map(tuple, triples))


@pytest.mark.parametrize(
    "wrap",
    [
        lambda s: s,
        lambda s: f"Sure! Here is the JSON:\n```json\n{s}\n```\nLet me know if you need more.",
        lambda s: s.replace('"', "'"),
    ],
    ids=["plain", "fenced", "single-quotes"],
)
def test_extractor_writes_openie_that_loads(serve, tmp_path, wrap):
    server = serve(facts_responder(wrap))
    extractor = LLMExtractor(server.url, "tiny", show_progress=False, concurrency=2)
    extractions = extractor.extract(PASSAGES)
    for passage, found in zip(PASSAGES, extractions):
        assert (found.entities, found.triples) == expected(passage)
    assert len(server.requests) == 6
    prompts = [r["messages"][-1]["content"] for r in server.requests]
    paris = [p for p in prompts if p.startswith("Convert the paragraph") and "Paris is" in p]
    assert len(paris) == 1 and '{"named_entities": ["Paris", "France"]}' in paris[0]
    out = tmp_path / "openie.json"
    write_openie(out, PASSAGES, extractions, extractor.name)
    data = load_openie(out)
    assert data.layout == "v1" and data.malformed_triples == 0
    assert [d.passage.content for d in data.docs] == [p.content for p in PASSAGES]
    assert data.docs[1].triples == (("Ann", "met", "Bob"), ("Ann", "was in", "Rome"))
    assert json.loads(out.read_text())["extractor"].startswith("llm:")


def test_extractor_cache_makes_rerun_free(serve, tmp_path):
    server = serve(facts_responder())
    cache = tmp_path / "cache"
    first = LLMExtractor(server.url, "tiny", cache_dir=cache, show_progress=False).extract(PASSAGES)
    assert len(server.requests) == 6
    files = sorted(cache.glob("*.json"))
    assert len(files) == 3 and all(len(f.stem) == 64 for f in files)
    record = json.loads(files[0].read_text())
    assert (
        record["model"] == "tiny"
        and record["prompt_version"] == PROMPT_VERSION
        and "ner" in record["replies"]
    )
    again = LLMExtractor(server.url, "tiny", cache_dir=cache, show_progress=False).extract(
        PASSAGES + PASSAGES[:1]
    )
    assert len(server.requests) == 6 and again == first + first[:1]
    LLMExtractor(server.url, "other-model", cache_dir=cache, show_progress=False).extract(PASSAGES[:1])
    assert len(server.requests) == 8  # another model is another cache key


def test_extractor_ignores_a_corrupt_cache_file(serve, tmp_path, caplog):
    server = serve(facts_responder())
    extractor = LLMExtractor(server.url, "tiny", cache_dir=tmp_path, show_progress=False)
    (tmp_path / f"{extractor.cache_key(PASSAGES[0])}.json").write_text('{"format_version": 1, "entit')
    with caplog.at_level(logging.WARNING, logger="kglink"):
        found = extractor.extract(PASSAGES[:1])
    assert "ignoring unreadable cache file" in caplog.text and len(server.requests) == 2
    assert (found[0].entities, found[0].triples) == expected(PASSAGES[0])
    assert json.loads((tmp_path / f"{extractor.cache_key(PASSAGES[0])}.json").read_text())["entities"]


def test_extractor_skips_a_failing_passage_with_a_warning(serve, tmp_path, caplog):
    server = serve(facts_responder(fail_on="Ann met"))
    extractor = LLMExtractor(server.url, "tiny", cache_dir=tmp_path, show_progress=False, max_retries=1)
    extractor.client.backoff = 0.0
    with caplog.at_level(logging.WARNING, logger="kglink"):
        found = extractor.extract(PASSAGES)
    assert found[1].entities == () and found[1].triples == ()
    assert (found[0].triples, found[2].triples) == (expected(PASSAGES[0])[1], expected(PASSAGES[2])[1])
    assert "skipping passage p2" in caplog.text and "HTTP 500" in caplog.text
    assert len(list(tmp_path.glob("*.json"))) == 2  # the skipped passage is not cached
    before = len(server.requests)
    extractor.extract(PASSAGES)
    assert len(server.requests) - before == 2  # only p2 is tried again (one request, one retry)


def test_extractor_salvages_malformed_and_truncated_replies(serve):
    def respond(body):
        if body["messages"][-1]["content"].startswith("Convert the paragraph"):
            return (
                200,
                completion('{"triples": [["A", "likes", "B"], ["A", "B"], ["B", "knows", "C"], ["C", "kno'),
                0,
            )
        return 200, completion("Entities: ['A', 'B', 'C'] hope that helps"), 0.0

    found = LLMExtractor(serve(respond).url, "m", show_progress=False).extract(PASSAGES[:1])
    assert found[0].entities == ("A", "B", "C")
    assert found[0].triples == (("A", "likes", "B"), ("B", "knows", "C"))


def test_extractor_raises_when_server_is_down_and_writes_nothing(tmp_path):
    out = tmp_path / "openie.json"
    out.write_text('{"docs": []}')
    extractor = LLMExtractor(f"http://127.0.0.1:{free_port()}/v1", "m", show_progress=False, max_retries=1)
    extractor.client.backoff = 0.0
    with pytest.raises(LLMUnavailableError, match="is the server running"):
        write_openie(out, PASSAGES, extractor.extract(PASSAGES), extractor.name)
    assert out.read_text() == '{"docs": []}'  # the old output is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["openie.json"]


def test_extractor_raises_when_every_passage_times_out(serve):
    server = serve(scripted((200, completion("{}"), 1.0)))
    extractor = LLMExtractor(server.url, "m", show_progress=False, timeout=0.2, max_retries=0)
    with pytest.raises(LLMError, match=r"all 3 passages failed.*within 0\.2 s"):
        extractor.extract(PASSAGES)


def test_extractor_checks_arguments():
    with pytest.raises(InputError, match="concurrency"):
        LLMExtractor("http://127.0.0.1:1/v1", "m", concurrency=0)


# ---- a real server: llama-cpp-python on SmolLM2-135M-Instruct ----------------------------


@pytest.mark.slow
def test_llm_extractor_on_real_llama_cpp_server(smollm2_server, tmp_path):
    cache = tmp_path / "cache"
    extractor = LLMExtractor(
        smollm2_server, "smollm2", cache_dir=cache, concurrency=2, show_progress=False, max_tokens=512
    )
    start = time.perf_counter()
    extractions = extractor.extract(MUSIQUE_LIKE)
    seconds = time.perf_counter() - start
    out = tmp_path / "openie.json"
    write_openie(out, MUSIQUE_LIKE, extractions, extractor.name)
    data = load_openie(out)
    assert [d.passage.content for d in data.docs] == [p.content for p in MUSIQUE_LIKE]
    assert len(data.docs) == len(MUSIQUE_LIKE) and data.malformed_triples == 0
    assert sum(len(e.entities) for e in extractions) > 0, "SmolLM2 found no entity at all"
    assert len(list(cache.glob("*.json"))) == len(MUSIQUE_LIKE)
    print(f"\nSmolLM2 extraction of {len(MUSIQUE_LIKE)} passages took {seconds:.1f} s")
    for passage, found in zip(MUSIQUE_LIKE, extractions):
        print(passage.title, "|", list(found.entities), "|", [list(t) for t in found.triples])
    start = time.perf_counter()
    assert extractor.extract(MUSIQUE_LIKE) == extractions  # from the cache
    assert time.perf_counter() - start < 1.0


@pytest.mark.slow
def test_real_server_truncated_replies_and_timeouts(smollm2_server, tmp_path):
    # replies cut at 16 tokens are unfinished JSON: complete items are kept, the file stays valid
    extractor = LLMExtractor(smollm2_server, "smollm2", show_progress=False, max_tokens=16, json_mode=False)
    extractions = extractor.extract(MUSIQUE_LIKE[:2])
    out = tmp_path / "openie.json"
    write_openie(out, MUSIQUE_LIKE[:2], extractions, extractor.name)
    assert len(load_openie(out).docs) == 2
    print("\ntruncated at 16 tokens:", [(e.entities, e.triples) for e in extractions])
    # a reply that cannot come within the timeout is a clear error after the retries
    client = ChatClient(smollm2_server, "smollm2", timeout=0.05, max_retries=1, backoff=0.0)
    with pytest.raises(LLMError, match=r"no reply .* within 0\.05 s.*raise the timeout"):
        client.chat([{"role": "user", "content": "Write a long story about Florida."}], max_tokens=64)
