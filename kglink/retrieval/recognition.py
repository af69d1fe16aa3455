"""HippoRAG 2's recognition memory: an LLM keeps only the retrieved facts that bear on the question.

The facts that best match a question by MaxSim (:meth:`kglink.index.facts.FactIndex.search`)
are shown to a chat model on any OpenAI-compatible endpoint, which answers with the ones
worth following, as ``{"fact": [[s, p, o], ...]}``. Only facts that were shown can come
back: each fact in the reply is matched to the closest one shown (difflib, as HippoRAG 2
does, so a model that rewrites a word still counts), and keeps its retrieval score.

Replies go through the extraction backend's client (:class:`kglink.chat.ChatClient`:
retries with backoff, clear errors) and parser (:func:`kglink.ie.replies.parse_triples`:
code fences, chatter and truncation tolerated). With a ``cache_dir``, each parsed reply
is saved under the sha256 of the prompt version, model, question and facts, so a
repeated question sends no request. A reply with no usable JSON keeps no fact and is
not cached (the next call asks again); a server that keeps failing keeps every fact,
with a logged warning, so the filter never loses retrieval; a server that is not there
at all raises :class:`~kglink.errors.LLMUnavailableError`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from kglink.artifacts import atomic_write_json, read_json
from kglink.chat import ChatClient
from kglink.corpus import Triple
from kglink.errors import InputError, LLMError, LLMUnavailableError
from kglink.ie.replies import load_value, parse_triples

logger = logging.getLogger(__name__)

PROMPT_VERSION = "kglink-recognition-1"  # part of the cache key: change it with the prompt
SYSTEM = (
    "You filter facts for a multi-hop question-answering system. Given a question and a list "
    "of candidate facts (subject, predicate, object) retrieved for it, keep the facts that help "
    "answer the question, directly or as a step towards the answer, and drop the rest. Copy the "
    'kept facts exactly as given, most useful first, and answer with JSON only: {"fact": [[...], ...]}. '
    'If no fact helps, answer {"fact": []}.'
)
EXAMPLE_QUESTION = "Which country is the birthplace of the director of Inception?"
EXAMPLE_FACTS = [
    ["Inception", "directed by", "Christopher Nolan"],
    ["Inception", "released in", "2010"],
    ["Christopher Nolan", "born in", "London"],
    ["Interstellar", "directed by", "Christopher Nolan"],
]
EXAMPLE_KEPT = [EXAMPLE_FACTS[0], EXAMPLE_FACTS[2]]


def recognition_messages(question: str, facts: Sequence[Triple]) -> list[dict[str, str]]:
    """The chat messages: instructions, one worked example, then the question and its facts."""

    def ask(q: str, shown) -> str:
        return f"Question: {q}\nFacts: {json.dumps({'fact': [list(f) for f in shown]}, ensure_ascii=False)}"

    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": ask(EXAMPLE_QUESTION, EXAMPLE_FACTS)},
        {"role": "assistant", "content": json.dumps({"fact": EXAMPLE_KEPT})},
        {"role": "user", "content": ask(question, facts)},
    ]


class RecognitionFilter:
    """Keep the facts an LLM recognises as relevant to the question (HippoRAG 2's filter).

    Parameters
    ----------
    base_url, model, api_key_env, timeout, max_retries
        Passed to :class:`kglink.chat.ChatClient`.
    cache_dir
        Folder for parsed replies; ``None`` caches nothing.
    max_tokens, json_mode
        Reply length limit; ask the server for a JSON object (turn off for servers that
        reject ``response_format``).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        cache_dir: str | os.PathLike | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        max_tokens: int = 512,
        json_mode: bool = True,
    ) -> None:
        if max_tokens < 1:
            raise InputError("max_tokens must be at least 1")
        self.client = ChatClient(
            base_url, model, api_key_env=api_key_env, timeout=timeout, max_retries=max_retries
        )
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.max_tokens, self.json_mode = int(max_tokens), json_mode

    def __repr__(self) -> str:
        return f"RecognitionFilter({self.client.base_url!r}, {self.client.model!r})"

    def __call__(self, question: str, facts: Sequence[tuple[Triple, float]]) -> list[tuple[Triple, float]]:
        """The ``(fact, score)`` pairs of ``facts`` the model keeps, in the model's order."""
        if not facts:
            return []
        shown = [tuple(f) for f, _ in facts]
        kept = self._kept(question, shown)
        if kept is None:
            return list(facts)
        score = {tuple(f): s for f, s in facts}
        return [(f, score[f]) for f in kept]

    def cache_key(self, question: str, facts: Sequence[Triple]) -> str:
        """sha256 of the prompt version, the model name, the question and the facts shown."""
        text = json.dumps([PROMPT_VERSION, self.client.model, question, [list(f) for f in facts]])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _kept(self, question: str, shown: list[Triple]) -> list[Triple] | None:
        """The shown facts the reply names (cached), or ``None`` when the server kept failing."""
        path = self.cache_dir / f"{self.cache_key(question, shown)}.json" if self.cache_dir else None
        if path is not None and path.is_file():
            cached = _read_cache(path)
            if cached is not None and all(0 <= i < len(shown) for i in cached):
                return [shown[i] for i in cached]
        try:
            reply = self.client.chat(
                recognition_messages(question, shown), max_tokens=self.max_tokens, json_mode=self.json_mode
            )
        except LLMUnavailableError:
            raise
        except LLMError as e:
            logger.warning("recognition filter failed, keeping all %d facts: %s", len(shown), e)
            return None
        indices = _match(parse_triples(reply, key="fact").items, shown)
        if load_value(reply) is None:
            logger.info("recognition reply held no JSON (starts %r); keeping no fact", reply[:80])
        elif path is not None:
            atomic_write_json(path, {"prompt_version": PROMPT_VERSION, "kept": indices, "reply": reply})
        return [shown[i] for i in indices]


def _match(replied: Sequence[Triple], shown: list[Triple]) -> list[int]:
    """Indices of the shown facts closest to each replied fact (difflib), each once, in reply order."""
    texts = [" ".join(f).lower() for f in shown]
    out: list[int] = []
    for fact in replied:
        close = difflib.get_close_matches(" ".join(fact).lower(), texts, n=1, cutoff=0.6)
        if close:
            i = texts.index(close[0])
            if i not in out:
                out.append(i)
    return out


def _read_cache(path: Path) -> list[int] | None:
    try:
        data = read_json(path, "recognition cache file")
        kept = data["kept"]
        if data.get("prompt_version") != PROMPT_VERSION or not all(isinstance(i, int) for i in kept):
            raise ValueError("not a recognition cache record")
        return kept
    except (InputError, KeyError, TypeError, ValueError, AttributeError) as e:
        logger.warning("ignoring unreadable cache file %s (%s); asking again", path, e)
        return None
