"""OnDemandFeatureView: features computed at request time from other views' features and
request data, by one vectorised Polars function used both online and offline.

The function receives a Polars DataFrame whose columns are the source views' features, named
`view__feature`, and the request sources' fields by their own names, each cast to its declared
dtype; it returns a DataFrame holding at least the view's schema columns, row for row. The same
function (and the same input types) serve `get_online_features` and
`get_historical_features`, so both give identical values for identical inputs.

The registry stores the function's source code, so other processes (a server) can run it
without the repo's files: it must be a plain top-level `def` (no decorators) that uses only
its argument, simple builtins and the names `pl` (polars), `np` (numpy), `math` and
`datetime`; this is checked when the view is defined. The stored source is compiled only when
the features are computed, never when the registry is read.
"""

from __future__ import annotations

import ast
import inspect
import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cinefeat.definitions._entity import Field
from cinefeat.definitions._names import check_metadata, check_name
from cinefeat.definitions._view import FeatureView, FeatureViewProjection
from cinefeat.errors import DefinitionError

__all__ = ["OnDemandFeatureView", "RequestSource"]

Udf = Callable[[Any], Any]


@dataclass(frozen=True, eq=True)
class RequestSource:
    """Data that arrives with a request (not stored): passed in `entity_rows` online and as
    columns of the entity dataframe offline."""

    name: str
    schema: Sequence[Field]

    def __post_init__(self) -> None:
        check_name("RequestSource", self.name)
        schema = tuple(self.schema)
        if not schema or not all(isinstance(f, Field) for f in schema):
            raise DefinitionError(f"RequestSource {self.name!r}: schema must list Fields")
        object.__setattr__(self, "schema", schema)

    def to_spec(self) -> dict[str, Any]:
        return {"kind": "request", "name": self.name, "schema": [f.to_spec() for f in self.schema]}


@dataclass(frozen=True)
class ViewInput:
    """Features of one view an on-demand view reads (current version)."""

    view: str
    features: tuple[str, ...]
    dtypes: tuple[str, ...]

    def column(self, feature: str) -> str:
        return f"{self.view}__{feature}"

    def to_spec(self) -> dict[str, Any]:
        return {
            "kind": "view",
            "view": self.view,
            "features": list(self.features),
            "dtypes": list(self.dtypes),
        }


_ALLOWED_MODULES = ("pl", "np", "math", "datetime")
_ALLOWED_BUILTINS = (
    "abs", "all", "any", "bool", "dict", "enumerate", "filter", "float", "int", "isinstance",
    "len", "list", "map", "max", "min", "range", "reversed", "round", "set", "sorted", "str",
    "sum", "tuple", "zip", "True", "False", "None",
)  # fmt: skip


def check_udf_source(name: str, source: str, where: str) -> None:
    """The stored source must be one plain function using only its argument, a few builtins
    and the allowed modules: no imports, decorators, globals or dunder attributes. Checked when
    the view is defined, so a udf that would fail in another process fails here instead."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise DefinitionError(f"{where}: the udf source does not parse: {exc}") from None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef):
        raise DefinitionError(f"{where}: the udf must be a single top-level def")
    function = tree.body[0]
    if function.name != name or function.decorator_list:
        raise DefinitionError(f"{where}: the udf {name!r} must be a plain def, without decorators")
    assigned = {a.arg for a in (*function.args.posonlyargs, *function.args.args)}
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            assigned.add(node.id)
        elif isinstance(node, ast.arg):
            assigned.add(node.arg)
    allowed = assigned | set(_ALLOWED_MODULES) | set(_ALLOWED_BUILTINS)
    for node in ast.walk(function):
        problem = None
        if isinstance(node, ast.Import | ast.ImportFrom | ast.Global | ast.Nonlocal):
            problem = "imports and global statements are not allowed"
        elif isinstance(node, ast.Attribute) and node.attr.startswith("__"):
            problem = f"dunder attribute {node.attr!r} is not allowed"
        elif (
            isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in allowed
        ):
            problem = (
                f"it uses {node.id!r}, which another process would not have; a udf may "
                f"use only its argument, {', '.join(_ALLOWED_MODULES)} and simple builtins"
            )
        if problem:
            raise DefinitionError(f"{where}: udf {name!r}: {problem}")


def _udf_source(udf: Udf, where: str) -> str:
    if not callable(udf) or getattr(udf, "__name__", "<lambda>") == "<lambda>":
        raise DefinitionError(f"{where}: udf must be a named, top-level function (def)")
    try:
        source = textwrap.dedent(inspect.getsource(udf))
    except (OSError, TypeError):
        raise DefinitionError(
            f"{where}: the source of udf {udf.__name__!r} cannot be read; define it in a file"
        ) from None
    check_udf_source(udf.__name__, source, where)
    return source


class StoredUdf:
    """A udf re-created from the registry's copy of its source, compiled on first call (so
    reading the registry never runs stored code) with only the allowed names in scope.

    The registry is trusted code, like a repo's own files: anyone who can write it can run
    code in the processes that compute these features."""

    def __init__(self, name: str, source: str) -> None:
        self.__name__ = name
        self.source = source
        self._function: Udf | None = None

    def __call__(self, frame: Any) -> Any:
        if self._function is None:
            self._function = load_udf(self.__name__, self.source)
        return self._function(frame)


def load_udf(name: str, source: str) -> Udf:
    """Compile a stored udf's source (checked again: the registry may have been edited)."""
    import builtins
    import datetime

    import numpy as np
    import polars as pl

    check_udf_source(name, source, f"stored udf {name!r}")
    safe_builtins = {b: getattr(builtins, b) for b in _ALLOWED_BUILTINS}
    namespace: dict[str, Any] = {
        "__builtins__": safe_builtins,
        "pl": pl,
        "np": np,
        "math": math,
        "datetime": datetime,
    }
    exec(compile(source, f"<udf {name}>", "exec"), namespace)  # checked above; trusted repo code
    udf = namespace.get(name)
    if not callable(udf):
        raise DefinitionError(f"stored udf {name!r} does not define a function of that name")
    return udf  # type: ignore[no-any-return]


