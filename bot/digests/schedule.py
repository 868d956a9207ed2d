"""When a subscription's next digest is due, computed with APScheduler's `CronTrigger`.

The trigger works in the subscription's own IANA timezone, so 09:00 Europe/Berlin is
08:00Z in winter and 07:00Z in summer, and days skipped or repeated by DST are handled.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.models import SubscriptionSpec, Weekday

_ONE_SECOND = timedelta(seconds=1)
_CRON_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@lru_cache(maxsize=4096)
def trigger_for(at: time, timezone: str, weekdays: tuple[Weekday, ...]) -> CronTrigger:
    """The cron trigger of a schedule. Cached: building one costs about a millisecond and
    a fan-out asks for thousands of identical ones; `get_next_fire_time` keeps no state."""
    days = ",".join(_CRON_DAYS[d] for d in sorted(set(weekdays))) or "*"
    return CronTrigger(
        day_of_week=days, hour=at.hour, minute=at.minute, second=0, timezone=ZoneInfo(timezone)
    )


def next_run_after(spec: SubscriptionSpec, after: datetime) -> datetime:
    """The first fire time strictly after `after`, in UTC."""
    trigger = trigger_for(spec.at, spec.timezone, spec.weekdays)
    fire: datetime | None = trigger.get_next_fire_time(None, after.astimezone(UTC))
    if fire is not None and fire <= after:
        fire = trigger.get_next_fire_time(fire, fire.replace(microsecond=0) + _ONE_SECOND)
    if fire is None:
        raise ValueError(f"schedule {spec.at} {spec.timezone} never fires")
    return fire.astimezone(UTC)


def local_date(moment: datetime, timezone: str) -> date:
    """The calendar date at `moment` in `timezone`: a digest's identity in the ledger."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def local_day_end(day: date, timezone: str) -> datetime:
    """The UTC instant at which `day` ends in `timezone` (its next local midnight)."""
    return datetime.combine(day + timedelta(days=1), time(0, 0), ZoneInfo(timezone)).astimezone(UTC)
