"""A learned re-ranker of a description's top blended candidates, scored only by
query-grouped cross-validation, beside the served blend on the same candidates.

For every query of the four sets (bench/queries/) it records, once, what the engine hands to
`ranking.hybrid` (as bench/fusion.py does): the lexical candidates with their scores (up to
`engine.CANDIDATES`), whether the lexical list was cut at its cap, and whether the query is
routed to the dense side (`ranking.wants_dense`). Cosines are exact (numpy over the paper
vectors) for the dense top 100 and every lexical candidate; `ranking.hybrid` orders that
union as the engine does. The blend's first `TOP` candidates of each query then get
features, in groups (for the ablation, `GROUPS`):
- lexical: lexical score / best (the blend's floor for a dense-only paper), log lexical rank,
  present-in-lexical flag;
- dense: cosine, cosine minus the best cosine, log rank of the cosine among the candidates;
- blend: the blend score, log blend rank;
- abstract terms, title terms: IDF-weighted share of the query's content stems present in
  the abstract, in the title (the engine's analyzer: tantivy's simple tokenizer, lower-case,
  ASCII folding, English stemmer; the engine's stopwords; IDF from the index's abstract
  field);
- proximity: IDF-weighted share, and count, of the query's consecutive stem pairs found in
  order within `WINDOW` tokens of the abstract (sequential dependence; the engine's
  description query is a bag of words);
- length: log abstract length in tokens.
Everything here is what the engine could compute at query time from what it holds.

Models (scikit-learn, standardised features): pointwise logistic regression on is-target,
pairwise logistic regression on target-minus-other differences, and (`--boosting`)
pointwise gradient boosting; each over every feature, without the title terms, and without
the title terms and proximity (the description set was written to share no distinctive
title word and no 4-word run of the abstract with its target, bench/queries/README.md, so a
model can learn the writing rule). Every description figure printed for a model comes from
predictions on queries held out of its training: 8-fold query-grouped CV (folds from a
seeded permutation, `--seeds` of them) and leave-one-query-out. Title queries are never
trained on: the few the engine routes to the blend are re-ranked by a model fitted on every
description, and, as a diagnostic, every title query is scored as if routed. Authors and
topics are never routed (printed unchanged).

    python bench/rerank.py --size 20000 --directory /tmp/rerank20k --vectors-from \
        /tmp/q138/all-MiniLM-L6-v2-int8@1.0.0+fa-qa8pc+tok128-138083.npy
    python bench/rerank.py --size 0 --directory /tmp/rerank138

`--directory` holds the engine's index (built if missing) and the vectors as
bench/quality.py caches them; `--vectors-from` takes the corpus-wide cache (row i = corpus
line i) and keeps the sampled rows instead of embedding the sample.
"""

from __future__ import annotations

import itertools
import json
import math
import statistics
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "bench" / "queries"))
import fusion  # noqa: E402
import quality  # noqa: E402
from fusion import metric, sample_arguments  # noqa: E402
from relevance import TopicIndex  # noqa: E402

import bot.search.engine as engine_module  # noqa: E402
from bot.search.ranking import hybrid  # noqa: E402

DENSE_TOP = 100
TOP = 30
WINDOW = 8
GROUPS: dict[str, tuple[str, ...]] = {
    "lexical": ("lex", "lex_logrank", "lex_present"),
    "dense": ("cos", "cos_gap", "cos_logrank"),
    "blend": ("blend", "blend_logrank"),
    "abstract terms": ("cover_abstract",),
    "title terms": ("cover_title",),
    "proximity": ("pairs_share", "pairs_count"),
    "length": ("log_length",),
}
FEATURES: tuple[str, ...] = tuple(f for group in GROUPS.values() for f in group)


