"""The ``llm`` extraction backend: HippoRAG's NER-then-OpenIE prompts on an OpenAI-compatible server.

For each passage, step 1 asks for ``{"named_entities": [...]}``, step 2 asks for
``{"triples": [[s, p, o], ...]}`` given those entities (see :mod:`kglink.ie.prompts`).
Replies are parsed leniently (:mod:`kglink.ie.replies`). Requests run concurrently, all
NER requests first and then all triple requests, so that a server which caches the
prompt prefix (llama.cpp, vLLM) reuses the long one-shot example.

With a ``cache_dir``, each passage's result is saved as ``<sha256>.json``, keyed by the
passage content, the model name and :data:`~kglink.ie.prompts.PROMPT_VERSION`, so a
re-run (or a run resumed after a crash) sends no request for passages already done.

Failures: a passage whose requests keep failing (timeouts, server errors) is skipped
with a logged warning and gets an empty :class:`~kglink.ie.Extraction`; it is not cached,
so the next run tries it again. If nothing answers at ``base_url`` at all, or every
passage fails, :meth:`LLMExtractor.extract` raises :class:`~kglink.errors.LLMError`, so
the caller writes no output file.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from kglink.artifacts import atomic_write_json, read_json
from kglink.chat import ChatClient
from kglink.corpus import Passage
from kglink.errors import InputError, LLMError, LLMUnavailableError
from kglink.ie import Extraction
from kglink.ie.prompts import PROMPT_VERSION, ner_messages, triple_messages
from kglink.ie.replies import Parsed, parse_entities, parse_triples

logger = logging.getLogger(__name__)

CACHE_FORMAT = 1


@dataclass(frozen=True)
class _Result:
    """One passage's extraction and how its replies parsed."""

    extraction: Extraction
    ner: Parsed
    triples: Parsed


