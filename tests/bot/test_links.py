"""Paper links in message text: every supported site, Slack's link form, and never raising."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.links import LinkKind, PaperLink, find_paper_links, parse_paper_link

ACL_SITE = "https://aclanthology.org/"
A, C, R = LinkKind.ARXIV, LinkKind.ACL, LinkKind.OPENREVIEW
CASES = [
    ("https://arxiv.org/abs/2410.17243", A, "2410.17243", "arxiv", None),
    ("https://arxiv.org/abs/2410.17243v2", A, "2410.17243", "arxiv", 2),
    ("http://arxiv.org/pdf/2410.17243v1.pdf", A, "2410.17243", "arxiv", 1),
    ("https://arxiv.org/pdf/2410.17243", A, "2410.17243", "arxiv", None),
    ("https://arxiv.org/html/2410.17243v3", A, "2410.17243", "arxiv", 3),
    ("https://www.arxiv.org/abs/1706.03762", A, "1706.03762", "arxiv", None),
    ("http://export.arxiv.org/abs/hep-th/9901001v2", A, "hep-th/9901001", "arxiv", 2),
    ("arxiv.org/abs/math.GT/0309136", A, "math.GT/0309136", "arxiv", None),
    ("see arXiv:2301.00234 for details", A, "2301.00234", "arxiv", None),
    ("https://huggingface.co/papers/2501.01234", A, "2501.01234", "huggingface", None),
    ("https://hf.co/papers/2501.01234", A, "2501.01234", "huggingface", None),
    ("https://www.alphaxiv.org/abs/2402.12345v1", A, "2402.12345", "alphaxiv", 1),
    ("https://alphaxiv.org/overview/2402.12345", A, "2402.12345", "alphaxiv", None),
    (f"{ACL_SITE}2023.acl-long.123/", C, "2023.acl-long.123", "aclanthology", None),
    (f"{ACL_SITE}2023.acl-long.123.pdf", C, "2023.acl-long.123", "aclanthology", None),
    (f"{ACL_SITE}2020.findings-emnlp.1", C, "2020.findings-emnlp.1", "aclanthology", None),
    (f"{ACL_SITE}P19-1001.pdf", C, "P19-1001", "aclanthology", None),
    ("https://www.aclweb.org/anthology/W18-5446", C, "W18-5446", "aclanthology", None),
    ("https://openreview.net/forum?id=abcDEF_12-x", R, "abcDEF_12-x", "openreview", None),
    ("https://openreview.net/forum?id=ryQu7f-RZ&noteId=xyz", R, "ryQu7f-RZ", "openreview", None),
    ("https://openreview.net/pdf?id=ryQu7f-RZ", R, "ryQu7f-RZ", "openreview", None),
    ("https://openreview.net/forum?noteId=q&id=ryQu7f-RZ", R, "ryQu7f-RZ", "openreview", None),
    ("<https://arxiv.org/abs/2410.17243|Attention paper>", A, "2410.17243", "arxiv", None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "kind", "paper_id", "site", "version"), CASES)
def test_each_site_and_form(
    text: str, kind: LinkKind, paper_id: str, site: str, version: int | None
) -> None:
    expected = PaperLink(kind, paper_id, site, version)
    assert find_paper_links(text) == [expected]
    assert parse_paper_link(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "https://notarxiv.org/abs/2410.17243",
        "https://arxiv.org/abs/2410.172431",  # six digits after the dot: no such id
        "https://arxiv.org/list/cs.CL/recent",
        f"{ACL_SITE}2023.acl-long/",  # a volume, not a paper
        f"{ACL_SITE}events/acl-2023/",
        "https://openreview.net/group?id=ICLR.cc/2025/Conference",
        "https://huggingface.co/papers",
        "the year 2410.17243 was odd",  # no link, no arXiv: prefix
    ],
)
def test_non_paper_links_are_ignored(text: str) -> None:
    assert find_paper_links(text) == []


def test_order_and_dedupe_across_sites() -> None:
    text = (
        "first https://huggingface.co/papers/2501.01234 then "
        "https://arxiv.org/pdf/2501.01234v2 (same paper) and "
        "https://openreview.net/forum?id=ryQu7f-RZ and https://aclanthology.org/P19-1001"
    )
    links = find_paper_links(text)
    assert [(link.kind, link.id, link.site) for link in links] == [
        (LinkKind.ARXIV, "2501.01234", "huggingface"),
        (LinkKind.OPENREVIEW, "ryQu7f-RZ", "openreview"),
        (LinkKind.ACL, "P19-1001", "aclanthology"),
    ]
    assert [link.paper_id for link in links] == ["2501.01234", None, "P19-1001"]


def test_bare_ids_and_canonical_urls() -> None:
    assert parse_paper_link("2410.17243v3") == PaperLink(LinkKind.ARXIV, "2410.17243", "arxiv", 3)
    assert parse_paper_link("hep-th/9901001") == PaperLink(
        LinkKind.ARXIV, "hep-th/9901001", "arxiv"
    )
    assert parse_paper_link("not a paper") is None
    assert parse_paper_link("2410.17243").url == "https://arxiv.org/abs/2410.17243"  # type: ignore[union-attr]


@given(st.text())
def test_never_raises_on_any_text(text: str) -> None:
    for link in find_paper_links(text):
        assert link.id
    parse_paper_link(text)


new_ids = st.from_regex(r"[0-9]{4}\.[0-9]{4,5}", fullmatch=True)
old_ids = st.from_regex(r"(hep-th|math|cs|astro-ph|cond-mat)/[0-9]{7}", fullmatch=True)
acl_ids = st.from_regex(
    r"20[0-9]{2}\.(acl|emnlp|findings-emnlp)-(long|short|main)\.[1-9][0-9]{0,3}"
    r"|[A-Z][0-9]{2}-[0-9]{4}",
    fullmatch=True,
)
ACL = "aclanthology.org/{id}"
acl_forms = [f"https://{ACL}", f"https://{ACL}.pdf", f"{ACL}/"]
or_forms = ["https://openreview.net/forum?id={id}", "https://openreview.net/pdf?id={id}&x=1"]
or_ids = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_\-]{6,20}[A-Za-z0-9]", fullmatch=True)
arxiv_forms = [
    "https://arxiv.org/abs/{id}",
    "https://arxiv.org/abs/{id}v{v}",
    "https://arxiv.org/pdf/{id}v{v}.pdf",
    "https://arxiv.org/html/{id}",
    "https://huggingface.co/papers/{id}",
    "https://www.alphaxiv.org/abs/{id}",
    "arXiv:{id}",
]
noise = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


@given(
    st.one_of(
        st.tuples(st.just(LinkKind.ARXIV), new_ids | old_ids, st.sampled_from(arxiv_forms)),
        st.tuples(st.just(LinkKind.ACL), acl_ids, st.sampled_from(acl_forms)),
        st.tuples(st.just(LinkKind.OPENREVIEW), or_ids, st.sampled_from(or_forms)),
    ),
    st.integers(1, 9),
    noise,
    noise,
)
def test_round_trip_in_noise(
    case: tuple[LinkKind, str, str], version: int, before: str, after: str
) -> None:
    kind, paper_id, form = case
    url = form.format(id=paper_id, v=version)
    found = find_paper_links(f"{before} {url} {after}")
    assert any(link.kind is kind and link.id == paper_id for link in found), (url, found)
    link = next(link for link in found if link.id == paper_id)
    # The canonical URL names the same paper again.
    again = parse_paper_link(link.url)
    assert again is not None and (again.kind, again.id) == (kind, paper_id)
