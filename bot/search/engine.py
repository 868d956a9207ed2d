"""The in-memory search index: tantivy for candidates, rapidfuzz for re-ranking.

How a query is answered (see docs/search.md for the measurements behind the choices):

1. **Parse** the query (`bot.search.query`): free terms, phrases, `author:`, `since:`.
2. **Expand** every free term over the index vocabulary, with Meilisearch's typo budget
   (0 edits below 5 letters, 1 edit for 5-8 letters, 2 from 9 letters), plus prefix
   completions for partial words and a few truncations for stemmed forms.  Expansions
   are plain term queries, so they keep their BM25 weight (tantivy's own fuzzy queries
   score a constant).
3. **Candidates** come from tantivy with BM25 over title, keywords, authors and abstract
   (field boosts 3 / 2 / 1.5 / 1): first all terms required (AND); when that finds
   fewer than a handful, any term (OR).  Phrases, authors and dates are hard filters.
4. **Re-rank** the best ~200 candidates: the normalised BM25 score blended with rapidfuzz
   `token_set_ratio` of the query against the title, and a small tie-breaker from
   recency and upvotes.

Steps 3 and 4 are for title-like queries.  A long, descriptive query (`bot.search.ranking`)
skips the AND step and the title similarity: BM25 over all its words OR-ed, the abstract
weighted far above the title.  `ranking.hybrid` is where dense candidates join.

Everything lives in one tantivy index in RAM: the searchable text, the stored paper
(abstract included, compressed by tantivy's doc store) and fast fields for the key, the
publication day and the upvotes.  Python keeps only the titles (for re-ranking and
autocomplete) and the word vocabulary used for typo expansion, so a million papers fit
well within 1.5 GB.  Only the papers of the page returned are read from the doc store.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import tantivy
from rapidfuzz.distance import OSA

from bot.duplicates import fold
from bot.models import Paper, PaperCard, SearchResults
from bot.paging import MAX_LIMIT, MAX_OFFSET, clamp
from bot.search.more_like_this import lexical_neighbours
from bot.search.query import ParsedQuery, parse_query
from bot.search.ranking import (
    DENSE_CANDIDATES,
    TITLE_WEIGHTS,
    RankWeights,
    hybrid,
    query_kind,
    title_similarity,
    wants_dense,
    weights_for,
)
from bot.search.titles import TitleStore
from bot.search.vocabulary import Vocabulary

__all__ = ["DenseSearch", "IndexBuilder", "IndexBusy", "PaperIndex", "typo_budget"]

# (query text, k, lexical candidates) -> (key, cosine) pairs: the k nearest papers, best
# first, then the cosines of those candidates that have a vector. The semantic half,
# composed at the edge from an encoder and a `bot.search.vectors.VectorIndex`.
DenseSearch = Callable[[str, int, Sequence[int]], Sequence[tuple[int, float]]]

_EPOCH = date(1970, 1, 1)
_NO_DATE = -1_000_000
# Field boosts for BM25: a term in the title counts three times one in the abstract.
FIELD_BOOSTS: dict[str, float] = {"title": 3.0, "keywords": 2.0, "authors": 1.5, "abstract": 1.0}
CANDIDATES = 200
AND_MIN_HITS = 10
MAX_TERMS = 12
_WRITER_HEAP = 256_000_000
# A term found in more than this share of abstracts is searched in the other fields only:
# its BM25 weight there is negligible and its posting list is the slow part of a query.
ABSTRACT_MAX_DF = 0.04
ABSTRACT_MIN_CAP = 5000
STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "this",
        "to",
        "was",
        "we",
        "were",
        "which",
        "with",
        "via",
        "our",
        "using",
    }
)


class IndexBusy(RuntimeError):
    """Another process holds the index's writer lock."""


def typo_budget(word: str) -> int:
    """Edits allowed in a query word (Meilisearch): 0 below 5 letters, 1 up to 8, else 2."""
    n = len(word)
    if n < 5:
        return 0
    return 1 if n < 9 else 2


def _text_analyzer(stem: bool) -> Any:
    builder = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
    )
    if stem:
        builder = builder.filter(tantivy.Filter.stemmer("english"))
    return builder.build()


