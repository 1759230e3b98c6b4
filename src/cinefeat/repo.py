"""Finding a repo's definitions: import its Python files and collect the objects they define.

As in Feast, a repo is a directory of Python files; every module-level Entity, FeatureView,
OnDemandFeatureView and FeatureService is part of it. Directories named in `.cinefeatignore`
(glob patterns, one per line), hidden directories, `data/` and virtualenvs are skipped.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path

from cinefeat.definitions import Entity, FeatureService, FeatureView, OnDemandFeatureView
from cinefeat.errors import DefinitionError

__all__ = ["RepoContents", "load_repo"]

_DEFINITIONS = (Entity, FeatureView, OnDemandFeatureView, FeatureService)
_ALWAYS_SKIP = {"data", "__pycache__", "venv", ".venv", "node_modules", "site-packages"}


@dataclass
class RepoContents:
    entities: list[Entity] = field(default_factory=list)
    feature_views: list[FeatureView] = field(default_factory=list)
    on_demand_views: list[OnDemandFeatureView] = field(default_factory=list)
    feature_services: list[FeatureService] = field(default_factory=list)

    def objects(self) -> list[Entity | FeatureView | OnDemandFeatureView | FeatureService]:
        return [
            *self.entities,
            *self.feature_views,
            *self.on_demand_views,
            *self.feature_services,
        ]


def _ignored(repo: Path, path: Path, patterns: list[str]) -> bool:
    relative = path.relative_to(repo)
    for part in relative.parts[:-1]:
        if part.startswith(".") or part in _ALWAYS_SKIP:
            return True
    text = relative.as_posix()
    return any(
        fnmatch.fnmatch(text, p) or fnmatch.fnmatch(text, f"{p.rstrip('/')}/*") for p in patterns
    )


def _python_files(repo: Path) -> list[Path]:
    ignore_file = repo / ".cinefeatignore"
    patterns = []
    if ignore_file.is_file():
        lines = ignore_file.read_text(encoding="utf-8").splitlines()
        patterns = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    return sorted(p for p in repo.rglob("*.py") if not _ignored(repo, p, patterns))


def load_repo(repo_path: str | Path) -> RepoContents:
    """Import every Python file of the repo and collect its definitions (by identity, so an
    object imported into several files counts once). Two different objects with one name
    are an error naming both files."""
    repo = Path(repo_path).resolve()
    contents = RepoContents()
    seen_ids: set[int] = set()
    origin: dict[tuple[str, str], tuple[object, Path]] = {}
    sys.path.insert(0, str(repo))  # lets repo files import each other
    try:
        for path in _python_files(repo):
            module_name = "_cinefeat_repo_." + ".".join(
                path.relative_to(repo).with_suffix("").parts
            )
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:
                continue
            module = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(module)
            except Exception as exc:  # the user's code: report the file, not our traceback
                kind = "" if isinstance(exc, DefinitionError) else f"{type(exc).__name__}: "
                line = _failing_line(exc, path)
                raise DefinitionError(f"{path.relative_to(repo)}{line}: {kind}{exc}") from None
            for value in vars(module).values():
                if not isinstance(value, _DEFINITIONS) or id(value) in seen_ids:
                    continue
                key = (type(value).__name__, value.name)
                if key in origin and origin[key][0] != value:
                    raise DefinitionError(
                        f"two different {key[0]}s named {value.name!r}: in "
                        f"{origin[key][1].relative_to(repo)} and {path.relative_to(repo)}"
                    )
                seen_ids.add(id(value))
                if key in origin:
                    continue
                origin[key] = (value, path)
                if isinstance(value, Entity):
                    contents.entities.append(value)
                elif isinstance(value, FeatureView):
                    contents.feature_views.append(value)
                elif isinstance(value, OnDemandFeatureView):
                    contents.on_demand_views.append(value)
                else:
                    contents.feature_services.append(value)
    finally:
        sys.path.remove(str(repo))
    return contents


def _failing_line(exc: Exception, path: Path) -> str:
    """`:LINE` of the deepest frame of `exc` inside `path` (SyntaxErrors carry their own)."""
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f":{exc.lineno}"
    line = ""
    traceback = exc.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == str(path):
            line = f":{traceback.tb_lineno}"
        traceback = traceback.tb_next
    return line
