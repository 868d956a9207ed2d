"""The help text every platform shows for `/papers help`, empty input or an unknown verb."""

HELP_TEXT = """\
*papers-bot* finds and follows research papers.

`/papers search QUERY` — fuzzy search over titles, authors, keywords and abstracts.
   Typos and partial words are fine. Also: `"exact phrase"`, `author:Hinton`, `since:2024-01-01`.
`/papers trending [N]` — the N hottest papers of the last days (default 5, at most 25).
`/papers subscribe [HH:MM] [TIMEZONE] [keywords, …]` — a daily digest of trending papers
   in this channel, e.g. `/papers subscribe 09:00 Europe/Berlin diffusion, speech`.
   Options: `days=mon-fri|daily|mon,wed`, `top=N` (1–10), `min=N` (minimum upvotes).
   Run it again to change the digest: it changes only what you give and keeps the rest;
   `keywords=none` drops the keywords.
`/papers subscribe weekly [DAY] [HH:MM] [TIMEZONE] [keywords, …]` — the top papers of the
   past 7 days, once a week, e.g. `/papers subscribe weekly fri 16:00 Europe/Berlin`
   (default Monday); `subscribe daily` switches back.
`/papers unsubscribe` — stop this channel's digest.
`/papers subscriptions` — show this channel's digest settings and its next run.
`/papers follow author NAME` — post new papers by an author here, e.g.
   `/papers follow author "Yann LeCun"` (initials, accents and "Last, First" are fine). A name
   several people share lists them: pick one with `follow author "Yi Wang" #2`.
`/papers alert QUERY` — post new papers matching a search here (the `search` syntax).
`/papers following` — this channel's alerts, numbered; `/papers unfollow N` removes one.
`/papers save ID|URL` — put a paper on this channel's reading list (or press Save on a card).
`/papers list` — the reading list; `list done N`, `list remove N`, `list assign N @someone`,
   `list export bibtex` (a .bib file of the whole list).
`/papers cite ID|URL` — BibTeX for one paper.
`/papers similar ID|URL|title` — papers like this one (or press More like this on a card).
👍 / 👎 on a card (or a :+1: / :-1: reaction on a digest) — teach this channel's digest what
   it likes; after a few votes it ranks by the channel's taste, says why it picked each paper
   and keeps one slot in five for something different. Your vote is never shown to others.
`/papers taste` — what the channel likes and dislikes, its vote counts and since when;
   `taste reset` forgets every vote, `taste off` returns to plain trending, `taste on`.
`/papers help` — this message.
"""
