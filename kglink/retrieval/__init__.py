"""Passage retrieval over a graph: question mentions, Personalized PageRank, evaluation.

- :mod:`~kglink.retrieval.mentions`: the question's candidate entity spans
  (:class:`NgramMentions`);
- :mod:`~kglink.retrieval.retriever`: :class:`GraphRetriever`, seeds linked, PPR walked,
  passages ranked (with the dense index as fallback);
- :mod:`~kglink.retrieval.evaluate`: passage recall on MuSiQue-format questions.
"""

from kglink.results import PassageHit, Seed
from kglink.retrieval.mentions import Mention, NgramMentions
from kglink.retrieval.retriever import SCORINGS, GraphRetriever

__all__ = ["SCORINGS", "GraphRetriever", "Mention", "NgramMentions", "PassageHit", "Seed"]
