"""Near-duplicate clustering of feedback into themes, incremental and near-linear.

Choice: single-pass "leader" clustering on IDF-weighted term sets, with an inverted index
from terms to themes as the blocking step.

- A post becomes the set of its content words (stop words dropped, Snowball-stemmed). Each
  word weighs its inverse document frequency, so "checkout" counts and "please" does not.
- A theme keeps, per word, how many members contain it (its centroid). A post is compared
  only with the themes listed under its own words in the inverted index, and each word's
  list is capped (MAX_POSTING), so the work per post is bounded by a constant however many
  posts came before: the whole run is linear in the number of posts, never all-pairs.
- Similarity is the IDF-weighted share of the post's words that are typical of the theme
  (sum of weight x fraction of members containing the word, over the post's total weight).
  At THRESHOLD or above the post joins the best theme; otherwise it starts a new one.
- Themes grow as feedback arrives (`assign` one post at a time); nothing is recomputed.
  Because a theme's centroid drifts as it grows, two themes can end up alike: `similar_themes`
  finds them (cosine of their centroids, again through the index) so a merge is suggested
  to a person, who confirms or undoes it (feedback/theme_store.py).

Why not the alternatives: MinHash LSH (datasketch) shines on long documents and exact
Jaccard near-duplicates, but forum posts are short and reworded ("checkout times out" vs
"payment page keeps timing out"), where shingle overlap is small; all-pairs rapidfuzz or
TF-IDF cosine is quadratic; scikit-learn's batch clusterers are not incremental.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import snowballstemmer

THRESHOLD = 0.55
MERGE_THRESHOLD = 0.6
MAX_POSTING = 48  # themes listed per word; beyond that a word is too common to block on
INDEX_SHARE = 0.25  # a word lists a theme once this share of its members contain it
MAX_TERMS_PER_THEME = 300  # centroids are pruned back to PRUNED_TERMS beyond this
PRUNED_TERMS = 150
TOP_TERMS = 8

_STOP_WORDS_TEXT = """a about above after again against all also am an and any app are aren as at be
    because been before being below between both but by can cannot could couldn did didn
    do does doesn doing don down during each even ever every few for from further get gets
    getting got had hadn has hasn have haven having he her here hers herself him himself his
    how however i if in into is isn it its itself just let like ll me more most much must my
    myself need no nor not now of off on once one only or other our ours ourselves out over
    own please re really same shan she should shouldn so some still such than thank thanks
    that the their theirs them themselves then there these they this those through to too
    under until up us use used using ve very via want was wasn we were weren what when where
    which while who whom why will with won would wouldn yes yet you your yours yourself
    yourselves hi hello hey guys team anyone someone something thing things way lot since
    today yesterday time times day days again always never sometimes maybe think know see
    make makes made try tried trying go going work works email phone"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
_WORD = re.compile(r"[a-z][a-z0-9]+")
# Phrases whose words are stop words on their own but which carry the complaint.
_PHRASES = (
    (re.compile(r"\b(?:time[sd]?|timing)[ -]?outs?\b"), " timeout "),
    (re.compile(r"\b(?:log(?:ged|ging)?|sign(?:ed|ing)?)[ -]?in\b"), " login "),
    (re.compile(r"\b(?:log(?:ged|ging)?|sign(?:ed|ing)?)[ -]?out\b"), " logout "),
    (re.compile(r"\bsign(?:ed|ing)?[ -]?up\b"), " signup "),
    (re.compile(r"\b(?:error|http) ?(\d{3})\b|\b(\d{3}) error\b"), r" error\1\2 "),
)
_STEMMER = snowballstemmer.stemmer("english")
_STEMS: dict[str, str] = {}
_SURFACE: dict[str, str] = {}  # stem -> the shortest word seen with that stem
MAX_STEM_CACHE = 200_000


def terms_of(text: str) -> list[str]:
    """The distinct content words of a text, in order of first appearance."""
    seen: dict[str, None] = {}
    lowered = text.lower()
    for pattern, replacement in _PHRASES:
        lowered = pattern.sub(replacement, lowered)
    for word in _WORD.findall(lowered):
        if len(word) < 3 or word in STOP_WORDS:
            continue
        seen.setdefault(_fold(word), None)
    if not seen and text.strip():
        # no words at all (emoji, numbers): only exact repeats can be grouped
        digest = hashlib.sha1(" ".join(text.lower().split()).encode()).hexdigest()[:12]
        return ["#" + digest]
    return list(seen)


def _fold(word: str) -> str:
    """The Snowball (Porter 2) stem, so "crashes", "crashed", "crashing" meet; memoised."""
    stem = _STEMS.get(word)
    if stem is None:
        if len(_STEMS) > MAX_STEM_CACHE:
            _STEMS.clear()
        stem = _STEMS[word] = _STEMMER.stemWord(word)
        known = _SURFACE.get(stem)
        if known is None or (len(word), word) < (len(known), known):
            _SURFACE[stem] = word
    return stem


def surface(term: str) -> str:
    """A readable word for a stem ("deliveri" -> "delivery"): the shortest word seen for it."""
    return _SURFACE.get(term, term)


