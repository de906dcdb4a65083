"""Errors a user can cause (bad config, data, launch request): reported in one line, exit code 2."""

from __future__ import annotations

import difflib


class UserError(Exception):
    """Bad input from the user; the CLI prints the message, without a traceback, and exits 2."""


class ConfigError(UserError):
    """A config file or `--set` override that is not valid."""


class DataError(UserError):
    """A dataset that cannot be loaded or lacks a needed column."""


class LaunchError(UserError):
    """A launch/submission request that cannot work."""


def did_you_mean(word: str, options: list[str] | tuple[str, ...]) -> str:
    """`; did you mean 'x'?` for the closest option, or an empty string."""
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