def features(
    query: Sequence[str],
    idf: Mapping[str, float],
    lexical: Sequence[tuple[int, float]],
    cosines: Mapping[int, float],
    blended: Sequence[tuple[int, float]],
    texts: Mapping[int, tuple[Sequence[str], Sequence[str]]],
    *,
    truncated: bool,
) -> np.ndarray:
    """One row of `FEATURES` per candidate of `blended[:TOP]`.

    `query`: the query's content stems in order; `idf`: their inverse document frequency;
    `lexical`: the lexical (key, score) list, best first; `cosines`: every candidate's
    cosine (dense top and lexical candidates); `blended`: `ranking.hybrid`'s output;
    `texts`: each candidate's (title stems, abstract stems); `truncated`: the lexical list
    was cut at its cap (a dense-only candidate then gets the last lexical score, as in
    the blend).
    """
    best_lex = max((s for _, s in lexical), default=0.0) or 1.0
    floor = min((s for _, s in lexical), default=0.0) if truncated else 0.0
    given = dict(lexical)
    lex_rank = {k: i for i, (k, _) in enumerate(lexical)}
    ordered = np.sort(np.fromiter(cosines.values(), dtype=np.float64))[::-1]
    best_cos = float(ordered[0]) if len(ordered) else 0.0
    unique = list(dict.fromkeys(query))
    weight = {s: idf.get(s, 0.0) for s in unique}
    total = sum(weight.values()) or 1.0
    pairs = [(a, b) for a, b in itertools.pairwise(query) if a != b]
    pair_total = sum(weight[a] + weight[b] for a, b in pairs) or 1.0
    rows = []
    for rank, (key, score) in enumerate(blended[:TOP]):
        cosine = float(cosines.get(key, 0.0))
        title, abstract = texts.get(key, ((), ()))
        positions: dict[str, list[int]] = {}
        for i, token in enumerate(abstract):
            if token in weight:
                positions.setdefault(token, []).append(i)
        in_title = set(title)
        found = [p for p in pairs if _ordered_near(positions.get(p[0]), positions.get(p[1]))]
        rows.append(
            [
                given.get(key, floor) / best_lex,
                math.log(2 + lex_rank.get(key, len(lexical))),
                float(key in given),
                cosine,
                cosine - best_cos,
                math.log(2 + int(np.searchsorted(-ordered, -cosine, side="left"))),
                score,
                math.log(2 + rank),
                sum(w for s, w in weight.items() if s in positions) / total,
                sum(w for s, w in weight.items() if s in in_title) / total,
                sum(weight[a] + weight[b] for a, b in found) / pair_total,
                math.log1p(len(found)),
                math.log1p(len(abstract)),
            ]
        )
    return np.array(rows, dtype=np.float64).reshape(-1, len(FEATURES))


def _ordered_near(first: list[int] | None, second: list[int] | None) -> bool:
    """Whether some occurrence of the second stem follows one of the first within WINDOW."""
    if not first or not second:
        return False
    return any(0 < b - a <= WINDOW for a in first for b in second)


# Feature groups that the description set's writing rule bends (bench/queries/README.md: no
# distinctive title word, no 4-word run of the abstract): a model may learn the rule.
RULE_BOUND = ("title terms", "proximity")
SAFE = [j for j, f in enumerate(FEATURES) if not any(f in GROUPS[g] for g in RULE_BOUND)]


def capture(index: Any, sets: dict[str, list[dict[str, Any]]]) -> dict[str, list]:
    """Per query: (lexical [(key, score)], truncated?, routed?), as the engine computes them."""
    return fusion.capture(
        index,
        sets,
        lambda text, k, among: [(0, 1.0)],
        lambda lexical, dense, kw: (list(lexical), bool(kw.get("truncated")), bool(dense)),
    )


def vectors_for(rows: list[dict[str, Any]], directory: Path, source: Path | None) -> Any:
    """The encoder and the sample's vectors; the sample's rows of `source` if given."""
    if source is not None:
        from bot.search.embedder import model_key
        from bot.search.embedding import DEFAULT_MAX_TOKENS, OnnxEncoder

        encoder = OnnxEncoder(max_tokens=DEFAULT_MAX_TOKENS, threads=1, quantized=True)
        cached = directory / (model_key(encoder).replace("/", "_") + f"-{len(rows)}.npy")
        if not cached.exists():
            corpus = quality.load_rows(ROOT.parent / "shared/corpus/papers.jsonl.gz")
            line = {str(r["id"]): i for i, r in reversed(list(enumerate(corpus)))}
            assert len(line) == len(corpus), "corpus ids are not unique"
            every = np.load(source, mmap_mode="r")
            assert every.shape[0] == len(corpus)
            np.save(cached, np.asarray(every[[line[str(r["id"])] for r in rows]]))
    encoder, vectors, _ = quality.embed_rows(rows, directory)
    return encoder, vectors