class LLMExtractor:
    """Entities and triples from an OpenAI-compatible chat model, HippoRAG style.

    Parameters
    ----------
    base_url, model, api_key_env, timeout, max_retries
        Passed to :class:`kglink.chat.ChatClient`.
    cache_dir
        Folder for per-passage results; ``None`` caches nothing.
    concurrency
        Passages in flight at once.
    show_progress
        Show a progress bar.
    max_tokens
        Reply length limit of each request.
    json_mode
        Ask the server for a JSON object reply (``response_format``); turn off for
        servers that reject it.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        cache_dir: str | os.PathLike | None = None,
        concurrency: int = 4,
        show_progress: bool = True,
        timeout: float = 60.0,
        max_retries: int = 3,
        max_tokens: int = 1024,
        json_mode: bool = True,
    ) -> None:
        if concurrency < 1 or max_tokens < 1:
            raise InputError("concurrency and max_tokens must be at least 1")
        self.name = f"llm:{model}"  # extractions of another model are not reused
        self.client = ChatClient(
            base_url, model, api_key_env=api_key_env, timeout=timeout, max_retries=max_retries
        )
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.concurrency = int(concurrency)
        self.show_progress = show_progress
        self.max_tokens = int(max_tokens)
        self.json_mode = json_mode

    def __repr__(self) -> str:
        return f"LLMExtractor({self.client.base_url!r}, {self.client.model!r})"

    def cache_key(self, passage: Passage) -> str:
        """sha256 of the prompt version, the model name and the passage content."""
        text = f"{PROMPT_VERSION}\n{self.client.model}\n{passage.content}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def extract(self, passages: Sequence[Passage]) -> list[Extraction]:
        """One :class:`~kglink.ie.Extraction` per passage, in order.

        Raises
        ------
        LLMUnavailableError
            Nothing answers at the base URL.
        LLMError
            Every passage failed (none came from the cache).
        """
        found: dict[str, Extraction] = {}
        todo: dict[str, Passage] = {}
        for passage in passages:
            key = self.cache_key(passage)
            if key not in found and key not in todo:
                cached = self._read_cache(key)
                if cached is None:
                    todo[key] = passage
                else:
                    found[key] = cached
        logger.info(
            "llm extraction: %d passages, %d cached, %d to extract", len(passages), len(found), len(todo)
        )
        found.update(self._run(todo, len(found) + len(todo)))
        return [found[self.cache_key(p)] for p in passages]

    def _run(self, todo: dict[str, Passage], n_distinct: int) -> dict[str, Extraction]:
        """Extract the ``todo`` passages: all NER requests, then all triple requests.

        Keeping each step together lets servers reuse the cached one-shot prompt prefix.
        Skipped passages get an empty extraction. Raises :class:`LLMError` when all
        ``n_distinct`` passages of the call failed.
        """
        if not todo:
            return {}
        ner_calls = {k: partial(self._ask, ner_messages(p.content)) for k, p in todo.items()}
        ner_replies = self._map("llm NER", ner_calls)
        triple_calls = {
            k: partial(self._finish, k, todo[k], reply)
            for k, reply in ner_replies.items()
            if isinstance(reply, str)
        }
        finished = self._map("llm triples", triple_calls)
        done: dict[str, Extraction] = {}
        results: list[_Result] = []
        failures: list[tuple[str, LLMError]] = []
        for key, passage in todo.items():
            outcome = finished.get(key, ner_replies[key])
            if isinstance(outcome, LLMError):
                failures.append((passage.id, outcome))
                logger.warning("skipping passage %s: %s", passage.id, outcome)
                done[key] = Extraction((), ())
            else:
                results.append(outcome)
                done[key] = outcome.extraction
        _log_summary(results, failures)
        if len(failures) == len(todo) == n_distinct:
            raise LLMError(
                f"all {len(todo)} passages failed, so nothing was extracted; last error: {failures[-1][1]}"
            )
        return done

    def _map(self, desc: str, calls: dict[str, Callable[[], Any]]) -> dict[str, Any]:
        """Run ``calls`` concurrently; each key maps to its result or its :class:`LLMError`.

        :class:`LLMUnavailableError` is raised at once, cancelling the calls not started.
        """
        out: dict[str, Any] = {}
        if not calls:
            return out
        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, len(calls)))
        try:
            futures = {pool.submit(call): key for key, call in calls.items()}
            with tqdm(total=len(calls), desc=desc, unit="passage", disable=not self.show_progress) as bar:
                for future in as_completed(futures):
                    try:
                        out[futures[future]] = future.result()
                    except LLMUnavailableError:
                        raise
                    except LLMError as e:
                        out[futures[future]] = e
                    bar.update()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return out

    def _ask(self, messages: list[dict[str, str]]) -> str:
        return self.client.chat(messages, max_tokens=self.max_tokens, json_mode=self.json_mode)

    def _finish(self, key: str, passage: Passage, ner_reply: str) -> _Result:
        """Parse the NER reply, ask for the triples, parse them and cache the result."""
        ner = parse_entities(ner_reply)
        re_reply = self._ask(triple_messages(passage.content, ner.items))
        triples = parse_triples(re_reply)
        for step, parsed, reply in (("NER", ner, ner_reply), ("triple", triples, re_reply)):
            if parsed.salvaged or parsed.dropped:
                logger.info(
                    "passage %s: %s reply %s; kept %d items, dropped %d malformed (reply starts %r)",
                    passage.id,
                    step,
                    "did not parse whole, salvaged" if parsed.salvaged else "parsed",
                    len(parsed.items),
                    parsed.dropped,
                    reply[:80],
                )
        extraction = Extraction(ner.items, triples.items)
        self._write_cache(key, passage, extraction, {"ner": ner_reply, "triples": re_reply})
        return _Result(extraction, ner, triples)

    def _cache_path(self, key: str) -> Path | None:
        return self.cache_dir / f"{key}.json" if self.cache_dir is not None else None

    def _read_cache(self, key: str) -> Extraction | None:
        path = self._cache_path(key)
        if path is None or not path.is_file():
            return None
        try:
            data = read_json(path, "llm cache file")
            if data.get("format_version") != CACHE_FORMAT:
                return None
            triples = tuple(tuple(t) for t in data["triples"])
            if not all(len(t) == 3 and all(isinstance(x, str) for x in t) for t in triples):
                raise ValueError("a triple is not three strings")
            return Extraction(tuple(str(e) for e in data["entities"]), triples)
        except (InputError, AttributeError, KeyError, TypeError, ValueError) as e:
            logger.warning("ignoring unreadable cache file %s (%s); extracting that passage again", path, e)
            return None

    def _write_cache(self, key: str, passage: Passage, extraction: Extraction, replies: dict) -> None:
        path = self._cache_path(key)
        if path is None:
            return
        record = {
            "format_version": CACHE_FORMAT,
            "model": self.client.model,
            "prompt_version": PROMPT_VERSION,
            "passage_id": passage.id,
            "entities": list(extraction.entities),
            "triples": [list(t) for t in extraction.triples],
            "replies": replies,
        }
        atomic_write_json(path, record)


def _log_summary(results: list[_Result], failures: list[tuple[str, LLMError]]) -> None:
    entities = sum(len(r.extraction.entities) for r in results)
    triples = sum(len(r.extraction.triples) for r in results)
    dropped = sum(r.ner.dropped + r.triples.dropped for r in results)
    salvaged = sum(r.ner.salvaged + r.triples.salvaged for r in results)
    logger.info(
        "llm extraction: %d passages extracted, %d skipped; %d entities, %d triples; "
        "%d malformed items dropped, %d replies salvaged",
        len(results),
        len(failures),
        entities,
        triples,
        dropped,
        salvaged,
    )
    if failures:
        logger.warning(
            "llm extraction skipped %d passages (%s); run again to retry them",
            len(failures),
            ", ".join(pid for pid, _ in failures[:5]) + (" ..." if len(failures) > 5 else ""),
        )