def _schema() -> Any:
    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("key", stored=True, indexed=True, fast=True)
    sb.add_text_field("title", stored=True, tokenizer_name="papers")
    # Unstemmed title and keyword words: only their dictionary is used, for typo expansion.
    sb.add_text_field("words", stored=False, tokenizer_name="names", index_option="basic")
    sb.add_text_field("authors", stored=True, tokenizer_name="names")
    sb.add_text_field("keywords", stored=True, tokenizer_name="papers")
    sb.add_text_field("abstract", stored=True, tokenizer_name="papers")
    sb.add_integer_field("pub", stored=False, indexed=True, fast=True)
    sb.add_integer_field("upvotes", stored=False, indexed=False, fast=True)
    sb.add_bytes_field("meta", stored=True, indexed=False)
    return sb.build()


def _day(value: date | None) -> int:
    return (value - _EPOCH).days if value is not None else _NO_DATE


# isoformat() of the dates and timestamps stored with each paper, memoised: a bulk
# ingest stamps every paper with the same two timestamps and the corpus has a few
# thousand publication days, and the formatting was a third of `_meta` at 138k papers.
# Keyed with the type and zone too: equal instants in two zones format differently.
_ISO_MEMO: dict[tuple[type, date, Any], str] = {}
_ISO_MEMO_MAX = 100_000
_dumps = json.JSONEncoder().encode  # json.dumps with its defaults, without its dispatch