class Terms:
    """Stems as the engine indexes them; IDF from the index's abstract field."""

    def __init__(self, index: Any, rows: list[dict[str, Any]]) -> None:
        self.stem = engine_module._text_analyzer(stem=True)
        self.words = engine_module._text_analyzer(stem=False)
        self.searcher = index._searcher
        self.rows = rows
        self.texts: dict[int, tuple[list[str], list[str]]] = {}

    def idf(self, stems: Sequence[str]) -> dict[str, float]:
        n = self.searcher.num_docs
        return {
            s: math.log(1 + (n - (d := self.searcher.doc_freq("abstract", s)) + 0.5) / (d + 0.5))
            for s in set(stems)
        }

    def query(self, text: str) -> list[str]:
        """Content stems in query order (stopwords dropped as the engine drops them)."""
        out = []
        for word in self.words.analyze(text):
            if word not in engine_module.STOPWORDS:
                out.extend(self.stem.analyze(word)[:1])
        return out

    def text(self, key: int) -> tuple[list[str], list[str]]:
        if key not in self.texts:
            row = self.rows[key]
            self.texts[key] = (
                self.stem.analyze(row["title"]),
                self.stem.analyze(row.get("abstract") or ""),
            )
        return self.texts[key]


def candidates(
    captured: tuple[list[tuple[int, float]], bool, bool],
    qvec: np.ndarray,
    vectors: np.ndarray,
    stems: list[str],
    terms: Terms,
) -> tuple[list[int], np.ndarray]:
    """The blend's ranking of the union, and the features of its first `TOP` candidates."""
    lex, truncated, _ = captured
    cos = vectors @ qvec
    nearest = np.argpartition(-cos, DENSE_TOP)[:DENSE_TOP]
    pool = list(dict.fromkeys([*nearest.tolist(), *(k for k, _ in lex)]))
    cosines = {k: float(cos[k]) for k in pool}
    blended = hybrid(lex, list(cosines.items()), truncated=truncated)
    texts = {k: terms.text(k) for k, _ in blended[:TOP]}
    x = features(stems, terms.idf(stems), lex, cosines, blended, texts, truncated=truncated)
    return [k for k, _ in blended], x


def folds(n: int, k: int, seed: int) -> list[list[int]]:
    order = np.random.RandomState(seed).permutation(n)
    return [sorted(order[i::k].tolist()) for i in range(k)]


def fit(kind: str, train: list[tuple[np.ndarray, np.ndarray]]) -> Any:
    """A model of `kind` fitted on (features, is-target) groups: rows -> scores."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    if kind == "weighted":
        return _weighted(train)
    x = np.vstack([f for f, _ in train])
    y = np.concatenate([t for _, t in train])
    scaler = StandardScaler().fit(x)
    if kind == "pointwise":
        model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)
        model.fit(scaler.transform(x), y)
        return lambda test: model.decision_function(scaler.transform(test))
    if kind == "pairwise":
        diffs = []
        for f, t in train:
            if t.any():
                z = scaler.transform(f)
                diffs.append(z[t == 1][0] - z[t == 0])
        d = np.vstack(diffs)
        xs, ys = np.vstack([d, -d]), np.r_[np.ones(len(d)), np.zeros(len(d))]
        model = LogisticRegression(C=1.0, fit_intercept=False, max_iter=2000)
        coef = model.fit(xs, ys).coef_[0]
        return lambda test: scaler.transform(test) @ coef
    model = HistGradientBoostingClassifier(
        max_depth=3, max_iter=150, learning_rate=0.05, class_weight="balanced", random_state=0
    )
    model.fit(x, y)
    return lambda test: model.predict_proba(test)[:, 1]


def _weighted(train: list[tuple[np.ndarray, np.ndarray]]) -> Any:
    """Columns (blend score, abstract share): blend + w * share, w from a grid, the one with
    the best MRR@5 over the training queries (the smallest among ties)."""

    def mrr(w: float) -> float:
        total = 0.0
        for x, t in train:
            if t.any():
                order = np.argsort(-(x[:, 0] + w * x[:, 1]), kind="stable")
                rank = int(np.flatnonzero(t[order])[0])
                total += 1.0 / (rank + 1) if rank < 5 else 0.0
        return total

    best = max(WEIGHTS, key=lambda w: (mrr(w), -w))
    return lambda test: test[:, 0] + best * test[:, 1]


WEIGHTS = [round(0.05 * i, 2) for i in range(21)]


def cross_validated(
    data: list[tuple[np.ndarray, np.ndarray, list[int]]],
    kind: str,
    columns: list[int],
    split: list[list[int]],
) -> list[list[int]]:
    """Per query, the ranking re-ordered by a model that never saw that query."""
    out: list[list[int]] = [[] for _ in data]
    for held in split:
        train = [(data[i][0][:, columns], data[i][1]) for i in range(len(data)) if i not in held]
        model = fit(kind, train)
        for i in held:
            x, _, ranking = data[i]
            out[i] = reorder(ranking, model(x[:, columns]))
    return out


def known(rankings: list[list[int]], targets: list[int]) -> tuple[float, float, int]:
    pairs = [
        quality.known_item(r, lambda k, t=t: k == t) for r, t in zip(rankings, targets, strict=True)
    ]
    mrr, hit = statistics.fmean(p[0] for p in pairs), statistics.fmean(p[1] for p in pairs)
    return mrr, hit, sum(int(p[1]) for p in pairs)


def scored(
    data: list[tuple[np.ndarray, np.ndarray, list[int]]], kind: str, columns: list[int]
) -> Any:
    """A model of `kind` fitted on every query (for the queries no model was trained on)."""
    model = fit(kind, [(x[:, columns], t) for x, t, _ in data])
    return lambda x: model(x[:, columns])


def reorder(ranking: list[int], scores: np.ndarray) -> list[int]:
    order = np.argsort(-scores, kind="stable")
    return [ranking[j] for j in order] + ranking[len(scores) :]


def coefficients(data: list[tuple[np.ndarray, np.ndarray, list[int]]], columns: list[int]) -> Any:
    """The pairwise model fitted on every query, in raw feature units (to ship, not score)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x = np.vstack([d[0][:, columns] for d in data])
    scaler = StandardScaler().fit(x)
    diffs = [
        scaler.transform(f[:, columns])[t == 1][0] - scaler.transform(f[:, columns])[t == 0]
        for f, t, _ in data
        if t.any()
    ]
    d = np.vstack(diffs)
    model = LogisticRegression(C=1.0, fit_intercept=False, max_iter=2000)
    coef = model.fit(np.vstack([d, -d]), np.r_[np.ones(len(d)), np.zeros(len(d))]).coef_[0]
    names = [FEATURES[j] for j in columns]
    return {
        "standardised": dict(zip(names, np.round(coef, 4).tolist(), strict=True)),
        "raw": dict(zip(names, (coef / scaler.scale_).tolist(), strict=True)),
    }


