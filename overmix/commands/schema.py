"""The machinery of the option schema: what an option is (:class:`Option`), how a value is
checked against it (:func:`check_value`) and turned into command-line words
(:func:`options_argv`). The table of options itself is :mod:`overmix.commands.options`.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from overmix.errors import UsageError

__all__ = ["Choice", "Option", "Refuse", "check_value", "choice", "finite_float",
           "options_argv"]


class Choice(str, Enum):
    """A mode chosen by name: equal to, hashed, printed and serialised as its value."""

    __str__ = str.__str__
    __format__ = str.__format__
    __hash__ = str.__hash__

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(m.value for m in cls)


def choice(name: str, values: Iterable[str]) -> Any:
    return Choice(name, {v.upper().replace("-", "_"): v for v in values})  # type: ignore[call-overload]


def finite_float(word: str) -> float:
    """A float option's word: ``nan`` and ``inf`` are refused by argparse (exit 2), never
    values."""
    try:
        value = float(word)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {word!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{word!r} is not a finite number")
    return value


@dataclass(frozen=True)
class Option:
    """One option: its keyword ``name`` (dataclass field, argparse dest) and everything else.

    ``kind`` converts a command-line word: ``str``, ``int``, ``float``, ``bool`` (a switch
    without a value), or a :class:`Choice` enum. ``low``/``high`` bound numbers (``low_open``:
    strictly above ``low``); ``values`` lists allowed non-enum values; ``parse`` validates and
    normalises what the other fields cannot say (after parsing: a usage error, exit 2);
    ``word`` is argparse's ``type`` for a value argparse itself must refuse. ``flag`` defaults
    to ``--name-with-dashes``;
    ``""`` makes the option API-only. ``path``: ``"in"`` / ``"out"`` for file options (batch
    resolves them). ``helps`` gives a command its own help where the option's meaning there
    differs in detail.
    """

    name: str
    help: str
    kind: Any = str
    default: Any = None
    flag: str | None = None
    short: str | None = None
    metavar: str | None = None
    values: tuple[Any, ...] = ()
    low: float | None = None
    low_open: bool = False
    high: float | None = None
    parse: Callable[[Any], Any] | None = None
    word: Callable[[str], Any] | None = None
    path: str | None = None
    group: str | None = None
    exclusive: str | None = None
    hidden: bool = False
    cli_only: bool = False
    helps: Mapping[str, str] = field(default_factory=dict)

    @property
    def cli_flag(self) -> str:
        return ("--" + self.name.replace("_", "-")) if self.flag is None else self.flag

    @property
    def choices(self) -> tuple[Any, ...]:
        if isinstance(self.kind, type) and issubclass(self.kind, Choice):
            return self.kind.values()
        return self.values


# ----------------------------------------------------------------------------- checking


def _bounds(o: Option) -> str:
    if o.low is not None and o.high is not None:
        if o.low_open:
            return f"> {o.low:g} and <= {o.high:g}"
        return f"{o.low:g}-{o.high:g}"
    if o.low is not None:
        return f"{'>' if o.low_open else '>='} {o.low:g}"
    return f"<= {o.high:g}"


def check_value(o: Option, value: Any) -> Any:
    """``value`` converted to the option's kind and checked against its range and choices;
    raises :class:`UsageError` naming the flag. ``None`` passes (not given)."""
    if value is None:
        return None
    flag = o.cli_flag or o.name
    if o.parse is not None:
        try:
            return o.parse(value)
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"{flag}: {exc}") from None
    if o.choices:
        kind = o.kind if o.kind not in (str, int, float) else None
        ok = str(value) in map(str, o.choices)
        if not ok:
            shown = ", ".join(map(str, o.choices))
            raise UsageError(f"{flag} must be one of {shown} (got {value!r})")
        return kind(str(value)) if kind else o.kind(value)
    if o.kind is bool:
        if not isinstance(value, bool):
            raise UsageError(f"{flag} is a switch: true or false (got {value!r})")
        return value
    if o.kind in (int, float):
        try:
            v = o.kind(value)
        except (TypeError, ValueError):
            raise UsageError(f"{flag} needs a number (got {value!r})") from None
        if isinstance(value, float) and o.kind is int and v != value:
            raise UsageError(f"{flag} needs a whole number (got {value!r})")
        if not math.isfinite(v) or (o.low is not None and (v <= o.low if o.low_open
                                                           else v < o.low)) \
                or (o.high is not None and v > o.high):
            raise UsageError(f"{flag} must be {_bounds(o)} (got {value:g})"
                             if isinstance(value, (int, float)) else
                             f"{flag} must be {_bounds(o)} (got {value!r})")
        return v
    return value if isinstance(value, str) else os.fspath(value) \
        if isinstance(value, os.PathLike) else str(value)


def options_argv(options: Mapping[str, Any]) -> list[str]:
    """Command-line words for ``{name: value}`` options.

    ``True`` → ``--name``; ``False``/``None`` → omitted; a list → the option repeated;
    anything else → ``--name VALUE``. Underscores in names become dashes.
    """
    argv: list[str] = []
    for key in sorted(options):
        value = options[key]
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value is False or value is None:
            continue
        elif isinstance(value, list):
            for v in value:
                argv += [flag, _word(v)]
        else:
            argv += [flag, _word(value)]
    return argv


def _word(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return repr(v)  # keep "2.0" a float so the command reads the same value
    return str(v)


class Refuse(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` with argparse's own message."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)