@dataclass
class ThemeState:
    """A theme's centroid: how many members contain each word, and how many members."""

    counts: Counter[str] = field(default_factory=Counter)
    size: int = 0
    # sum over words of (count x idf)^2, kept up to date as members join (with the idf of the
    # moment): the centroid's norm is sqrt(square_sum) / size
    square_sum: float = 0.0
    label: str = ""
    service: str | None = None
    indexed: set[str] = field(default_factory=set)


class ThemeIndex:
    """Themes in memory with their inverted index; keys are theme ids (negative: not stored yet)."""

    def __init__(self, threshold: float = THRESHOLD) -> None:
        self.threshold = threshold
        self.themes: dict[int, ThemeState] = {}
        self.df: Counter[str] = Counter()
        self.n_docs = 0
        self._postings: dict[str, list[int]] = {}
        self._next_new = -1

    def idf(self, term: str) -> float:
        return math.log((self.n_docs + 1) / (self.df.get(term, 0) + 1)) + 1.0

    def load(self, key: int, state: ThemeState) -> None:
        """Add a stored theme (its counts also stand for its members' word frequencies)."""
        self.themes[key] = state
        self.df.update(state.counts)
        self.n_docs += state.size
        state.square_sum = self._square_sum(state)
        for term, count in state.counts.items():
            if state.size == 1 or count >= INDEX_SHARE * state.size:
                self._index(key, term, state)

    def assign(self, terms: Sequence[str], label: str = "", service: str | None = None) -> int:
        """Put one post (its distinct terms) into the best theme or a new one; its key."""
        self.n_docs += 1
        self.df.update(terms)
        weights = {t: self.idf(t) for t in terms}
        post_norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        scores: dict[int, float] = {}
        for term, weight in weights.items():
            for key in self._postings.get(term, ()):
                count = self.themes[key].counts.get(term, 0)
                scores[key] = scores.get(key, 0.0) + weight * weight * count
        best, best_cosine = None, 0.0
        for key, dot in scores.items():
            cosine = dot / (post_norm * (math.sqrt(self.themes[key].square_sum) or 1.0))
            if cosine > best_cosine:
                best, best_cosine = key, cosine
        if best is None or best_cosine < self.threshold:
            best = self._next_new
            self._next_new -= 1
            self.themes[best] = ThemeState(label=label, service=service)
        self._add_member(best, terms, service)
        return best

    def _add_member(self, key: int, terms: Sequence[str], service: str | None) -> None:
        state = self.themes[key]
        state.size += 1
        for term in terms:
            count = state.counts[term]
            state.square_sum += (2 * count + 1) * self.idf(term) ** 2
            state.counts[term] = count + 1
        if state.service is None:
            state.service = service
        for term in terms:
            if term not in state.indexed and state.counts[term] >= INDEX_SHARE * state.size:
                self._index(key, term, state)
        if len(state.counts) > MAX_TERMS_PER_THEME:
            state.counts = Counter(dict(state.counts.most_common(PRUNED_TERMS)))
            state.square_sum = self._square_sum(state)

    def _square_sum(self, state: ThemeState) -> float:
        return sum((c * self.idf(t)) ** 2 for t, c in state.counts.items())

    def _index(self, key: int, term: str, state: ThemeState) -> None:
        posting = self._postings.setdefault(term, [])
        if len(posting) < MAX_POSTING:
            posting.append(key)
            state.indexed.add(term)

    def rekey(self, old: int, new: int) -> None:
        """A new theme got its stored id."""
        state = self.themes.pop(old)
        self.themes[new] = state
        for term in state.indexed:
            posting = self._postings[term]
            posting[posting.index(old)] = new

    def top_terms(self, key: int, limit: int = TOP_TERMS) -> list[str]:
        state = self.themes[key]
        ranked = sorted(state.counts.items(), key=lambda tc: (-tc[1] * self.idf(tc[0]), tc[0]))
        return [surface(t) for t, _ in ranked[:limit] if not t.startswith("#")]

    def _memo_vector(self, key: int, vectors: dict[int, dict[str, float]]) -> dict[str, float]:
        vector = vectors.get(key)
        if vector is None:
            vector = vectors[key] = self._vector(key)
        return vector

    def _vector(self, key: int) -> dict[str, float]:
        state = self.themes[key]
        vec = {t: c / state.size * self.idf(t) for t, c in state.counts.most_common(20)}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {t: v / norm for t, v in vec.items()}

    def similar_themes(
        self,
        key: int,
        threshold: float = MERGE_THRESHOLD,
        exclude: Iterable[int] = (),
        vectors: dict[int, dict[str, float]] | None = None,
    ) -> list[tuple[int, float]]:
        """Other themes whose centroid has a cosine of `threshold` or more with this one.

        `vectors` memoises centroids across the calls of one pass over many themes.
        """
        vectors = {} if vectors is None else vectors
        mine = self._memo_vector(key, vectors)
        skip = {key, *exclude}
        candidates = {
            other for t in mine for other in self._postings.get(t, ()) if other not in skip
        }
        found = []
        for other in candidates:
            theirs = self._memo_vector(other, vectors)
            cosine = sum(w * theirs.get(t, 0.0) for t, w in mine.items())
            if cosine >= threshold:
                found.append((other, round(cosine, 4)))
        return sorted(found, key=lambda kv: (-kv[1], kv[0]))
