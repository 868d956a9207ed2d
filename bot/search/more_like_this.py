"""Lexical "more like this" over the search index: BM25 over a paper's distinctive terms.

The lexical implementation of `bot.search.similar.Neighbours`, as Lucene's MoreLikeThis
does it: read the paper's stored title, keywords and abstract, analyse them as the index
does (stemmed), weigh each term by its frequency in the paper times its BM25 idf in the
corpus, keep the `MAX_TERMS` heaviest and ask tantivy for the papers that best match them,
OR-ed, each boosted by its weight (title matches count `TITLE_BOOST` times more, as a
title states what a paper is about). Authors are left out on purpose: "papers like this"
is about the topic, and a shared surname would pull in a team's unrelated work.

tantivy's own `more_like_this_query` reads every stored field of the document (authors
and the JSON metadata included) with no way to leave one out, hence this module.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

import tantivy

__all__ = ["MAX_TERMS", "distinctive_terms", "lexical_neighbours"]

MAX_TERMS = 25
TITLE_BOOST = 2.0
# Title and keyword words count double in the paper's own term frequencies.
TITLE_TF = 2
MIN_TERM_LENGTH = 3
# A term in more than this share of abstracts says little about a topic.
MAX_DF_SHARE = 0.2


def _idf(df: int, docs: int) -> float:
    """BM25's idf: rare terms weigh most; never negative."""
    return math.log(1.0 + (docs - df + 0.5) / (df + 0.5))


def distinctive_terms(
    searcher: Any,
    analyzer: Any,
    *,
    title: str,
    abstract: str,
    keywords: Iterable[str] = (),
    stop: frozenset[str] = frozenset(),
    limit: int = MAX_TERMS,
) -> list[tuple[str, float]]:
    """The paper's `limit` most telling index terms, with weights in (0, 1], heaviest first.

    A term no other paper has (df < 2) finds nothing and is skipped, as are stop words,
    numbers, very short tokens and terms common to more than `MAX_DF_SHARE` of abstracts.
    `stop` holds surface words; they are analysed (stemmed) as the text is.
    """
    stop_terms = {token for word in stop for token in analyzer.analyze(word)}
    counts: Counter[str] = Counter()
    for token in analyzer.analyze(" ".join((title, *keywords))):
        counts[token] += TITLE_TF
    counts.update(analyzer.analyze(abstract))
    docs = max(1, int(searcher.num_docs))
    scored: list[tuple[float, str]] = []
    for term, tf in counts.items():
        if len(term) < MIN_TERM_LENGTH or term in stop_terms or term.isdigit():
            continue
        df = max(int(searcher.doc_freq("abstract", term)), int(searcher.doc_freq("title", term)))
        if df < 2 or df > MAX_DF_SHARE * docs:
            continue
        scored.append(((1.0 + math.log(tf)) * _idf(df, docs), term))
    scored.sort(key=lambda item: (-item[0], item[1]))
    top = scored[:limit]
    if not top:
        return []
    best = top[0][0]
    return [(term, weight / best) for weight, term in top]


def _address_of(searcher: Any, schema: Any, key: int) -> Any | None:
    query = tantivy.Query.term_query(schema, "key", key)
    hits = searcher.search(query, 1, count=False).hits
    return hits[0][1] if hits else None


def lexical_neighbours(
    searcher: Any,
    schema: Any,
    analyzer: Any,
    key: int,
    k: int,
    *,
    stop: frozenset[str] = frozenset(),
) -> list[tuple[int, float]]:
    """Up to `k` (key, score) of the papers most like the indexed paper `key`, best first.

    The paper itself is never among them; an unknown key has no neighbours. Scores are
    BM25 sums, comparable within one list only.
    """
    if k <= 0:
        return []
    address = _address_of(searcher, schema, key)
    if address is None:
        return []
    doc = searcher.doc(address).to_dict()
    terms = distinctive_terms(
        searcher,
        analyzer,
        title=" ".join(str(t) for t in doc.get("title", [])),
        abstract=" ".join(str(a) for a in doc.get("abstract", [])),
        keywords=[str(w) for w in doc.get("keywords", [])],
        stop=stop,
    )
    if not terms:
        return []
    clauses = []
    for term, weight in terms:
        for field, boost in (("abstract", 1.0), ("title", TITLE_BOOST), ("keywords", 1.0)):
            clauses.append(
                (
                    tantivy.Occur.Should,
                    tantivy.Query.boost_query(
                        tantivy.Query.term_query(schema, field, term), boost * weight
                    ),
                )
            )
    query = tantivy.Query.boolean_query(clauses)
    hits = searcher.search(query, k + 1, count=False).hits
    addresses = [address for _, address in hits]
    keys = searcher.fast_field_values("key", addresses)
    found = [
        (int(found_key), float(score))
        for (score, _), found_key in zip(hits, keys, strict=True)
        if found_key is not None and int(found_key) != key
    ]
    return found[:k]
