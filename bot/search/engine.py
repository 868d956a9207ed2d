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

Everything lives in one tantivy index in RAM: the searchable text, the stored paper
(abstract included, compressed by tantivy's doc store) and fast fields for the key, the
publication day and the upvotes.  Python keeps only the title vocabulary used for typo
expansion, so a million papers fit well within 1.5 GB.
"""

from __future__ import annotations

import bisect
import json
import math
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import tantivy
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.models import Paper, PaperCard, SearchResults
from bot.search.query import ParsedQuery, parse_query

__all__ = ["PaperIndex", "typo_budget"]

_EPOCH = date(1970, 1, 1)
_NO_DATE = -1_000_000
# Field boosts for BM25: a term in the title counts three times one in the abstract.
FIELD_BOOSTS: dict[str, float] = {"title": 3.0, "keywords": 2.0, "authors": 1.5, "abstract": 1.0}
CANDIDATES = 200
AND_MIN_HITS = 10
MAX_TERMS = 12
_WRITER_HEAP = 256_000_000


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


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _meta(paper: Paper) -> bytes:
    """The stored-only fields of a paper, as compact JSON."""
    data: dict[str, Any] = {
        "paper_id": paper.paper_id,
        "author_count": paper.author_count,
        "published": _iso(paper.published),
        "upvotes": paper.upvotes,
        "comments": paper.comments,
        "github_repo": paper.github_repo,
        "project_page": paper.project_page,
        "organization": paper.organization,
        "ai_summary": paper.ai_summary,
        "categories": list(paper.categories),
        "sources": list(paper.sources),
        "first_seen": _iso(paper.first_seen),
        "updated": _iso(paper.updated),
        "abstract_none": paper.abstract is None,
    }
    return json.dumps({k: v for k, v in data.items() if v not in (None, [], False)}).encode()


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
    doc: Any


class _Vocabulary:
    """Surface words with document frequencies, for typo expansion and completion.

    Terms are bucketed by (first letter, length): a typo in the first letter is rare and
    counts double in Meilisearch, so expansion stays within the same first letter.
    """

    def __init__(self) -> None:
        self.df: dict[str, int] = {}
        self._buckets: dict[tuple[str, int], list[str]] = {}
        self._sorted: list[str] = []
        self._dirty = False

    def add(self, term: str, df: int = 1) -> None:
        if not term:
            return
        old = self.df.get(term)
        self.df[term] = (old or 0) + df
        if old is None:
            self._buckets.setdefault((term[0], len(term)), []).append(term)
            self._dirty = True

    def _sorted_terms(self) -> list[str]:
        if self._dirty:
            self._sorted = sorted(self.df)
            self._dirty = False
        return self._sorted

    def fuzzy(self, term: str, max_edits: int, limit: int = 6) -> list[tuple[str, int]]:
        """Vocabulary terms within `max_edits` (OSA distance) of `term`, nearest first."""
        if max_edits <= 0 or not term:
            return []
        found: list[tuple[int, int, str]] = []
        for length in range(len(term) - max_edits, len(term) + max_edits + 1):
            bucket = self._buckets.get((term[0], length))
            if not bucket:
                continue
            for choice, dist, _ in process.extract(
                term, bucket, scorer=OSA.distance, score_cutoff=max_edits, limit=None
            ):
                if choice != term:
                    found.append((int(dist), -self.df.get(choice, 0), choice))
        found.sort()
        return [(t, d) for d, _, t in found[:limit]]

    def completions(self, prefix: str, limit: int = 5, scan: int = 3000) -> list[str]:
        """The most frequent terms that start with `prefix` (excluding it)."""
        if not prefix:
            return []
        terms = self._sorted_terms()
        start = bisect.bisect_left(terms, prefix)
        matches: list[tuple[int, str]] = []
        for term in terms[start : start + scan]:
            if not term.startswith(prefix):
                break
            if term != prefix:
                matches.append((-self.df[term], term))
        matches.sort()
        return [t for _, t in matches[:limit]]


class PaperIndex:
    """Typo-tolerant, ranked paper search over an in-RAM tantivy index (SearchEngine)."""

    def __init__(self) -> None:
        self._schema = _schema()
        self._index = tantivy.Index(self._schema)
        self._index.register_tokenizer("papers", _text_analyzer(stem=True))
        self._index.register_tokenizer("names", _text_analyzer(stem=False))
        self._analyzer = _text_analyzer(stem=True)
        self._names = _text_analyzer(stem=False)
        self._vocab = _Vocabulary()
        self._author_vocab = _Vocabulary()
        self._stems: dict[str, str] = {}
        self._lock = threading.RLock()
        self._writer: Any = None
        self._searcher: Any = self._index.searcher()

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, papers: Iterable[Paper]) -> PaperIndex:
        """Index `papers` (any iterable, consumed once) and return the ready index."""
        index = cls()
        writer = index._index.writer(heap_size=_WRITER_HEAP)
        for paper in papers:
            writer.add_document(index._document(paper))
        writer.commit()
        writer.wait_merging_threads()
        index._index.reload()
        index._searcher = index._index.searcher()
        index._load_vocabulary()
        return index

    def _load_vocabulary(self) -> None:
        for field, vocab in (("words", self._vocab), ("authors", self._author_vocab)):
            for term, df in self._searcher.terms_with_prefix(field, ""):
                vocab.add(str(term), int(df))

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

    def add(self, papers: Iterable[Paper]) -> None:
        """Add papers, replacing any indexed paper with the same key."""
        with self._lock:
            batch = list(papers)
            if not batch:
                return
            if self._writer is None:
                self._writer = self._index.writer(heap_size=64_000_000, num_threads=1)
            for paper in batch:
                self._writer.delete_documents_by_term("key", paper.key)
                self._writer.add_document(self._document(paper))
                for term in set(self._names.analyze(" ".join((paper.title, *paper.keywords)))):
                    self._vocab.add(term)
                for term in set(self._names.analyze(" ".join(paper.authors))):
                    self._author_vocab.add(term)
            self._writer.commit()
            self._index.reload()
            self._searcher = self._index.searcher()

    def __len__(self) -> int:
        return int(self._searcher.num_docs)

    # ------------------------------------------------------------------ queries
    def _term(self, field: str, term: str, boost: float) -> Any:
        query = tantivy.Query.term_query(self._schema, field, term)
        return tantivy.Query.boost_query(query, boost) if boost != 1.0 else query

    def _expansions(self, word: str, *, prefix: bool) -> dict[str, float]:
        """Index terms (stemmed) a surface query word may stand for, weighted in (0, 1]."""
        found: dict[str, float] = {}
        for token in self._analyzer.analyze(word):
            found[token] = 1.0
        df = self._vocab.df.get(word, 0)
        budget = typo_budget(word)
        if df < 2 and budget:
            for term, dist in self._vocab.fuzzy(word, budget):
                found.setdefault(self._stem(term), 0.55 if dist == 1 else 0.35)
        if (prefix or df == 0) and len(word) >= 3:
            for term in self._vocab.completions(word, limit=4 if df else 6):
                found.setdefault(self._stem(term), 0.5 if df else 0.7)
        return found

    def _token_clause(self, expansions: dict[str, float]) -> Any:
        parts = [
            self._term(field, term, boost * weight)
            for term, weight in expansions.items()
            for field, boost in FIELD_BOOSTS.items()
            if field != "authors"
        ]
        for term, weight in expansions.items():
            if term in self._author_vocab.df:
                parts.append(self._term("authors", term, FIELD_BOOSTS["authors"] * weight))
        return tantivy.Query.disjunction_max_query(parts, 0.3) if len(parts) > 1 else parts[0]

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
                if token not in self._author_vocab.df:
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

    def _token_groups(self, parsed: ParsedQuery, *, last_is_prefix: bool) -> list[Any]:
        words = [w for term in parsed.terms for w in self._names.analyze(term)][:MAX_TERMS]
        groups = []
        for i, word in enumerate(words):
            prefix = last_is_prefix and i == len(words) - 1
            expansions = self._expansions(word, prefix=prefix)
            if expansions:
                groups.append(self._token_clause(expansions))
        return groups

    def _run(
        self, groups: Sequence[Any], filters: Sequence[Any], limit: int, *, by_date: bool
    ) -> tuple[list[tuple[float, Any]], int, bool]:
        """Candidates as (bm25, address), the match count, and whether AND was used."""
        searcher = self._searcher
        if not groups:
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, f) for f in filters])
            if by_date:
                result = searcher.search(query, limit, count=True, order_by_field="pub")
                return [(0.0, a) for _, a in result.hits], int(result.count), True
            result = searcher.search(query, limit, count=True)
            return [(float(s), a) for s, a in result.hits], int(result.count), True
        must = [(tantivy.Occur.Must, q) for q in (*groups, *filters)]
        result = searcher.search(tantivy.Query.boolean_query(must), limit, count=True)
        if result.count >= AND_MIN_HITS or len(groups) == 1:
            return [(float(s), a) for s, a in result.hits], int(result.count), True
        should: list[tuple[Any, Any]] = [(tantivy.Occur.Should, g) for g in groups]
        if filters:
            should.append(
                (
                    tantivy.Occur.Must,
                    tantivy.Query.boolean_query([(tantivy.Occur.Must, f) for f in filters]),
                )
            )
        loose = searcher.search(tantivy.Query.boolean_query(should), limit, count=False)
        hits = [(float(s), a) for s, a in loose.hits]
        return hits, max(int(result.count), len(hits)), False

    def _candidates(
        self, parsed: ParsedQuery, limit: int, *, last_is_prefix: bool = False
    ) -> tuple[list[_Hit], int, bool]:
        groups = self._token_groups(parsed, last_is_prefix=last_is_prefix)
        filters = self._filters(parsed)
        if not groups and not filters:
            return [], 0, False
        scored, total, strict = self._run(groups, filters, limit, by_date=not parsed.has_text)
        searcher = self._searcher
        hits = []
        for score, address in scored:
            doc = searcher.doc(address).to_dict()
            hits.append(_Hit(int(doc["key"][0]), score, doc))
        return hits, total, strict

    def _rerank(self, parsed: ParsedQuery, hits: list[_Hit]) -> list[tuple[float, _Hit]]:
        text = " ".join((*parsed.terms, *(" ".join(p) for p in parsed.phrases))).lower()
        top = max((h.score for h in hits), default=0.0) or 1.0
        today = date.today().toordinal()
        ranked = []
        for hit in hits:
            title = str(hit.doc["title"][0]).lower() if hit.doc.get("title") else ""
            similarity = fuzz.token_set_ratio(text, title) / 100.0 if text else 0.0
            score = 0.6 * (hit.score / top) + 0.4 * similarity
            ranked.append((score + 0.02 * self._freshness(hit.doc, today), hit))
        ranked.sort(key=lambda item: (-item[0], item[1].key))
        return ranked

    @staticmethod
    def _freshness(doc: dict[str, list[Any]], today: int) -> float:
        """A tie-breaker in [0, 1]: newer and more upvoted papers first."""
        meta: dict[str, Any] = json.loads(bytes(doc["meta"][0])) if doc.get("meta") else {}
        published = meta.get("published")
        recency = 0.0
        if published:
            age = max(0, today - date.fromisoformat(published).toordinal())
            recency = 1.0 / (1.0 + age / 365.0)
        upvotes = float(meta.get("upvotes") or 0)
        return 0.5 * recency + 0.5 * min(1.0, math.log1p(upvotes) / 7.0)

    def search(self, query: str, *, limit: int = 10, offset: int = 0) -> SearchResults:
        """Ranked hits for `query` (syntax in `bot.search.query`); never raises on input."""
        limit = max(0, limit)
        offset = max(0, offset)
        parsed = parse_query(query)
        with self._lock:
            if parsed.is_empty or len(self) == 0:
                return SearchResults(cards=(), total=0, query=query)
            hits, total, _ = self._candidates(parsed, max(CANDIDATES, offset + limit))
            ranked = self._rerank(parsed, hits) if parsed.has_text else self._by_date(hits)
        page = ranked[offset : offset + limit]
        cards = tuple(
            PaperCard(paper=_paper_from_doc(hit.doc), score=round(score, 4), rank=offset + i + 1)
            for i, (score, hit) in enumerate(page)
        )
        return SearchResults(cards=cards, total=max(total, len(ranked)), query=query)

    def _by_date(self, hits: list[_Hit]) -> list[tuple[float, _Hit]]:
        today = date.today().toordinal()
        return [(self._freshness(h.doc, today), h) for h in hits]

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
            hits, _, _ = self._candidates(parsed, 50, last_is_prefix=typing_word)
            ranked = self._rerank(parsed, hits)
        head = " ".join(parsed.terms).lower()
        ranked.sort(
            key=lambda item: (
                not str(item[1].doc["title"][0]).lower().startswith(head),
                -item[0],
            )
        )
        return [(h.key, str(h.doc["title"][0])) for _, h in ranked[:limit]]

    def __iter__(self) -> Iterator[int]:
        """Keys of all indexed papers (for diagnostics; walks the whole index)."""
        result = self._searcher.search(tantivy.Query.all_query(), max(1, len(self)), count=False)
        addresses = [a for _, a in result.hits]
        for value in self._searcher.fast_field_values("key", addresses):
            if value is not None:
                yield int(value)