@dataclass(frozen=True, eq=False)
class OnDemandFeatureView:
    """Features computed per request by `udf` from `sources` (views, projections, requests)."""

    name: str
    sources: Sequence[FeatureView | FeatureViewProjection | RequestSource | ViewInput]
    schema: Sequence[Field]
    udf: Udf
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    owner: str = ""
    udf_source: str = ""  # filled from `udf` when empty

    def __post_init__(self) -> None:
        check_name("OnDemandFeatureView", self.name)
        where = f"OnDemandFeatureView {self.name!r}"
        _, tags, _ = check_metadata(where, self.description, self.tags, self.owner)
        object.__setattr__(self, "tags", tags)
        inputs: list[ViewInput | RequestSource] = []
        for source in self.sources:
            if isinstance(source, FeatureView):
                source = source[list(source.feature_names)]
            if isinstance(source, FeatureViewProjection):
                dtypes = tuple(str(source.view.field(f).dtype) for f in source.features)
                inputs.append(ViewInput(source.view.name, source.features, dtypes))
            elif isinstance(source, ViewInput | RequestSource):
                inputs.append(source)
            else:
                raise DefinitionError(
                    f"{where}: sources must be FeatureViews, projections or RequestSources, "
                    f"got {source!r}"
                )
        if not inputs:
            raise DefinitionError(f"{where}: sources must name at least one source")
        object.__setattr__(self, "sources", tuple(inputs))
        schema = tuple(self.schema)
        names = [f.name for f in schema]
        if not schema or len(set(names)) != len(names):
            raise DefinitionError(f"{where}: schema must list its output Fields, each once")
        object.__setattr__(self, "schema", schema)
        if not self.udf_source:
            object.__setattr__(self, "udf_source", _udf_source(self.udf, where))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OnDemandFeatureView) and self.to_spec() == other.to_spec()

    def __hash__(self) -> int:
        return hash(self.name)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.schema)

    @property
    def view_inputs(self) -> tuple[ViewInput, ...]:
        return tuple(s for s in self.sources if isinstance(s, ViewInput))

    @property
    def request_fields(self) -> tuple[Field, ...]:
        return tuple(f for s in self.sources if isinstance(s, RequestSource) for f in s.schema)

    def field(self, name: str) -> Field:
        for item in self.schema:
            if item.name == name:
                return item
        raise DefinitionError(f"OnDemandFeatureView {self.name!r} has no feature {name!r}")

    def to_spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sources": [s.to_spec() for s in self.sources],  # type: ignore[union-attr]
            "schema": [f.to_spec() for f in self.schema],
            "udf": {"name": self.udf.__name__, "source": self.udf_source},
            "description": self.description,
            "tags": dict(self.tags),
            "owner": self.owner,
        }

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> OnDemandFeatureView:
        sources: list[ViewInput | RequestSource] = []
        for source in spec["sources"]:
            if source["kind"] == "view":
                sources.append(
                    ViewInput(source["view"], tuple(source["features"]), tuple(source["dtypes"]))
                )
            else:
                schema = [Field.from_spec(f) for f in source["schema"]]
                sources.append(RequestSource(source["name"], schema))
        udf = spec["udf"]
        return cls(
            name=spec["name"],
            sources=sources,
            schema=[Field.from_spec(f) for f in spec["schema"]],
            udf=StoredUdf(udf["name"], udf["source"]),
            description=spec.get("description", ""),
            tags=spec.get("tags", {}),
            owner=spec.get("owner", ""),
            udf_source=udf["source"],
        )
