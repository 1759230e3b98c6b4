"""Shared checks for definition names and metadata (tags, owner, description)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cinefeat.errors import DefinitionError

__all__ = ["check_metadata", "check_name"]

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_name(kind: str, name: Any, where: str = "") -> str:
    """Names become table and column names, so they must be plain identifiers."""
    prefix = f"{where}: " if where else ""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise DefinitionError(
            f"{prefix}{kind} name {name!r} is invalid; use letters, digits and underscores, "
            "starting with a letter or underscore"
        )
    if name.startswith("__"):
        raise DefinitionError(
            f"{prefix}{kind} name {name!r} must not start with '__' (reserved for cinefeat's "
            "internal columns)"
        )
    if "__" in name and kind != "Field":
        raise DefinitionError(
            f"{prefix}{kind} name {name!r} must not contain '__' "
            "(it separates view and feature in full feature names)"
        )
    return name


def check_metadata(
    where: str, description: Any, tags: Any, owner: Any
) -> tuple[str, dict[str, str], str]:
    if not isinstance(description, str):
        raise DefinitionError(
            f"{where}: description must be a string, got {type(description).__name__}"
        )
    if not isinstance(owner, str):
        raise DefinitionError(f"{where}: owner must be a string, got {type(owner).__name__}")
    tags = {} if tags is None else tags
    if not isinstance(tags, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
    ):
        raise DefinitionError(
            f"{where}: tags must be a mapping of strings to strings, got {tags!r}"
        )
    return description, dict(tags), owner
