"""The parser of one sub-command, built the same way for every command: its description,
its positional input, ``-o/--output`` and the schema's options (:mod:`overmix.commands.options`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from overmix.commands.options import add_options


def add_command(subparsers: Any, name: str, run: Callable[..., int], *, help: str,
                description: str, input_help: str | None = None,
                output: tuple[str, str] | None = None, output_required: bool = True,
                options: str | None = None, **defaults: Any) -> argparse.ArgumentParser:
    """Add sub-command ``name`` that runs ``run(args, ui)``.

    ``input_help``: the positional ``INPUT`` (None: the caller adds its own positionals);
    ``output``: ``(metavar, help)`` of ``-o/--output``; ``options``: the key of the schema's
    options (default ``name``); ``defaults``: more namespace defaults besides ``func``.
    """
    p = subparsers.add_parser(name, help=help, description=description)
    if input_help is not None:
        p.add_argument("input", metavar="INPUT", help=input_help)
    if output is not None:
        p.add_argument("-o", "--output", required=output_required, metavar=output[0],
                       help=output[1])
    add_options(p, name if options is None else options)
    p.set_defaults(func=run, **defaults)
    return p
