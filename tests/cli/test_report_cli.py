"""`cinefeat report ...` end to end on the repo of tests/quality/test_report.py: each command
writes its document (printing the path), replaces files atomically, leaves no temporary files,
and bad input is a clean error without a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cinefeat.cli import app
from cinefeat.cli._report import write_atomically
from cinefeat.errors import CinefeatError
from tests.cli.test_cli import cinefeat
from tests.quality.test_report import build_report_repo, check


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("report_cli") / "repo"
    return path, build_report_repo(path)


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, f"{args}: {result.output}\n{result.exception!r}"
    return result.stdout


def test_every_report_command_writes_its_document(
    built: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    repo, ids = built
    out = tmp_path / "out"
    out.mkdir()
    commands = {
        "project.html": ["report", "project", "-o", str(out / "project.html")],
        "view.html": ["report", "view", "movie_stats", "-o", str(out / "view.html")],
        "drift.html": [
            "report", "drift", "movie_stats", "--reference", "0", "-o", str(out / "drift.html"),
        ],
        "importance.html": [
            "report", "importance", "--service", "ranking_v1", "-o", str(out / "importance.html"),
        ],
        "offline.html": ["report", "experiment", ids["offline"], "-o", str(out / "offline.html")],
        "online.html": ["report", "experiment", ids["online"], "-o", str(out / "online.html")],
    }  # fmt: skip
    for name, args in commands.items():
        assert run(*args, "--repo", str(repo)) == f"{out / name}\n"
    assert sorted(os.listdir(out)) == sorted(commands)  # nothing else: no temporary files
    documents = {name: (out / name).read_text(encoding="utf-8") for name in commands}
    for document in documents.values():
        check(document)
    assert "<title>films: feature quality</title>" in documents["project.html"]
    assert documents["project.html"].count('id="view-') == 2
    assert "<title>movie_stats: feature quality</title>" in documents["view.html"]
    drift = check(documents["drift.html"]).words
    assert "Delta version 0 (2,000 rows) against every row now (4,000 rows)" in drift
    assert "Feature importance: ranking_v1" in check(documents["importance.html"]).words
    assert f"offline experiment {ids['offline']}" in check(documents["offline.html"]).words
    assert f"online experiment {ids['online']}" in check(documents["online.html"]).words


def test_default_file_names_and_replacing_a_report(
    built: tuple[Path, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, _ = built
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report-movie_stats.html").write_text("an old report")
    assert run("report", "--repo", str(repo)) == f"{tmp_path / 'report.html'}\n"
    assert run("report", "view", "movie_stats", "--repo", str(repo)) == (
        f"{tmp_path / 'report-movie_stats.html'}\n"
    )
    replaced = (tmp_path / "report-movie_stats.html").read_text(encoding="utf-8")
    assert replaced.startswith("<!DOCTYPE html>")
    assert (tmp_path / "report-movie_stats.html").stat().st_mode & 0o777 == 0o644
    assert sorted(os.listdir(tmp_path)) == ["report-movie_stats.html", "report.html"]


def test_options_before_the_command_apply_to_it(
    built: tuple[Path, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `report -o FILE view V` used to write report-V.html and ignore FILE; `report -r REPO
    # view V` looked for the repo in the working directory.
    repo, ids = built
    monkeypatch.chdir(tmp_path)
    assert run("report", "-o", "mine.html", "-r", str(repo), "view", "movie_stats") == (
        f"{tmp_path / 'mine.html'}\n"
    )
    assert "<title>movie_stats: feature quality</title>" in (tmp_path / "mine.html").read_text()
    # The command's own options win over the group's.
    assert run(
        "report", "-o", "group.html", "-r", str(tmp_path / "elsewhere"),
        "experiment", ids["offline"], "-o", "own.html", "-r", str(repo),
    ) == f"{tmp_path / 'own.html'}\n"  # fmt: skip
    assert (
        f"offline experiment {ids['offline']}" in check((tmp_path / "own.html").read_text()).words
    )
    assert run("report", "-r", str(repo), "importance", "-s", "ranking_v1") == (
        f"{tmp_path / 'importance-ranking_v1.html'}\n"
    )
    assert sorted(os.listdir(tmp_path)) == ["importance-ranking_v1.html", "mine.html", "own.html"]


def test_a_failed_write_keeps_the_old_file_and_no_temporary_one(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("the old report")
    with pytest.raises(UnicodeEncodeError):
        write_atomically("half a report \ud800", target)  # a lone surrogate cannot be UTF-8
    assert target.read_text() == "the old report"
    assert os.listdir(tmp_path) == ["report.html"]
    with pytest.raises(CinefeatError, match="the directory .*missing does not exist"):
        write_atomically("text", tmp_path / "missing" / "report.html")


def test_unknown_names_are_clean_errors(built: tuple[Path, dict[str, str]]) -> None:
    repo, _ = built
    view = cinefeat("report", "view", "nope", "-o", "x.html", cwd=repo)
    assert view.returncode == 1 and "Traceback" not in view.stderr
    assert view.stderr.strip() == "error: feature view 'nope' is not in the registry"
    assert not (repo / "x.html").exists()
    for args, message in (
        (["report", "experiment", "exp-nope"], "experiment 'exp-nope': no such experiment"),
        (["report", "importance", "--service", "nope"], "nope"),
        (["report", "importance", "--service", "votes_only"], "no importance result is stored"),
        (["report", "drift", "movie_stats", "--reference", "yesterday"], "is not a sample"),
        (["report", "-o", str(repo / "missing" / "x.html")], "missing does not exist"),
        (["report", "-o", str(repo / "missing" / "x.html"), "view", "movie_stats"], "missing"),
    ):
        result = CliRunner().invoke(app, [*args, "--repo", str(repo)])
        assert result.exit_code != 0 and isinstance(result.exception, CinefeatError)
        assert message in str(result.exception)
