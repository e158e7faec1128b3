"""Parameter types and shared options: text that survives any locale, times, ``--data k=v``, passphrase files."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import click

from .context import Context
from .render.words import t

__all__ = ["DATA", "DATE", "TEXT", "TIME", "json_option", "parse_data", "passphrase_file_option", "recover_text"]

F = TypeVar("F", bound=Callable[..., Any])

_INT = re.compile(r"-?(0|[1-9][0-9]*)")
#: A date as written in Vietnam (day/month/year, with / . or -): answered with the accepted form.
_LOCAL_DATE = re.compile(r"([0-3]?[0-9])[/.-]([01]?[0-9])[/.-]([0-9]{4})")
#: Vietnam's UTC offset (ICT): a time typed without an offset on a computer set to another zone is warned about.
VIETNAM_OFFSET = timedelta(hours=7)


def recover_text(value: str) -> str:
    """Return command-line text as the user typed it, whatever the locale.

    Python decodes ``argv`` with the locale's encoding (surrogate-escaping what does not fit). Under a non-UTF-8
    locale (``LC_ALL=C`` with UTF-8 mode off, Latin-1 …) Vietnamese typed in a UTF-8 terminal arrives as escaped
    bytes or mojibake; the original bytes are recovered with ``os.fsencode`` and decoded as UTF-8 when they are
    UTF-8. Anything else is kept as decoded.

    Raises:
        click.BadParameter: The text holds bytes that are neither UTF-8 nor the locale's encoding.
    """
    try:
        text = os.fsencode(value).decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        text = value
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise click.BadParameter(t("is not valid UTF-8 text"))
    return text


class _Text(click.ParamType[str]):
    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if not isinstance(value, str):
            self.fail(t("expected text, got {value}", value=repr(value)), param, ctx)
        try:
            return recover_text(value)
        except click.BadParameter as e:
            self.fail(e.message, param, ctx)


class _Time(click.ParamType[datetime]):
    name = "time"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            local = _LOCAL_DATE.fullmatch(text)
            if local is not None:
                day, month, year = (int(g) for g in local.groups())
                example = f"{year:04d}-{month:02d}-{day:02d}T08:00:00+07:00"
                self.fail(
                    t(
                        "{value} is a local date: write it as ISO 8601 with a time and an offset, "
                        "e.g. {example} (day {day}, month {month}, year {year}, 08:00 Vietnam time)",
                        value=repr(value),
                        example=example,
                        day=day,
                        month=month,
                        year=year,
                    ),
                    param,
                    ctx,
                )
            self.fail(
                t("{value} is not an ISO 8601 time such as 2024-11-02T07:30:00+07:00", value=repr(value)), param, ctx
            )
        if when.utcoffset() is not None:
            return when
        # A time without an offset is local time, as the user's clock shows it: say so when that is not Vietnam's.
        local_time = when.astimezone()
        if local_time.utcoffset() != VIETNAM_OFFSET:
            click.echo(
                t(
                    "warning: {value} has no UTC offset: it is read as this computer's local time {local}, "
                    "not Vietnam time (+07:00); write e.g. {example} to be sure",
                    value=text,
                    local=local_time.isoformat(),
                    example=when.replace(tzinfo=timezone(VIETNAM_OFFSET)).isoformat(),
                ),
                err=True,
            )
        return local_time


class _Date(click.ParamType[date]):
    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(t("{value} is not a date such as 2024-03-15", value=repr(value)), param, ctx)


class _KeyValue(click.ParamType[tuple[str, object]]):
    name = "key=value"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, object]:
        if isinstance(value, tuple):
            return value
        text = recover_text(str(value))
        key, sep, raw = text.partition("=")
        if not sep or not key:
            self.fail(t("{text} is not key=value", text=repr(text)), param, ctx)
        return key, parse_value(raw)


def parse_value(raw: str) -> str | int | bool:
    """Interpret a ``--data`` value: integers stay integers, ``true``/``false`` are booleans, the rest is text.

    Decimals such as ``12.5`` stay text: the format has no floats (they have no single encoding).
    """
    if _INT.fullmatch(raw) and len(raw) <= 20:
        n = int(raw)
        if -(2**63) <= n < 2**63:
            return n
    if raw in ("true", "false"):
        return raw == "true"
    return raw


def parse_data(items: tuple[tuple[str, object], ...]) -> dict[str, object]:
    """Turn repeated ``--data`` options into a mapping.

    Raises:
        click.BadParameter: A key is given twice.
    """
    out: dict[str, object] = {}
    for key, value in items:
        if key in out:
            raise click.BadParameter(t("{key} is given twice", key=key), param_hint="--data")
        out[key] = value
    return out


TEXT = _Text()
TIME = _Time()
DATE = _Date()
DATA = _KeyValue()


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_object(Context).json = True  # type: ignore[union-attr]


def json_option(f: F) -> F:
    """``--json``: print one JSON document (schema ``ocop.cli/1``) on stdout instead of text."""
    return click.option(
        "--json",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_json,
        help="Print one JSON document (schema ocop.cli/1) on stdout instead of text.",
    )(f)


def passphrase_file_option(f: F) -> F:
    """``--passphrase-file``: read the passphrase from the first line of a file."""
    return click.option(
        "--passphrase-file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Read the key's passphrase from the first line of this file (else OCOP_PASSPHRASE, else a prompt).",
    )(f)


def not_in_future(at: datetime | None, now: datetime, tolerance: timedelta, option: str = "--at") -> datetime:
    """Return ``at`` (or ``now``), refusing a time further in the future than ``tolerance``.

    A verifier rejects events from the future, so signing one would only make a bundle that fails later.

    Raises:
        click.BadParameter: ``at`` is in the future.
    """
    if at is None:
        return now
    if at > now + tolerance:
        raise click.BadParameter(
            t("{at} is in the future (now is {now})", at=at.isoformat(), now=now.isoformat()), param_hint=option
        )
    return at
