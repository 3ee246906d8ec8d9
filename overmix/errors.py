"""Errors raised by the library; the CLI turns each into one line on stderr."""

from __future__ import annotations


class OvermixError(Exception):
    """Base of every error the toolkit raises on bad input or a failed job.

    The message is a complete sentence fragment for ``overmix: error: <message>``.
    """


class UsageError(OvermixError):
    """Options that contradict each other or are out of range (CLI exit status 2)."""


class InputError(OvermixError):
    """A missing, unreadable, corrupt or unsupported input file."""


class FormatError(InputError):
    """A file whose bytes do not follow its format (corrupt dump, truncated payload, ...)."""


class UnsupportedError(InputError):
    """Valid input the toolkit does not handle (a pixel format, a reserved colour code, ...)."""


class RangeError(OvermixError):
    """An empty or out-of-bounds frame range."""


class OutputError(OvermixError):
    """An output that cannot be written (folder missing, not writable, not empty, ...)."""


class AlignmentError(OvermixError):
    """Frames that cannot be aligned (no overlap, different sizes, too few frames)."""
