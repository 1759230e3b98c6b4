"""Finding a repo's definitions in its Python files."""

from __future__ import annotations

from pathlib import Path

import pytest

from cinefeat import DefinitionError
from cinefeat.repo import load_repo

ENTITIES = """
from cinefeat import Entity
user = Entity("user", ["user_id"])
"""
VIEWS = """
from cinefeat import FeatureView, Field, FeatureService
from cinefeat.types import Int64
from entities import user
stats = FeatureView("stats", [user], [Field("user_id", Int64), Field("n", Int64)])
svc = FeatureService("svc", [stats])
alias = stats
"""


def test_definitions_across_files_count_once(tmp_path: Path) -> None:
    (tmp_path / "entities.py").write_text(ENTITIES)
    (tmp_path / "views.py").write_text(VIEWS)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "junk.py").write_text("raise SystemExit('must not be imported')")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.py").write_text("raise SystemExit('must not be imported')")
    (tmp_path / "scratch").mkdir()
    (tmp_path / "scratch" / "y.py").write_text("raise SystemExit('must not be imported')")
    (tmp_path / ".cinefeatignore").write_text("# comment\nscratch/\n")
    contents = load_repo(tmp_path)
    assert [e.name for e in contents.entities] == ["user"]
    assert [v.name for v in contents.feature_views] == ["stats"]
    assert [s.name for s in contents.feature_services] == ["svc"]


def test_two_different_objects_with_one_name_are_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(ENTITIES)
    (tmp_path / "b.py").write_text('from cinefeat import Entity\nu = Entity("user", ["uid"])\n')
    with pytest.raises(
        DefinitionError, match="two different Entitys named 'user': in a.py and b.py"
    ):
        load_repo(tmp_path)


def test_definition_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text('from cinefeat import Entity\nEntity("no good")\n')
    with pytest.raises(DefinitionError, match="bad.py:2: Entity name 'no good' is invalid"):
        load_repo(tmp_path)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("x = 1\ndef broken(:\n", "broken.py:2: SyntaxError"),
        ("import not_a_module_anywhere\n", "broken.py:1: ModuleNotFoundError"),
        ("x = 1\nraise RuntimeError('boom')\n", "broken.py:2: RuntimeError: boom"),
    ],
)
def test_any_error_in_a_repo_file_names_the_file_and_line(
    tmp_path: Path, code: str, message: str
) -> None:
    (tmp_path / "broken.py").write_text(code)
    with pytest.raises(DefinitionError, match=message):
        load_repo(tmp_path)
