"""Passage recall on MuSiQue-format questions: gold = paragraphs with ``is_supporting``.

A gold paragraph is found in the graph by its title and text. In a graph built with
chunking (``kglink build --corpus ... --chunk-tokens N``) a paragraph may be several
passages: it is then the document whose chunks, placed by their ``start``/``end``
offsets, are exactly its text, and it counts as retrieved when any of its chunks is
(:func:`passage_keys` maps each passage to its document).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from kglink.artifacts import read_json
from kglink.errors import InputError
from kglink.graph import KnowledgeGraph


@dataclass(frozen=True)
class QuestionResult:
    """Retrieval outcome for one question."""

    id: str
    question: str
    gold: tuple[str, ...]
    retrieved: tuple[str, ...]
    recall_at_2: float
    recall_at_5: float
    seconds: float


def load_questions(path: str, graph: KnowledgeGraph) -> list[tuple[str, str, tuple[str, ...]]]:
    """``(id, question, gold keys)`` per question (see :func:`passage_keys`)."""
    records = read_json(path, "questions file")
    if not isinstance(records, list):
        raise InputError(f"{path}: expected a JSON list of MuSiQue questions")
    whole, chunked = _documents(graph)
    out = []
    for i, rec in enumerate(records):
        try:
            support = [p for p in rec["paragraphs"] if p["is_supporting"]]
            gold = tuple(_gold_key(p["title"], p["paragraph_text"], whole, chunked) for p in support)
            out.append((str(rec.get("id", i)), rec["question"], gold))
        except (KeyError, TypeError) as e:
            raise InputError(
                f"{path}: question #{i} lacks {e} or its gold passage is not in the graph"
            ) from None
    return out


def passage_keys(graph: KnowledgeGraph) -> dict[str, str]:
    """Passage id -> what recall counts: ``doc:<source>`` for a passage cut from a document, else its id."""
    return {d["id"]: _key(d) for _, d in graph.graph.nodes(data=True) if d["kind"] == "passage"}


def _key(node: dict) -> str:
    return f"doc:{node['source']}" if node.get("source") else node["id"]


def _documents(graph: KnowledgeGraph) -> tuple[dict, dict]:
    """Whole passages by ``(title, text)``; chunked documents by title: ``[(source, chunks)]``."""
    whole: dict[tuple[str, str], str] = {}
    pieces: dict[tuple[str, str], list[tuple[int, int, str]]] = {}
    for _, d in graph.graph.nodes(data=True):
        if d["kind"] != "passage":
            continue
        whole.setdefault((d["title"], d["text"]), _key(d))
        if d.get("source") and d.get("start", -1) >= 0:
            pieces.setdefault((d["title"], d["source"]), []).append((d["start"], d["end"], d["text"]))
    chunked: dict[str, list[tuple[str, list]]] = {}
    for (title, source), chunks in pieces.items():
        chunked.setdefault(title, []).append((source, chunks))
    return whole, chunked


def _gold_key(title: str, text: str, whole: dict, chunked: dict) -> str:
    """The gold paragraph's passage id, or the chunked document whose chunks are its text."""
    for source, chunks in chunked.get(title, []):
        if len(chunks) > 1 and all(text[a:b] == piece for a, b, piece in chunks):
            return f"doc:{source}"
    return whole[(title, text)]


def evaluate(
    questions: list[tuple[str, str, tuple[str, ...]]],
    retrieve: Callable[[str], list[str]],
    keys: dict[str, str] | None = None,
) -> Iterator[QuestionResult]:
    """Run ``retrieve(question) -> ranked passage ids`` on each question, yielding results.

    ``keys`` (:func:`passage_keys`) maps passages to what :func:`load_questions` gave as
    gold, so a chunked document is retrieved at the rank of its first chunk.
    """
    for qid, question, gold in questions:
        start = time.perf_counter()
        ranked = tuple(retrieve(question))
        seconds = time.perf_counter() - start
        ranked = ranked_keys(ranked, keys)
        yield QuestionResult(
            qid, question, gold, ranked[:5], recall(gold, ranked, 2), recall(gold, ranked, 5), seconds
        )


def ranked_keys(ranked: Sequence[str], keys: dict[str, str] | None) -> tuple[str, ...]:
    """``ranked`` passage ids as what recall counts (:func:`passage_keys`), each at its first rank.

    >>> ranked_keys(["p1", "p2", "p3"], {"p1": "doc:a", "p2": "doc:a"})
    ('doc:a', 'p3')
    """
    if keys is None:
        return tuple(ranked)
    return tuple(dict.fromkeys(keys.get(pid, pid) for pid in ranked))


def recall_curve(runs: Iterable[tuple[Sequence[str], Sequence[str]]], depth: int = 20) -> list[float]:
    """Mean recall@k over ``(gold, ranked)`` pairs, for k = 1 .. ``depth``.

    >>> recall_curve([(["a", "b"], ["a", "c", "b"]), (["d"], ["c", "d"])], depth=3)
    [0.25, 0.75, 1.0]
    """
    runs = list(runs)
    n = max(len(runs), 1)
    return [sum(recall(gold, ranked, k) for gold, ranked in runs) / n for k in range(1, depth + 1)]


def recall(gold: Sequence[str], ranked: Sequence[str], k: int) -> float:
    """Fraction of ``gold`` within the first ``k`` of ``ranked``.

    >>> recall(["a", "b"], ["a", "c", "b"], 2)
    0.5
    """
    return len(set(gold) & set(ranked[:k])) / max(len(gold), 1)


def summarize(results: list[QuestionResult]) -> dict[str, float]:
    """Mean recall@2 / recall@5 and latency over the questions."""
    n = max(len(results), 1)
    times = sorted(r.seconds for r in results)
    return {
        "questions": len(results),
        "recall@2": sum(r.recall_at_2 for r in results) / n,
        "recall@5": sum(r.recall_at_5 for r in results) / n,
        "latency_ms_median": 1000 * times[len(times) // 2] if times else 0.0,
        "latency_ms_p95": 1000 * times[min(len(times) - 1, int(0.95 * len(times)))] if times else 0.0,
    }