def main() -> int:
    parser = sample_arguments((__doc__ or "").splitlines()[0])
    parser.add_argument("--vectors-from", type=Path, help="corpus-wide vectors (.npy)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--boosting", action="store_true", help="also gradient boosting")
    parser.add_argument("--variant", nargs="*", help="only these model variants (by name)")
    parser.add_argument("--no-ablation", dest="ablation", action="store_false")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sets = quality.load_sets()
    rows = quality.sample(quality.load_rows(args.corpus), args.size, sets)
    by_id = {str(r["id"]): i for i, r in enumerate(rows)}
    args.directory.mkdir(parents=True, exist_ok=True)
    index, _ = quality.open_engine(rows, args.directory)
    captured = capture(index, sets)
    topics = TopicIndex(rows)
    ctx = {
        "rows": rows,
        "by_id": by_id,
        "grades": [{by_id[k]: g for k, g in topics.grades(r).items()} for r in sets["topics"]],
    }
    encoder, vectors = vectors_for(rows, args.directory, args.vectors_from)
    terms = Terms(index, rows)
    print(f"{len(rows):,} papers; vectors {vectors.shape}", flush=True)
    prepared: dict[str, list[tuple[np.ndarray, np.ndarray, list[int]]]] = {}
    for name in ("descriptions", "titles"):
        qs = sets[name]
        qvecs = encoder.encode([q["query"] for q in qs])
        prepared[name] = []
        for i, q in enumerate(qs):
            ranking, x = candidates(
                captured[name][i], qvecs[i], vectors, terms.query(q["query"]), terms
            )
            target = by_id[str(q["target_id"])]
            prepared[name].append(
                (x, np.array([float(k == target) for k in ranking[:TOP]]), ranking)
            )
    data = prepared["descriptions"]
    assert all(c[2] for c in captured["descriptions"]), "a description was not routed"
    targets = [by_id[str(q["target_id"])] for q in sets["descriptions"]]
    lexical = [[k for k, _ in c[0]] for c in captured["descriptions"]]
    in_top = sum(int(d[1].any()) for d in data)
    report: dict[str, Any] = {
        "papers": len(rows),
        "lexical": known(lexical, targets),
        "blend": known([d[2] for d in data], targets),
        "target in blend top": in_top,
    }
    print(f"descriptions: the target is among the blend's top {TOP} for {in_top} of 64")
    print(f"lexical {_fmt(report['lexical'])}")
    print(f"blend (ranking.hybrid, exact cosines) {_fmt(report['blend'])}")
    n = len(data)
    splits = {f"8-fold seed {s}": folds(n, 8, s) for s in range(args.seeds)}
    splits["leave-one-query-out"] = [[i] for i in range(n)]
    kinds = ["pointwise", "pairwise", *(["boosting"] if args.boosting else [])]
    variants = {
        "all features": (list(range(len(FEATURES))), kinds),
        "without title terms": (
            [j for j in range(len(FEATURES)) if FEATURES[j] != "cover_title"],
            kinds,
        ),
        "without title terms, proximity": (SAFE, kinds),
        # One weight instead of a model: the blend plus the abstract's share of the query.
        "blend + w x abstract share": (
            [FEATURES.index("blend"), FEATURES.index("cover_abstract")],
            ["weighted"],
        ),
    }
    variants = {k: v for k, v in variants.items() if not args.variant or k in args.variant}
    for variant, (columns, chosen) in variants.items():
        for kind in chosen:
            for label, split in splits.items():
                if kind == "boosting" and label == "leave-one-query-out":
                    continue
                result = known(cross_validated(data, kind, columns, split), targets)
                report[f"{variant}, {kind}, {label}"] = result
                print(f"{variant}, {kind}, {label}: {_fmt(result)}", flush=True)
    for variant, (base, chosen) in variants.items() if args.ablation else ():
        for kind in [k for k in chosen if k in ("pointwise", "pairwise")]:
            for group, names in GROUPS.items():
                columns = [j for j in base if FEATURES[j] not in names]
                if columns == base:
                    continue
                result = known(
                    cross_validated(data, kind, columns, splits["8-fold seed 0"]), targets
                )
                report[f"{variant}, {kind} without {group}, 8-fold seed 0"] = result
                print(
                    f"{variant}, {kind} without {group} (8-fold seed 0): {_fmt(result)}", flush=True
                )
    # Title queries: never trained on. Routed ones are what the engine would re-rank; the
    # rest are scored as if routed, to see what the model does to a remembered title.
    title_targets = [by_id[str(q["target_id"])] for q in sets["titles"]]
    routed = [i for i, c in enumerate(captured["titles"]) if c[2]]
    served = [[k for k, _ in c[0]] for c in captured["titles"]]
    report["titles served"] = known(served, title_targets)
    print(f"titles: {len(routed)} of 66 routed; served {_fmt(report['titles served'])}")
    for variant, (columns, chosen) in variants.items():
        model = scored(data, chosen[-1] if chosen[-1] == "weighted" else "pairwise", columns)
        reranked = [
            reorder(prepared["titles"][i][2], model(prepared["titles"][i][0])) if i in routed else r
            for i, r in enumerate(served)
        ]
        every = [reorder(d[2], model(d[0])) for d in prepared["titles"]]
        report[f"titles, {variant}, routed re-ranked"] = known(reranked, title_targets)
        report[f"titles, {variant}, all as if routed: blend"] = known(
            [d[2] for d in prepared["titles"]], title_targets
        )
        report[f"titles, {variant}, all as if routed: re-ranked"] = known(every, title_targets)
        for key in ("routed re-ranked", "all as if routed: blend", "all as if routed: re-ranked"):
            print(f"titles, {variant}, {key}: {_fmt(report[f'titles, {variant}, {key}'])}")
    for name in ("authors", "topics"):
        count = sum(c[2] for c in captured[name])
        ranked = [[k for k, _ in c[0]] for c in captured[name]]
        pairs = [
            metric(name, r, q, ctx, i)
            for i, (r, q) in enumerate(zip(ranked, sets[name], strict=True))
        ]
        means = [statistics.fmean(p[j] for p in pairs) for j in (0, 1)]
        report[name] = [count, *means]
        print(
            f"{name}: {count} of {len(pairs)} routed (unchanged); {means[0]:.3f} / {means[1]:.3f}"
        )
    for variant, (columns, chosen) in variants.items():
        if "pairwise" not in chosen:
            continue
        report[f"coefficients, {variant}"] = coefficients(data, columns)
        print(f"pairwise, {variant}, fitted on all 64 (standardised; not a quality figure):")
        print(json.dumps(report[f"coefficients, {variant}"]["standardised"]))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _fmt(result: tuple[float, float, int]) -> str:
    return f"{result[0]:.3f} / {result[1]:.3f} ({result[2]} in the top 5)"


if __name__ == "__main__":
    raise SystemExit(main())
