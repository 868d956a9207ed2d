"""The in-memory twin of `storage.merge_follow`: a merged-away paper's rows move to the
surviving paper, combined by the same `bot.merge_rules` where a channel had both."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from bot.merge_rules import (
    follow_keys,
    follow_notes,
    keep_alert_item,
    keep_first_share,
    keep_saved,
    keep_vote,
)
from bot.models import SavedPaper, SavedStatus
from bot.testing.fake_repositories import FakeState


def follow_merge(state: FakeState, old: int, new: int) -> None:
    """Re-point everything in `state` that names paper `old` at paper `new`."""
    moves = {old: new}
    for sent in state.sent.values():
        if old in sent:
            sent.discard(old)
            sent.add(new)
    for channel_key, entries in state.saved.items():
        state.saved[channel_key] = _follow_saved(entries, old, new)
    for (channel_key, key), share in list(state.shares.items()):
        if key == old:
            del state.shares[(channel_key, key)]
            kept = state.shares.get((channel_key, new))
            values = keep_first_share(asdict(share), asdict(kept)) if kept else {}
            state.shares[(channel_key, new)] = replace(kept or share, paper_key=new, **values)
    for (channel_key, key, user), vote in list(state.votes.items()):
        if key == old:
            del state.votes[(channel_key, key, user)]
            voted = state.votes.get((channel_key, new, user))
            values = keep_vote(asdict(vote), asdict(voted)) if voted else {}
            state.votes[(channel_key, new, user)] = replace(voted or vote, paper_key=new, **values)
    for (channel_key, key), (delivery_id, position, alerts) in list(state.alert_items.items()):
        if key == old:
            del state.alert_items[(channel_key, key)]
            item: dict[str, Any] = {
                "delivery_id": delivery_id,
                "position": position,
                "alerts": alerts,
            }
            other = state.alert_items.get((channel_key, new))
            if other is not None:
                names = ("delivery_id", "position", "alerts")
                item = keep_alert_item(item, dict(zip(names, other, strict=True)))
            state.alert_items[(channel_key, new)] = (
                item["delivery_id"],
                item["position"],
                tuple(item["alerts"]),
            )
    for model, key in [k for k in state.vectors if k[1] == old]:
        vector = state.vectors.pop((model, key))
        state.vectors.setdefault((model, new), vector)
    for delivery_id, delivery in state.deliveries.items():
        if old in delivery.paper_keys:
            keys = tuple(follow_keys(delivery.paper_keys, moves))
            state.deliveries[delivery_id] = replace(delivery, paper_keys=keys)
        if delivery_id in state.delivery_notes:
            notes = follow_notes(state.delivery_notes[delivery_id], moves)
            state.delivery_notes[delivery_id] = notes
    for batch_id, (batch, planned) in state.alert_batches.items():
        # A planned batch's keys are never read again (storage.merge_follow skips them).
        if not planned and old in batch.paper_keys:
            keys = tuple(follow_keys(batch.paper_keys, moves))
            state.alert_batches[batch_id] = (replace(batch, paper_keys=keys), planned)


def _follow_saved(entries: list[SavedPaper], old: int, new: int) -> list[SavedPaper]:
    gone = next((e for e in entries if e.paper_key == old), None)
    if gone is None:
        return entries
    kept = next((e for e in entries if e.paper_key == new), None)
    if kept is None:
        return [replace(e, paper_key=new) if e is gone else e for e in entries]
    values: dict[str, Any] = keep_saved(asdict(gone), asdict(kept))
    values["status"] = SavedStatus(values["status"])
    merged = replace(kept, **values)
    # Listed in save order: the entry sits where the earlier save sat (on a tie, the
    # surviving paper's, as `keep_saved` chooses).
    earlier, later = (gone, kept) if gone.saved_at < kept.saved_at else (kept, gone)
    return [merged if e is earlier else e for e in entries if e is not later]
