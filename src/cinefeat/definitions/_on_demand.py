"""OnDemandFeatureView: features computed at request time from other views' features and
request data, by one vectorised Polars function used both online and offline.

The function receives a Polars DataFrame whose columns are the source views' features, named
`view__feature`, and the request sources' fields by their own names, each cast to its declared
dtype; it returns a DataFrame holding at least the view's schema columns, row for row. The same
function (and the same input types) serve `get_online_features` and
`get_historical_features`, so both give identical values for identical inputs.

The registry stores the function's source code, so other processes (a server) can run it
without the repo's files: it must be a plain top-level `def` that uses only its argument and
the names `pl` (polars), `np` (numpy), `math` and `datetime`.
"""

from __future__ import annotations

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


def _udf_source(udf: Udf, where: str) -> str:
    if not callable(udf) or getattr(udf, "__name__", "<lambda>") == "<lambda>":
        raise DefinitionError(f"{where}: udf must be a named, top-level function (def)")
    try:
        source = textwrap.dedent(inspect.getsource(udf))
    except (OSError, TypeError):
        raise DefinitionError(
            f"{where}: the source of udf {udf.__name__!r} cannot be read; define it in a file"
        ) from None
    return source


def load_udf(name: str, source: str) -> Udf:
    """Re-create a stored udf from its source (see the module docstring for what it may use)."""
    import datetime

    import numpy as np
    import polars as pl

    namespace: dict[str, Any] = {"pl": pl, "np": np, "math": math, "datetime": datetime}
    exec(compile(source, f"<udf {name}>", "exec"), namespace)  # the repo's own code
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
            udf=load_udf(udf["name"], udf["source"]),
            description=spec.get("description", ""),
            tags=spec.get("tags", {}),
            owner=spec.get("owner", ""),
            udf_source=udf["source"],
        )