def _iso(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    key = (type(value), value, getattr(value, "tzinfo", None))
    text = _ISO_MEMO.get(key)
    if text is None:
        text = value.isoformat()
        if len(_ISO_MEMO) < _ISO_MEMO_MAX:
            _ISO_MEMO[key] = text
    return text


def _meta(paper: Paper) -> bytes:
    """The stored-only fields of a paper, as compact JSON: only those set, in this order.

    "Set" is what the former `{k: v ...} if v not in (None, [], False)` kept: a string
    even when empty, a number unless it is 0, a list unless it is empty.  Written out field
    by field, the same bytes cost 40 % less than building the full dict and filtering it
    (at a million papers, ~3 CPU-s of a rebuild).
    """
    data: dict[str, Any] = {}
    if paper.paper_id is not None:
        data["paper_id"] = paper.paper_id
    if paper.author_count:
        data["author_count"] = paper.author_count
    if paper.published is not None:
        data["published"] = _iso(paper.published)
    if paper.upvotes:
        data["upvotes"] = paper.upvotes
    if paper.comments:
        data["comments"] = paper.comments
    if paper.github_repo is not None:
        data["github_repo"] = paper.github_repo
    if paper.project_page is not None:
        data["project_page"] = paper.project_page
    if paper.organization is not None:
        data["organization"] = paper.organization
    if paper.ai_summary is not None:
        data["ai_summary"] = paper.ai_summary
    if paper.categories:
        data["categories"] = list(paper.categories)
    if paper.sources:
        data["sources"] = list(paper.sources)
    if paper.first_seen is not None:
        data["first_seen"] = _iso(paper.first_seen)
    if paper.updated is not None:
        data["updated"] = _iso(paper.updated)
    if paper.abstract is None:
        data["abstract_none"] = True
    return _dumps(data).encode()


def _paper_from_doc(doc: dict[str, list[Any]]) -> Paper:
    meta: dict[str, Any] = json.loads(bytes(doc["meta"][0])) if doc.get("meta") else {}
    published = meta.get("published")
    first_seen = meta.get("first_seen")
    updated = meta.get("updated")
    abstract = doc.get("abstract", [""])
    return Paper(
        key=int(doc["key"][0]),
        title=str(doc["title"][0]) if doc.get("title") else "",
        paper_id=meta.get("paper_id"),
        abstract=None if meta.get("abstract_none") else (str(abstract[0]) if abstract else ""),
        authors=tuple(str(a) for a in doc.get("authors", [])),
        author_count=meta.get("author_count"),
        published=date.fromisoformat(published) if published else None,
        upvotes=meta.get("upvotes"),
        comments=meta.get("comments"),
        github_repo=meta.get("github_repo"),
        project_page=meta.get("project_page"),
        organization=meta.get("organization"),
        keywords=tuple(str(k) for k in doc.get("keywords", [])),
        ai_summary=meta.get("ai_summary"),
        categories=tuple(meta.get("categories", ())),
        sources=tuple(meta.get("sources", ())),
        first_seen=datetime.fromisoformat(first_seen) if first_seen else None,
        updated=datetime.fromisoformat(updated) if updated else None,
    )


@dataclass(frozen=True, slots=True)
class _Hit:
    key: int
    score: float
    address: Any
    strict: bool
    day: int
    upvotes: int


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _first_letter_variants(word: str) -> set[str]:
    """Words one edit away from `word` at its first letter (insert, delete, swap, replace)."""
    if len(word) < 2:
        return set()
    variants = {word[1:], word[1] + word[0] + word[2:]}
    variants.update(c + word for c in _LETTERS)
    variants.update(c + word[1:] for c in _LETTERS)
    variants.discard(word)
    return variants


def _freshness(hit: _Hit, today: int) -> float:
    """A tie-breaker in [0, 1]: newer and more upvoted papers first."""
    recency = 0.0 if hit.day == _NO_DATE else 1.0 / (1.0 + max(0, today - hit.day) / 365.0)
    return 0.5 * recency + 0.5 * min(1.0, math.log1p(max(0, hit.upvotes)) / 7.0)


class _Current:
    """The searcher in use, shared with the vocabularies' loaders."""

    def __init__(self, searcher: Any) -> None:
        self.searcher = searcher


class PaperIndex:
    """Typo-tolerant, ranked paper search over an in-RAM tantivy index (SearchEngine)."""

    def __init__(self, directory: str | Path | None = None, *, reopen: bool = False) -> None:
        """An index kept in `directory`, or in a temporary directory when None.

        A new index replaces whatever `directory` held, unless `reopen` (see `open`).
        tantivy memory-maps its files, so the index costs page cache, which the kernel
        may reclaim, rather than heap: at a million papers the process stays well under
        1.5 GB RSS.  A temporary directory is removed when the index is garbage-collected.
        """
        if directory is None:
            path = Path(tempfile.mkdtemp(prefix="papers-index-"))
            self._cleanup = weakref.finalize(self, shutil.rmtree, path, True)
        else:
            path = Path(directory)
            path.mkdir(parents=True, exist_ok=True)
        self.directory = path
        if reopen:
            self._index = tantivy.Index.open(str(path))
            self._schema = self._index.schema
        else:
            self._schema = _schema()
            self._index = tantivy.Index(self._schema, path=str(path), reuse=False)
        self._index.register_tokenizer("papers", _text_analyzer(stem=True))
        self._index.register_tokenizer("names", _text_analyzer(stem=False))
        self._analyzer = _text_analyzer(stem=True)
        self._names = _text_analyzer(stem=False)
        self._current = _Current(self._index.searcher())
        self._vocab = self._field_vocabulary("words")
        self._author_vocab = self._field_vocabulary("authors")
        self._stems: dict[str, str] = {}
        self._titles = TitleStore(path)
        if not reopen:
            self._titles.save({})
        self._lock = threading.RLock()
        self._writer: Any = None

    @property
    def _searcher(self) -> Any:
        return self._current.searcher

    @_searcher.setter
    def _searcher(self, searcher: Any) -> None:
        self._current.searcher = searcher

    def _field_vocabulary(self, field: str) -> Vocabulary:
        # Looked up through the current searcher, so a reload is seen without a rebuild.
        # The holder, not `self`, is captured: no cycle, so dropping the index drops its
        # writer (and the lock) at once, as a stopped process would.
        current = self._current
        return Vocabulary(
            lambda prefix: list(current.searcher.terms_with_prefix(field, prefix)),
            lambda term: int(current.searcher.doc_freq(field, term)),
        )

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, papers: Iterable[Paper], directory: str | Path | None = None) -> PaperIndex:
        """Index `papers` (any iterable, consumed once) and return the ready index.

        With a `directory`, the index persists there as a snapshot for `open`.
        """
        builder = IndexBuilder(directory)
        builder.add(papers)
        return builder.finish()

    @classmethod
    def open(cls, directory: str | Path) -> PaperIndex:
        """Reopen an index written by `build(..., directory=)` (and later `apply`s).

        Takes milliseconds at any size (files are mapped, nothing is read); `LiveIndex`
        then applies the changes newer than its state.  Raises FileNotFoundError when
        `directory` holds no index.
        """
        path = Path(directory)
        if not TitleStore.exists(path) or not tantivy.Index.exists(str(path)):
            raise FileNotFoundError(f"no search index in {path}")
        index = cls(path, reopen=True)
        index._titles.load()
        return index

    def reload(self) -> None:
        """See what another process committed to this directory (readers only)."""
        with self._lock:
            self._index.reload()
            self._searcher = self._index.searcher()
            self._titles.load()
            self._vocab.forget()
            self._author_vocab.forget()

    def _stem(self, word: str) -> str:
        """The indexed (stemmed) form of one surface word, cached."""
        stem = self._stems.get(word)
        if stem is None:
            tokens = self._analyzer.analyze(word)
            stem = tokens[0] if tokens else word
            if len(self._stems) < 2_000_000:
                self._stems[word] = stem
        return stem

    def _document(self, paper: Paper) -> Any:
        doc = tantivy.Document()
        doc.add_integer("key", paper.key)
        doc.add_text("title", paper.title)
        doc.add_text("words", " ".join((paper.title, *paper.keywords)))
        for author in paper.authors:
            doc.add_text("authors", author)
        for keyword in paper.keywords:
            doc.add_text("keywords", keyword)
        doc.add_text("abstract", paper.abstract or "")
        doc.add_integer("pub", _day(paper.published))
        doc.add_integer("upvotes", paper.upvotes or 0)
        doc.add_bytes("meta", _meta(paper))
        return doc

    def take_writer(self) -> None:
        """Become this directory's one writer; raises `IndexBusy` if another process is.

        tantivy allows one writer per index directory (a lock file).  The writer is kept
        until the process ends, so a serving bot owns its index while it runs.
        """
        with self._lock:
            if self._writer is not None:
                return
            try:
                self._writer = self._index.writer(heap_size=64_000_000, num_threads=1)
            except ValueError as exc:
                if "Lock" in str(exc):
                    raise IndexBusy(
                        f"another process is writing the index in {self.directory}"
                    ) from exc
                raise

    @property
    def writable(self) -> bool:
        return self._writer is not None

    def apply(self, papers: Iterable[Paper], removed: Iterable[int] = ()) -> None:
        """Add or replace `papers` and drop the keys `removed`, in one tantivy commit."""
        with self._lock:
            batch = list(papers)
            gone = [key for key in set(removed) if key in self._titles]
            if not batch and not gone:
                return
            self.take_writer()
            for key in gone:
                self._writer.delete_documents_by_term("key", key)
            for paper in batch:
                self._writer.delete_documents_by_term("key", paper.key)
                self._writer.add_document(self._document(paper))
                for term in set(self._names.analyze(" ".join((paper.title, *paper.keywords)))):
                    self._vocab.add(term)
                for term in set(self._names.analyze(" ".join(paper.authors))):
                    self._author_vocab.add(term)
            self._writer.commit()
            self._titles.record([(key, None) for key in gone] + [(p.key, p.title) for p in batch])
            self._index.reload()
            self._searcher = self._index.searcher()

    def add(self, papers: Iterable[Paper]) -> None:
        """Add papers, replacing any indexed paper with the same key."""
        self.apply(papers)

    def remove(self, keys: Iterable[int]) -> None:
        """Drop papers by key (rows merged away in the database); unknown keys are ignored."""
        self.apply((), keys)

    def keys(self) -> set[int]:
        """Keys of the indexed papers (cheap: kept beside the index, not read from it)."""
        with self._lock:
            return set(self._titles)

    def __len__(self) -> int:
        return int(self._searcher.num_docs)

    def word_counts(self) -> dict[str, int]:
        """A copy of the typo-expansion vocabulary (surface word -> document frequency),
        so saved searches get the typo fixes a search gets (`VocabularySpeller`)."""
        return self._vocab.counts()

    # ------------------------------------------------------------------ queries
    def _term(self, field: str, term: str, boost: float) -> Any:
        query = tantivy.Query.term_query(self._schema, field, term)
        return tantivy.Query.boost_query(query, boost) if boost != 1.0 else query

    def _expansions(
        self, word: str, *, prefix: bool, weights: RankWeights = TITLE_WEIGHTS
    ) -> dict[str, float]:
        """Index terms (stemmed) a surface query word may stand for, weighted in (0, 1]."""
        found: dict[str, float] = {}
        for token in self._analyzer.analyze(word):
            found[token] = 1.0
        if not weights.expand_known_words and any(
            self._searcher.doc_freq("abstract", t) >= 2 for t in found
        ):
            # A description's words are mostly spelt right: a word the abstracts know is
            # taken as typed, so its typo neighbours do not dilute a long OR query.
            return found
        df = self._vocab.freq(word)
        budget = typo_budget(word)
        if df < 2 and budget:
            for term, dist in self._vocab.fuzzy(word, budget):
                found.setdefault(self._stem(term), 0.55 if dist == 1 else 0.35)
            # A typo in the first letter counts double (Meilisearch): exact lookups only.
            for variant in _first_letter_variants(word):
                if self._vocab.freq(variant) >= 2:
                    found.setdefault(self._stem(variant), 0.35)
        if (prefix or df == 0) and len(word) >= 3:
            for term in self._vocab.completions(word, limit=4 if df else 6):
                found.setdefault(self._stem(term), 0.5 if df else 0.7)
        return found

    def _token_clause(
        self,
        expansions: dict[str, float],
        *,
        strict: bool,
        abstract_max_df: float | None = ABSTRACT_MAX_DF,
        boosts: Mapping[str, float] | None = None,
    ) -> Any:
        """One query word: its expansions over all fields, BM25 summed.

        In the strict (AND) query a word may match in any field; the conjunction is driven
        by the rarest word, so long posting lists are cheap there.  In the loose (OR)
        query a word common in abstracts is searched in the other fields only.
        """
        parts = self._token_terms(
            expansions, strict=strict, abstract_max_df=abstract_max_df, boosts=boosts
        )
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in parts])

    def _token_terms(
        self,
        expansions: dict[str, float],
        *,
        strict: bool,
        abstract_max_df: float | None = ABSTRACT_MAX_DF,
        boosts: Mapping[str, float] | None = None,
    ) -> list[Any]:
        """The term queries of `_token_clause`, not wrapped in a query of their own."""
        searcher = self._searcher
        abstract_cap = (
            math.inf
            if strict or abstract_max_df is None
            else max(ABSTRACT_MIN_CAP, abstract_max_df * int(searcher.num_docs))
        )
        boost = FIELD_BOOSTS if boosts is None else boosts
        parts = []
        for term, weight in expansions.items():
            parts.append(self._term("title", term, boost["title"] * weight))
            parts.append(self._term("keywords", term, boost["keywords"] * weight))
            if boost["authors"] and self._author_vocab.freq(term):
                parts.append(self._term("authors", term, boost["authors"] * weight))
            if searcher.doc_freq("abstract", term) <= abstract_cap:
                parts.append(self._term("abstract", term, boost["abstract"] * weight))
        return parts

    def _filters(self, parsed: ParsedQuery) -> list[Any]:
        must: list[Any] = []
        for phrase in parsed.phrases:
            tokens = self._analyzer.analyze(" ".join(phrase))
            if not tokens:
                continue
            if len(tokens) == 1:
                per_field = [self._term(f, tokens[0], 1.0) for f in ("title", "abstract")]
            else:
                per_field = [
                    tantivy.Query.phrase_query(self._schema, f, list(tokens))
                    for f in ("title", "abstract")
                ]
            must.append(tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in per_field]))
        for author in parsed.authors:
            for word, token in zip(author.split(), self._names.analyze(author), strict=False):
                options = {token}
                if not self._author_vocab.freq(token):
                    options.update(t for t, _ in self._author_vocab.fuzzy(token, typo_budget(word)))
                must.append(
                    tantivy.Query.boolean_query(
                        [
                            (tantivy.Occur.Should, self._term("authors", t, 1.0))
                            for t in sorted(options)
                        ]
                    )
                )
        if parsed.since is not None:
            must.append(
                tantivy.Query.range_query(
                    self._schema,
                    "pub",
                    tantivy.FieldType.Integer,
                    _day(parsed.since),
                    None,
                )
            )
        return must

    def _words(self, parsed: ParsedQuery) -> tuple[list[str], RankWeights]:
        """The query words searched (stopwords dropped) and the ranking their kind gets."""
        words = [w for term in parsed.terms for w in self._names.analyze(term)]
        content = [w for w in words if w not in STOPWORDS]
        weights = weights_for(query_kind(content))
        return (content or words)[: weights.max_terms], weights

    def _token_groups(
        self, words: Sequence[str], weights: RankWeights, *, last_is_prefix: bool
    ) -> list[dict[str, float]]:
        groups = []
        for i, word in enumerate(words):
            prefix = last_is_prefix and i == len(words) - 1
            expansions = self._expansions(word, prefix=prefix, weights=weights)
            if expansions:
                groups.append(expansions)
        return groups

    def _run(
        self,
        groups: Sequence[dict[str, float]],
        filters: Sequence[Any],
        limit: int,
        *,
        by_date: bool,
        phrase_tokens: Sequence[str] = (),
        weights: RankWeights = TITLE_WEIGHTS,
    ) -> list[tuple[float, Any, bool]]:
        """Candidates as (bm25, address, matched every term), best first.

        No match counts are asked of tantivy: counting walks every posting, while top-k
        collection may stop early; `total` is the number of candidates ranked instead.
        """
        searcher = self._searcher
        if not groups:
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, f) for f in filters])
            if by_date:
                result = searcher.search(query, limit, count=False, order_by_field="pub")
                return [(0.0, a, True) for _, a in result.hits]
            result = searcher.search(query, limit, count=False)
            return [(float(s), a, True) for s, a in result.hits]
        hits: list[tuple[float, Any, bool]] = []
        if weights.strict_bonus > 0 or len(groups) == 1:
            clauses = [self._token_clause(g, strict=True) for g in groups]
            must: list[tuple[Any, Any]] = [(tantivy.Occur.Must, q) for q in (*clauses, *filters)]
            must.extend((tantivy.Occur.Should, q) for q in self._proximity(phrase_tokens))
            strict = searcher.search(tantivy.Query.boolean_query(must), limit, count=False).hits
            hits = [(float(s), a, True) for s, a in strict]
            if len(hits) >= AND_MIN_HITS or len(groups) == 1:
                return hits
        # A description rarely has every word in one paper: BM25 over the words OR-ed, as
        # plain FTS5 does, is the whole candidate step there. Every word's term queries go
        # straight into one disjunction: the same sum of BM25 scores as one clause per word,
        # at half the CPU for a 40-word description at 1M papers (docs/search.md).
        should: list[tuple[Any, Any]] = [
            (tantivy.Occur.Should, term)
            for g in groups
            for term in self._token_terms(
                g,
                strict=False,
                abstract_max_df=weights.abstract_max_df,
                boosts=weights.field_boosts,
            )
        ]
        should.extend((tantivy.Occur.Must, f) for f in filters)
        seen = {(a.segment_ord, a.doc) for _, a, _ in hits}
        loose = searcher.search(tantivy.Query.boolean_query(should), limit, count=False).hits
        for score, address in loose:
            if (address.segment_ord, address.doc) not in seen:
                hits.append((float(score), address, False))
        return hits

    def _proximity(self, tokens: Sequence[str]) -> list[Any]:
        """Optional clauses rewarding the query words in order, as typed (near-phrase)."""
        if len(tokens) < 2:
            return []
        return [
            tantivy.Query.boost_query(
                tantivy.Query.phrase_query(self._schema, field, list(tokens), slop=2), boost
            )
            for field, boost in (("title", 3.0), ("abstract", 2.0))
        ]

    def _candidates(
        self, parsed: ParsedQuery, limit: int, *, last_is_prefix: bool = False
    ) -> list[_Hit]:
        words, weights = self._words(parsed)
        groups = self._token_groups(words, weights, last_is_prefix=last_is_prefix)
        filters = self._filters(parsed)
        if not groups and not filters:
            return []
        tokens = self._analyzer.analyze(" ".join(parsed.terms))[:MAX_TERMS]
        scored = self._run(
            groups,
            filters,
            limit,
            by_date=not parsed.has_text,
            phrase_tokens=tokens,
            weights=weights,
        )
        if not scored:
            return []
        searcher = self._searcher
        addresses = [a for _, a, _ in scored]
        keys = searcher.fast_field_values("key", addresses)
        days = searcher.fast_field_values("pub", addresses)
        votes = searcher.fast_field_values("upvotes", addresses)
        return [
            _Hit(int(k), score, address, strict, int(d or _NO_DATE), int(v or 0))
            for (score, address, strict), k, d, v in zip(scored, keys, days, votes, strict=True)
            if k is not None
        ]

    def _rerank(self, parsed: ParsedQuery, hits: list[_Hit]) -> list[tuple[float, _Hit]]:
        """Rank by coverage, then normalised BM25 blended with title similarity; tie-break.

        The blend depends on the kind of query (`bot.search.ranking`): a title-like query
        puts papers matching every word first and weighs title similarity; a description
        is ranked by BM25 alone.
        """
        _, weights = self._words(parsed)
        text = " ".join((*parsed.terms, *(" ".join(p) for p in parsed.phrases))).lower()
        top = max((h.score for h in hits), default=0.0) or 1.0
        today = (date.today() - _EPOCH).days
        titles = self._titles
        ranked = []
        for hit in hits:
            similarity = (
                title_similarity(text, titles.get(hit.key, "").lower()) if weights.title else 0.0
            )
            # Papers matching every query word come first (Meilisearch's "words" rule).
            score = weights.bm25 * (hit.score / top) + weights.title * similarity
            score += weights.strict_bonus if hit.strict else 0.0
            ranked.append((score + 0.02 * _freshness(hit, today), hit))
        ranked.sort(key=lambda item: (-item[0], item[1].key))
        return ranked

    def search(self, query: str, *, limit: int = 10, offset: int = 0) -> SearchResults:
        """Ranked hits for `query` (syntax in `bot.search.query`); never raises on input.

        `total` counts the ranked candidates: every match up to `CANDIDATES` (or up to
        `offset + limit`, when a later page is asked for).
        """
        # Offsets come from buttons: never let one size the candidate request.
        limit = clamp(limit, MAX_LIMIT)
        offset = clamp(offset, MAX_OFFSET)
        parsed = parse_query(query)
        with self._lock:
            if parsed.is_empty or len(self) == 0:
                return SearchResults(cards=(), total=0, query=query)
            cap = max(CANDIDATES, offset + limit)
            hits = self._candidates(parsed, cap)
            ranked = self._rerank(parsed, hits) if parsed.has_text else self._by_date(hits)
            ranked = self._fuse(parsed, ranked, truncated=len(hits) >= cap)
            # One card per work: later versions (an ACL paper of an arXiv preprint) fold in.
            works = fold(
                ranked, title=lambda item: self._titles.get(item[1].key, ""), paper=self._paper_at
            )
            page = works[offset : offset + limit]
            papers = [self._paper_at(item) for item, _ in page]
            versions = [tuple(map(self._paper_at, later)) for _, later in page]
        cards = tuple(
            PaperCard(
                paper=paper,
                score=round(score, 4),
                rank=offset + i + 1,
                matched_authors=self._matched_authors(parsed, paper),
                versions=others,
            )
            for i, (((score, _), _), paper, others) in enumerate(
                zip(page, papers, versions, strict=True)
            )
        )
        return SearchResults(cards=cards, total=len(works), query=query, capped=len(hits) >= cap)

    def _paper_at(self, item: tuple[float, _Hit]) -> Paper:
        return _paper_from_doc(self._searcher.doc(item[1].address).to_dict())

    _dense: DenseSearch | None = None

    def use_dense(self, dense: DenseSearch | None) -> None:
        """Fuse dense candidates into description queries from now on (None: stop)."""
        self._dense = dense

    @property
    def dense(self) -> DenseSearch | None:
        """The function `use_dense` installed, if any."""
        return self._dense

    def _fuse(
        self, parsed: ParsedQuery, ranked: list[tuple[float, _Hit]], *, truncated: bool
    ) -> list[tuple[float, _Hit]]:
        """Dense candidates join the lexical ones here (`ranking.hybrid`), for the queries
        `ranking.wants_dense` picks; every other query keeps its lexical ranking.
        `truncated`: the lexical candidates stopped at their cap (more papers matched)."""
        dense: Sequence[tuple[int, float]] = ()
        if self._dense is not None and parsed.has_text:
            content = [w for t in parsed.terms for w in self._names.analyze(t)]
            kind = query_kind([w for w in content if w not in STOPWORDS])
            filtered = bool(parsed.phrases or parsed.authors or parsed.since)
            if wants_dense(kind, filtered=filtered):
                candidates = [hit.key for _, hit in ranked]
                dense = self._dense(parsed.text, DENSE_CANDIDATES, candidates)
        by_key = {hit.key: hit for _, hit in ranked}
        for key, _ in dense:
            if key not in by_key and (hit := self._hit_for(key)) is not None:
                by_key[key] = hit
        fused = hybrid(
            [(hit.key, score) for score, hit in ranked],
            [(key, cosine) for key, cosine in dense if key in by_key],
            truncated=truncated,
        )
        return [(score, by_key[key]) for key, score in fused]

    def _hit_for(self, key: int) -> _Hit | None:
        """A candidate only the dense side found (None if the paper is not indexed)."""
        query = tantivy.Query.term_query(self._schema, "key", key)
        found = self._searcher.search(query, 1, count=False).hits
        if not found:
            return None
        return _Hit(key, 0.0, found[0][1], False, _NO_DATE, 0)

    def _matched_authors(self, parsed: ParsedQuery, paper: Paper) -> tuple[str, ...]:
        """The paper's authors an `author:` filter matched (same typo budget as the filter)."""
        if not parsed.authors:
            return ()
        wanted = [self._names.analyze(a) for a in parsed.authors]
        matched = []
        for name in paper.authors:
            tokens = self._names.analyze(name)
            for query in wanted:
                if query and all(
                    any(OSA.distance(q, t) <= typo_budget(q) for t in tokens) for q in query
                ):
                    matched.append(name)
                    break
        return tuple(matched)

    @staticmethod
    def _by_date(hits: list[_Hit]) -> list[tuple[float, _Hit]]:
        today = (date.today() - _EPOCH).days
        ranked = [(_freshness(h, today), h) for h in hits]
        ranked.sort(key=lambda item: (-item[1].day, -item[0], item[1].key))
        return ranked

    def suggest(self, prefix: str, *, limit: int = 25) -> list[tuple[int, str]]:
        """Titles for autocomplete: earlier words typo-tolerant, the last one a prefix."""
        limit = max(0, min(limit, 25))
        parsed = parse_query(prefix)
        if not parsed.has_text or limit == 0:
            return []
        typing_word = not prefix.endswith((" ", '"'))
        with self._lock:
            if len(self) == 0:
                return []
            hits = self._candidates(parsed, 50, last_is_prefix=typing_word)
            ranked = self._rerank(parsed, hits)
            titles = [(h.key, self._titles.get(h.key, "")) for _, h in ranked]
        head = " ".join(parsed.terms).lower()
        order = sorted(range(len(titles)), key=lambda i: not titles[i][1].lower().startswith(head))
        return [titles[i] for i in order[:limit]]

    def neighbours(self, key: int, k: int) -> list[tuple[int, float]]:
        """The `k` papers most like the paper `key`, lexically (`bot.search.more_like_this`);
        `bot.search.similar.Neighbours`. Never the paper itself; [] for an unknown key."""
        with self._lock:
            return lexical_neighbours(
                self._searcher, self._schema, self._analyzer, key, k, stop=STOPWORDS
            )

    def __iter__(self) -> Iterator[int]:
        """Keys of all indexed papers (for diagnostics; walks the whole index)."""
        result = self._searcher.search(tantivy.Query.all_query(), max(1, len(self)), count=False)
        addresses = [a for _, a in result.hits]
        for value in self._searcher.fast_field_values("key", addresses):
            if value is not None:
                yield int(value)


