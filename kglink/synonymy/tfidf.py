"""Character-trigram TF-IDF: the string-similarity baseline for synonymy.

Each name is padded with one space on each side and cut into character trigrams;
vectors are ``tf * idf`` with smoothed ``idf = ln((1 + n) / (1 + df)) + 1`` (as
scikit-learn's ``TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3))``), L2-normalised.

>>> vec = TfidfTrigrams().fit(["heart attack", "heart failure", "stroke"])
>>> s = vec.similarity(["heart attack"], ["heart attack", "stroke"])
>>> [round(float(x), 3) for x in s[0]]
[1.0, 0.0]
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import sparse


def trigrams(name: str) -> Counter:
    """Counts of the character trigrams of ``" " + name + " "``, word by word (``char_wb``)."""
    grams: Counter = Counter()
    for word in name.split():
        padded = f" {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


class TfidfTrigrams:
    """Fit on a pool of names, then compare any names by cosine of their TF-IDF vectors."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.idf = np.zeros(0)

    def fit(self, names: Sequence[str]) -> TfidfTrigrams:
        df: Counter = Counter()
        for name in names:
            df.update(set(trigrams(name)))
        self.vocab = {g: i for i, g in enumerate(sorted(df))}
        n = len(names)
        self.idf = np.array([math.log((1 + n) / (1 + df[g])) + 1 for g in sorted(df)])
        return self

    def transform(self, names: Sequence[str]) -> sparse.csr_matrix:
        rows, cols, vals = [], [], []
        for r, name in enumerate(names):
            for gram, count in trigrams(name).items():
                if gram in self.vocab:
                    j = self.vocab[gram]
                    rows.append(r)
                    cols.append(j)
                    vals.append(count * self.idf[j])
        m = sparse.csr_matrix((vals, (rows, cols)), shape=(len(names), len(self.vocab)))
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        return sparse.diags(1 / np.maximum(norms, 1e-12)) @ m

    def similarity(self, queries: Sequence[str], docs: Sequence[str]) -> np.ndarray:
        """Dense ``[len(queries), len(docs)]`` cosine similarities."""
        return np.asarray((self.transform(queries) @ self.transform(docs).T).todense())
