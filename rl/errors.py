"""Errors a user can cause (bad config, data, launch request): reported in one line, exit code 2."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user; the CLI prints the message, without a traceback, and exits 2."""


class ConfigError(UserError):
    """A config file or `--set` override that is not valid."""


class DataError(UserError):
    """A dataset that cannot be loaded or lacks a needed column."""


class LaunchError(UserError):
    """A launch/submission request that cannot work."""


def did_you_mean(word: str, options: list[str] | tuple[str, ...]) -> str:
    """`; did you mean 'x'?` for the closest option, or an empty string: `rewards.spec.did_you_mean`, the one helper.

    Imported when a message needs it, so the CLI starts without loading the reward library.
    """
    from rewards.spec import did_you_mean as suggest

    return suggest(word, options)


def first_line(error: BaseException) -> str:
    """The first non-empty line of an exception's message, or its type name when the message is empty.

    Libraries raise with an empty message often enough (`IndexError()`, `KeyError('')`) that taking
    `str(error).splitlines()[0]` turns one bad input into a second, unrelated traceback.

    >>> first_line(ValueError("bad value\\nmore detail"))
    'bad value'
    >>> first_line(IndexError())
    'IndexError'
    """
    for line in str(error).splitlines():
        if line.strip():
            return line.strip()
    return type(error).__name__
