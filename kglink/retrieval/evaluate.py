"""Passage recall on MuSiQue-format questions: gold = paragraphs with ``is_supporting``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
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
    """``(id, question, gold passage ids)`` per question; gold matched by title and text."""
    records = read_json(path, "questions file")
    if not isinstance(records, list):
        raise InputError(f"{path}: expected a JSON list of MuSiQue questions")
    by_content = {
        (d["title"], d["text"]): d["id"] for _, d in graph.graph.nodes(data=True) if d["kind"] == "passage"
    }
    out = []
    for i, rec in enumerate(records):
        try:
            support = [p for p in rec["paragraphs"] if p["is_supporting"]]
            gold = tuple(by_content[(p["title"], p["paragraph_text"])] for p in support)
            out.append((str(rec.get("id", i)), rec["question"], gold))
        except KeyError as e:
            raise InputError(
                f"{path}: question #{i} lacks {e} or its gold passage is not in the graph"
            ) from None
    return out


def evaluate(
    questions: list[tuple[str, str, tuple[str, ...]]], retrieve: Callable[[str], list[str]]
) -> Iterator[QuestionResult]:
    """Run ``retrieve(question) -> ranked passage ids`` on each question, yielding results."""
    for qid, question, gold in questions:
        start = time.perf_counter()
        ranked = tuple(retrieve(question))
        seconds = time.perf_counter() - start
        yield QuestionResult(
            qid, question, gold, ranked[:5], recall(gold, ranked, 2), recall(gold, ranked, 5), seconds
        )


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
