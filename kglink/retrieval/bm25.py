"""BM25 over a graph's passages: the lexical baseline graph retrieval must beat.

Passages are indexed as HippoRAG 2 indexes them (``title + "\\n" + text``) with the
``bm25s`` package: lowercased words of two or more characters, English stopwords dropped,
Snowball-stemmed (``PyStemmer``), Lucene's BM25 (``k1`` 1.5, ``b`` 0.75). This is the one
module that imports ``bm25s``; install it with ``pip install 'kglink[bm25]'``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from kglink.checks import check_count, check_text
from kglink.errors import InputError

logger = logging.getLogger(__name__)


class BM25Index:
    """Passages ``(id, content)`` searchable by BM25.

    Examples
    --------
    >>> index = BM25Index([("p1", "Paris is the capital of France"), ("p2", "Berlin lies in Germany")])
    >>> [pid for pid, _ in index.search("capital of France", top_k=1)]
    ['p1']
    """

    def __init__(self, passages: Sequence[tuple[str, str]], k1: float = 1.5, b: float = 0.75) -> None:
        bm25s, stemmer = _bm25s()
        if not passages:
            raise InputError("no passages to index for BM25")
        self.ids = [pid for pid, _ in passages]
        self._stemmer = stemmer
        tokens = bm25s.tokenize(
            [c for _, c in passages], stopwords="en", stemmer=stemmer, show_progress=False
        )
        self._bm25 = bm25s.BM25(k1=k1, b=b)
        self._bm25.index(tokens, show_progress=False)
        logger.info("BM25 index of %d passages", len(self.ids))

    def tokens(self, text: str) -> list[str]:
        """The terms BM25 sees in ``text`` (stemmed, stopwords dropped)."""
        bm25s, _ = _bm25s()
        kwargs = {"stopwords": "en", "stemmer": self._stemmer, "show_progress": False, "return_ids": False}
        return bm25s.tokenize([text], **kwargs)[0]

    def search(self, question: str, top_k: int = 5) -> list[tuple[str, float]]:
        """``(passage id, BM25 score)`` of the ``top_k`` best passages, best first."""
        check_text(question, "the question")
        top_k = min(check_count(top_k, "top_k"), len(self.ids))
        docs, scores = self._bm25.retrieve([self.tokens(question)], k=top_k, show_progress=False)
        order = np.lexsort((docs[0], -scores[0]))  # ties in index order, so results are stable
        return [(self.ids[docs[0][i]], float(scores[0][i])) for i in order]


def _bm25s():
    try:
        import bm25s
        import Stemmer
    except ImportError:
        raise InputError("BM25 needs the bm25s and PyStemmer packages: pip install 'kglink[bm25]'") from None
    return bm25s, Stemmer.Stemmer("english")