class IndexBuilder:
    """A new index fed in rounds and committed once: `PaperIndex.build`, and an index
    built while an ingest writes the database (`bot.search.feed`), one batch of committed
    rows at a time.

    A key fed again replaces its earlier document and `remove` drops one, both inside the
    one uncommitted writer (tantivy applies a delete to the documents added before it), so
    the result holds each key once, as it was last fed.
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        self.index = PaperIndex(directory)
        self._writer: Any = self.index._index.writer(heap_size=_WRITER_HEAP)
        self._titles: dict[int, str] = {}

    def add(self, papers: Iterable[Paper]) -> int:
        """Index `papers` (consumed once), replacing keys fed before; how many."""
        writer, titles, document = self._writer, self._titles, self.index._document
        count = 0
        for paper in papers:
            if paper.key in titles:
                writer.delete_documents_by_term("key", paper.key)
            writer.add_document(document(paper))
            titles[paper.key] = paper.title
            count += 1
        return count

    def remove(self, keys: Iterable[int]) -> None:
        """Drop keys fed before; unknown keys are ignored."""
        for key in keys:
            if self._titles.pop(key, None) is not None:
                self._writer.delete_documents_by_term("key", key)

    def __len__(self) -> int:
        return len(self._titles)

    def discard(self) -> None:
        """Stop the writer without committing (its threads end; the files can go)."""
        if self._writer is not None:
            self._writer.rollback()
            self._writer = None

    def finish(self) -> PaperIndex:
        """Commit everything fed, write the titles, and return the ready index."""
        index = self.index
        self._writer.commit()
        self._writer.wait_merging_threads()
        self._writer = None
        index._titles.save(self._titles)
        index._index.reload()
        index._searcher = index._index.searcher()
        return index
