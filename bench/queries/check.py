"""Check the hand-written quality query sets in bench/queries/ against the corpus.

Rules, per set:
- every set: each line is JSON with "query", "target_id" and "kind"; the target exists;
- descriptions.jsonl: the query shares no 4-word run with its target's title or abstract,
  and uses no *distinctive* word of the target's title. A title word is distinctive when
  fewer than 1% of all corpus titles contain it and it is not a function word (STOPWORDS);
  a query word matching it is only flagged when it is itself that rare. Two words count as
  the same word when one is a prefix of the other (shorter one at least 5 letters) or they
  share their first 7 letters, so "memorizes" is caught against "Memorization";
- authors.jsonl: the "author" field is among the target's authors, and the relevance rule
  (bench/queries/relevance.py) holds for the target;
- topics.jsonl: the relevance rule compiles and marks between 5 and 5,000 corpus papers.

Usage: python bench/queries/check.py [--corpus PATH]   (exit 1 and one line per problem)
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from relevance import TopicIndex, author_matches, grade

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE.parents[2] / "shared" / "corpus" / "papers.jsonl.gz"
WORD = re.compile(r"[a-z0-9]+")
DISTINCTIVE_DF = 0.01
RUN = 4
_FUNCTION_WORDS = """a an the of for in on with without to from by and or not no under over via
first is are be as at into beyond towards toward how what when why can do does its their this
that one two new more less than"""
STOPWORDS = frozenset(_FUNCTION_WORDS.split())


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def same_word(a: str, b: str) -> bool:
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    if len(short) >= 5 and long_.startswith(short):
        return True
    return len(short) >= 7 and a[:7] == b[:7]


def runs(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def load(path: Path) -> list[dict[str, object]]:
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            sys.exit(f"{path.name}:{number}: not JSON: {exc}")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    papers: dict[str, dict[str, object]] = {}
    title_df: Counter[str] = Counter()
    with gzip.open(args.corpus, "rt", encoding="utf-8") as handle:
        for line in handle:
            paper = json.loads(line)
            papers[paper["id"]] = paper
            title_df.update(set(words(paper["title"])))
    n_titles = len(papers)
    topics = TopicIndex(list(papers.values()))
    problems: list[str] = []
    counts: dict[str, int] = {}

    for name in ("descriptions", "titles", "authors", "topics"):
        path = HERE / f"{name}.jsonl"
        rows = load(path)
        counts[name] = len(rows)
        for number, row in enumerate(rows, 1):
            where = f"{path.name}:{number}"
            query = str(row.get("query", ""))
            target = row.get("target_id")
            if not query or "kind" not in row:
                problems.append(f"{where}: needs 'query' and 'kind'")
                continue
            if name == "topics":
                n_rel = len(topics.grades(row))
                if not 5 <= n_rel <= 5000:
                    problems.append(f"{where}: rule marks {n_rel} papers, want 5..5000")
                continue
            paper = papers.get(str(target))
            if paper is None:
                problems.append(f"{where}: target_id {target!r} is not in the corpus")
                continue
            if name == "authors":
                if not author_matches(str(row.get("author", "")), paper):
                    problems.append(f"{where}: {row.get('author')!r} is not an author of {target}")
                elif grade(row, paper) == 0:
                    problems.append(f"{where}: relevance rule does not hold for its target")
            if name != "descriptions":
                continue
            q = words(query)
            source = [*words(str(paper["title"])), "|", *words(str(paper["abstract"] or ""))]
            copied = runs(q, RUN) & runs(source, RUN)
            if copied:
                problems.append(f"{where}: copies from {target}: {sorted(copied)[0]}")
            for t in set(words(str(paper["title"]))):
                if t in STOPWORDS or title_df[t] / n_titles >= DISTINCTIVE_DF:
                    continue
                hits = [
                    w for w in set(q) if same_word(w, t) and title_df[w] / n_titles < DISTINCTIVE_DF
                ]
                if hits:
                    problems.append(f"{where}: uses title word {t!r} (as {hits[0]!r})")
    for problem in problems:
        print(problem)
    summary = ", ".join(f"{k} {v}" for k, v in counts.items())
    print(f"{'FAIL' if problems else 'ok'}: {summary}; {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
