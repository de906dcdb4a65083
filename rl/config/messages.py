"""Config error text: one line naming the full key path, what is wrong, and the closest valid key.

Used for the schema's pydantic errors; the reward and trainer checks word their own (with the same
`did_you_mean`).
"""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from rl.config.schema import RunConfig
from rl.errors import did_you_mean


def describe(error: ValidationError) -> str:
    """One line for the first problem: the full key path, what is wrong, and a suggestion."""
    first = error.errors()[0]
    location = [str(part) for part in first["loc"]]
    key_path = ".".join(location)
    if first["type"] == "extra_forbidden":
        return f"unknown key {key_path}{did_you_mean(location[-1], valid_keys(location[:-1]))}"
    if first["type"] == "missing":
        return f"missing required key {key_path}"
    message = first["msg"].removeprefix("Value error, ")
    return f"{key_path}: {message} (got {first.get('input')!r})"


def valid_keys(location: list[str]) -> list[str]:
    """The keys of the section at `location` (a path of section names from the top)."""
    model: type[BaseModel] = RunConfig
    for part in location:
        annotation = model.model_fields[part].annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        model = next(c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel))
    return list(model.model_fields)
