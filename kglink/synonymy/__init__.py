"""Synonymy tooling for training and evaluation: gold synonym groups, aliases, scoring reports.

- :mod:`~kglink.synonymy.groups`: gold synonym sets from PubTator corpora, JSONL groups
  or pair files (:data:`Groups`);
- :mod:`~kglink.synonymy.aliases`: self-supervised alias groups from a graph's own names;
- :mod:`~kglink.synonymy.evaluate`: pairwise F1 and linking accuracy of a scorer;
- :mod:`~kglink.synonymy.tfidf`: the character-trigram TF-IDF baseline.

The linking and synonym edges of a graph themselves are :class:`kglink.index.EntityIndex`.
"""
