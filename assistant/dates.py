"""Dates: the one helper for UTC timestamps, ISO dates and the yyyymmdd integers that index
payloads use for validity in time."""

from __future__ import annotations

import datetime as dt

from assistant.errors import QueryError

# valid_until of a text with no end date: later than any real date
FAR_FUTURE = 99991231


def utc_now() -> str:
    """Now, in UTC, ISO 8601 with the offset ("2026-11-23T12:00:00+00:00"): every stored timestamp."""
    return utc_iso(dt.datetime.now(dt.UTC))


def utc_iso(moment: dt.datetime) -> str:
    """An aware datetime as utc_now writes it (for a caller that also needs the instant itself)."""
    if moment.tzinfo is None:
        raise ValueError("utc_iso needs an aware datetime: a naive one would be stored as local time")
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def date_int(value: dt.date) -> int:
    """2026-01-15 -> 20260115 (payload fields valid_from / valid_until, filter in_force_on)."""
    return value.year * 10000 + value.month * 100 + value.day


def optional_date_int(value: dt.date | None) -> int | None:
    return date_int(value) if value else None


def parse_date(value: str | dt.date | None) -> dt.date:
    """A question's validity date: today when not given; a clear error for anything not YYYY-MM-DD."""
    if value is None or value == "":
        return dt.date.today()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise QueryError(f"invalid date {value!r}: use YYYY-MM-DD, e.g. 2026-01-15") from exc
