"""How close a dossier's needs are to an expert's references and skills, in words.

TF-IDF over French text: words are lower-cased, French stop words dropped, reduced to their
Snowball stem (so that "eau" and "eaux", "stratégie" and "strategie" meet), then stripped of their
accents. The cosine of the two vectors is the similarity; the terms that weigh most in it are the
words shown to the manager, each in the form it was first written.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
import snowballstemmer
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from stop_words import get_stop_words

_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)
# Words of every dossier or profile that carry nothing about the subject.
_DOMAIN_STOP_WORDS = frozenset(
    {"collectivite", "collectivites", "projet", "projets", "mission", "missions", "appui",
     "accompagnement", "action", "actions", "expert", "expertise", "cabinet", "commune", "ville"}
)


def fold(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


@cache
def _stop_words() -> frozenset[str]:
    return frozenset(fold(word) for word in get_stop_words("french")) | _DOMAIN_STOP_WORDS


@cache
def _stemmer():
    return snowballstemmer.stemmer("french")


@lru_cache(maxsize=200_000)
def _term(word: str) -> str:
    """The word's stem without accents (a few hundred distinct words make most texts)."""
    return fold(_stemmer().stemWord(word))


class Analyzer:
    """Text to terms, remembering the first written form of each term (to show it)."""

    def __init__(self) -> None:
        self.forms: dict[str, str] = {}

    def __call__(self, text: str) -> list[str]:
        stop_words, terms = _stop_words(), []
        for word in _WORD.findall(text.lower()):
            if fold(word) in stop_words:
                continue
            term = _term(word)
            if len(term) < 2:
                continue
            self.forms.setdefault(term, word)
            terms.append(term)
        return terms


@dataclass
class TextMatch:
    """The similarity of every dossier (rows) with every expert (columns), in [0, 1]."""

    similarity: np.ndarray
    needs: sparse.csr_matrix
    profiles: sparse.csr_matrix
    terms: np.ndarray
    forms: dict[str, str]

    def driving_words(self, need: int, profile: int, limit: int = 6) -> list[str]:
        """The words that weigh most in the similarity of this pair, heaviest first."""
        products = self.needs[need].multiply(self.profiles[profile]).tocsr()
        if products.nnz == 0:
            return []
        order = np.argsort(-products.data, kind="stable")[:limit]
        return [self.forms.get(self.terms[products.indices[i]], self.terms[products.indices[i]])
                for i in order]


def match_texts(needs: Sequence[str], profiles: Sequence[str]) -> TextMatch:
    """TF-IDF vectors fitted on both sides at once, and their cosine similarities."""
    analyzer = Analyzer()
    vectorizer = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, norm="l2", dtype=np.float64)
    documents = list(needs) + list(profiles)
    try:
        matrix = vectorizer.fit_transform(documents).tocsr()
        terms = vectorizer.get_feature_names_out()
    except ValueError:  # no word at all on either side
        matrix = sparse.csr_matrix((len(documents), 0))
        terms = np.array([], dtype=object)
    left, right = matrix[: len(needs)], matrix[len(needs):]
    similarity = np.clip((left @ right.T).toarray(), 0.0, 1.0) if len(terms) else np.zeros(
        (len(needs), len(profiles)))
    return TextMatch(similarity, left, right, terms, analyzer.forms)
