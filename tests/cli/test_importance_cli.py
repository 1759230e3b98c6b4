"""`cinefeat importance` end to end: a repo whose view holds one planted feature, a weaker one
and noise; an entity parquet file carries the label; the result is stored with the service."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from cinefeat import CinefeatError, Entity, FeatureService, FeatureStore, FeatureView, Field
from cinefeat.errors import FeatureNotFoundError
from cinefeat.quality import latest_importance, service_importance
from cinefeat.types import Array, Float64, Int64, String
from tests.cli.test_cli import cinefeat, ok

DAY1 = datetime(2024, 3, 1, tzinfo=UTC)
USERS = 2_000
NOISE = ["noise_0", "noise_1", "noise_2"]


def _feature_rows() -> pl.DataFrame:
    rng = np.random.default_rng(11)
    return pl.DataFrame(
        {
            "user_id": np.arange(USERS),
            **{name: rng.normal(size=USERS) for name in ["planted", "weak", *NOISE]},
            "country": rng.choice(["de", "fr", "us"], USERS),
            "genre_ids": [[1, 2]] * USERS,
            "event_timestamp": [DAY1] * USERS,
        }
    )


def _entity_rows(features: pl.DataFrame) -> pl.DataFrame:
    """One training example per user, a day after its features, labelled 3 planted + weak."""
    rng = np.random.default_rng(12)
    label = 3 * features["planted"] + features["weak"] + 0.3 * rng.normal(size=USERS)
    times = [DAY1 + timedelta(days=1, minutes=i) for i in range(USERS)]
    return pl.DataFrame({"user_id": np.arange(USERS), "event_timestamp": times, "rating": label})


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("importance") / "repo"
    path.mkdir()
    (path / "cinefeat.yaml").write_text("project: importance\n")
    user = Entity("user", ["user_id"])
    view = FeatureView(
        "user_features",
        [user],
        [
            Field("user_id", Int64),
            *(Field(name, Float64) for name in ["planted", "weak", *NOISE]),
            Field("country", String),
            Field("genre_ids", Array(Int64)),
        ],
    )
    service = FeatureService("ranking_v1", [view])
    features = _feature_rows()
    with FeatureStore(path) as store:
        store.apply([user, view, service])
        store.write_offline("user_features", features)
    _entity_rows(features).write_parquet(path / "training.parquet")
    return path


@pytest.fixture(scope="module")
def printed(repo: Path) -> str:
    """What the command prints (the table); the result itself is read back from the store."""
    return ok(
        "importance", "--service", "ranking_v1", "--label", "rating",
        "--entity-df", "training.parquet", "--plot", "importance.png", cwd=repo,
    )  # fmt: skip


@pytest.fixture(scope="module")
def computed(printed: str, repo: Path) -> dict[str, Any]:
    with FeatureStore(repo) as store:
        stored = latest_importance(store, "ranking_v1")
    assert stored is not None
    return stored.to_dict()


def test_the_cli_ranks_the_planted_feature_first(computed: dict[str, Any], repo: Path) -> None:
    ranking = [f["feature"] for f in computed["features"]]
    assert ranking[:2] == ["planted", "weak"]
    assert set(ranking[-4:]) == {*NOISE, "country"}  # country is unrelated to the rating
    assert computed["service"] == "ranking_v1" and computed["label"] == "rating"
    assert computed["task"] == "regression" and computed["model"] == "lightgbm"
    assert computed["skipped"] == {
        "genre_ids": "list column: importance needs one number per row; derive one (e.g. its "
        "length)"
    }
    assert "user_id" not in ranking and "event_timestamp" not in ranking
    assert computed["split"] == "time" and computed["split_column"] == "event_timestamp"
    assert computed["rows_used"] == USERS and computed["validation_rows"] == USERS // 4
    assert computed["table_versions"] == {"user_features__v1": 0}
    assert (repo / "importance.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_cli_prints_a_ranked_table(printed: str) -> None:
    assert (
        "ranking_v1: importance for rating (regression, lightgbm); r2 0.9" in printed
        and "on the latest 500 rows by event_timestamp" in printed
    )
    rows = [line.split("│")[1:-1] for line in printed.splitlines() if line.startswith("│")]
    assert [cell.strip() for cell in rows[0][:3]] == ["1", "planted", "numeric"]
    assert [cell.strip() for cell in rows[1][:3]] == ["2", "weak", "numeric"]
    assert len(rows) == 6
    assert "skipped genre_ids: list column" in printed
    assert "plot written to importance.png" in printed
    assert "stored with feature service ranking_v1" in printed


def test_show_prints_the_stored_result_without_recomputing(
    computed: dict[str, Any], repo: Path
) -> None:
    shown = json.loads(ok("importance", "--service", "ranking_v1", "--show", "--json", cwd=repo))
    assert shown == computed


def test_an_unknown_service_is_a_clean_error(repo: Path) -> None:
    # (--show of an unknown service and a missing label column: see the in-process test below)
    result = cinefeat(
        "importance", "--service", "nope", "--label", "rating", "--entity-df", "training.parquet",
        cwd=repo,
    )  # fmt: skip
    assert result.returncode == 1
    assert "feature service 'nope' is not in the registry" in result.stderr
    assert "Traceback" not in result.stderr
    missing = cinefeat("importance", "-s", "ranking_v1", "-l", "rating", cwd=repo)
    assert missing.returncode == 2 and "give --label and --entity-df" in missing.stderr
    (repo / "bad.parquet").write_text("not parquet")
    unreadable = cinefeat(
        "importance", "-s", "ranking_v1", "-l", "rating", "--entity-df", "bad.parquet", cwd=repo
    )
    assert unreadable.returncode == 1 and "Traceback" not in unreadable.stderr
    assert " ".join(unreadable.stderr.split()).startswith(
        "error: --entity-df bad.parquet: cannot read it: Could not open Parquet input source"
    )


def test_service_importance_stores_each_result_and_reads_the_newest(
    computed: dict[str, Any], repo: Path
) -> None:
    entity = _entity_rows(_feature_rows()).to_pandas()  # pandas works as well as Polars
    with FeatureStore(repo) as store:
        unsaved = service_importance(store, "ranking_v1", entity, "rating", n_repeats=2, save=False)
        assert unsaved.n_repeats == 2
        assert latest_importance(store, "ranking_v1").to_dict() == computed  # type: ignore[union-attr]
        newer = service_importance(store, "ranking_v1", entity, "rating", model="hist_gb")
        latest = latest_importance(store, "ranking_v1")
        assert latest == newer and latest.model == "hist_gb"
        assert latest.ranking[0] == "planted"
        documents = store.registry.quality_records().list_documents("importance", "ranking_v1")
        assert len(documents) >= 2 and documents[0].key > documents[1].key  # keys sort by time
        with pytest.raises(FeatureNotFoundError, match="feature service 'nope'"):
            service_importance(store, "nope", entity, "rating")
        with pytest.raises(CinefeatError, match="entity_df has no label column 'stars'"):
            service_importance(store, "ranking_v1", entity, "stars")
        with pytest.raises(FeatureNotFoundError, match="feature service 'nope'"):
            latest_importance(store, "nope")
