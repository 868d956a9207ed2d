"""Papers for the "More like this" adapter tests: one work stored twice (an arXiv preprint
and its ACL Anthology version), two papers on the same topic and one far from it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.models import PaperRecord
from runtime.core import Core

AUTHORS = ("Yusuke Fujita", "Naoyuki Kanda", "Shota Horiguchi")
TITLE = "End-to-End Neural Speaker Diarization with Permutation-Free Objectives"
ARXIV_ID = "1909.05952"
ACL_ID = "2020.acl-main.999"
NEIGHBOURS = (
    "Self-Attentive End-to-End Neural Speaker Diarization",
    "Online Speaker Diarization with Overlap-Aware Clustering",
)
UNRELATED = "Protein Structure Prediction with Equivariant Graph Networks"

_ABSTRACT = (
    "Speaker diarization determines who spoke when in a recording with several speakers. "
    "We train an end-to-end neural diarization network with a permutation-free loss on "
    "overlapping speech, without clustering of speaker embeddings."
)


def records() -> list[PaperRecord]:
    def paper(title: str, paper_id: str, abstract: str, authors: tuple[str, ...]) -> PaperRecord:
        return PaperRecord(
            title=title,
            source="test",
            paper_id=paper_id,
            abstract=abstract,
            authors=authors,
            published=date(2020, 1, 1),
        )

    return [
        paper(TITLE, ARXIV_ID, _ABSTRACT, AUTHORS),
        paper(TITLE, ACL_ID, _ABSTRACT, AUTHORS),
        paper(
            NEIGHBOURS[0],
            "1909.06247",
            "Self-attention replaces recurrence in end-to-end neural speaker diarization; "
            "the network handles overlapping speech of several speakers without clustering.",
            ("Alice Example",),
        ),
        paper(
            NEIGHBOURS[1],
            "2101.00001",
            "An online speaker diarization system clusters speaker embeddings and detects "
            "overlapping speech in long recordings of meetings.",
            ("Bob Example",),
        ),
        paper(
            UNRELATED,
            "2102.00002",
            "Equivariant graph networks predict protein structure from amino acid sequences.",
            ("Carol Example",),
        ),
    ]


def add_similar_papers(core: Core) -> None:
    """Store the papers and bring the search index up to date."""
    with core.db.uow() as uow:
        uow.papers.upsert_many(records(), seen_at=datetime.now(UTC))
    core.refresh_index()
