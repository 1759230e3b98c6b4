"""The original simple API, over the core store."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cinefeat import DefinitionError, FeatureNotFoundError, SimpleFeatureStore


def test_save_and_get_latest_values(tmp_path: Path) -> None:
    fs = SimpleFeatureStore(tmp_path / "features")
    popularity = pd.DataFrame({"movie_id": [550, 603, 680], "popularity": [61.4, 83.2, 70.0]})
    assert fs.save_features("movie", {"movie_popularity": popularity}) == {"movie_popularity": 3}
    got = fs.get_features(["movie_popularity"], entity_ids=[603, 550, 1])
    assert got["movie_id"].tolist() == [603, 550, 1]
    assert got["popularity"].tolist()[:2] == [83.2, 61.4] and pd.isna(got["popularity"][2])

    # Saving again updates values; new columns extend the view and keep the old ones.
    update = pd.DataFrame({"movie_id": [550], "popularity": [99.0], "votes": [27000]})
    fs.save_features("movie", {"movie_popularity": update})
    got = fs.get_features(["movie_popularity"])  # every entity, latest values
    assert got["movie_id"].tolist() == [550, 603, 680]
    assert got["popularity"].tolist() == [99.0, 83.2, 70.0]
    assert got["votes"].tolist()[0] == 27000
    assert fs.store.get_feature_view("movie_popularity").version == 1  # extended, not replaced


def test_saving_some_columns_keeps_the_others(tmp_path: Path) -> None:
    fs = SimpleFeatureStore(tmp_path)
    both = pd.DataFrame({"movie_id": [1, 2], "rating": [4.5, 3.0], "popularity": [7.0, 8.0]})
    fs.save_features("movie", {"movie_scores": both})
    fs.save_features(
        "movie", {"movie_scores": pd.DataFrame({"movie_id": [1], "popularity": [9.0]})}
    )
    got = fs.get_features(["movie_scores"], entity_ids=[1, 2])
    assert got["rating"].tolist() == [4.5, 3.0]
    assert got["popularity"].tolist() == [9.0, 8.0]


def test_feature_names_and_cache_stats(tmp_path: Path) -> None:
    fs = SimpleFeatureStore(tmp_path)
    fs.save_features(
        "user",
        {
            "user_activity": pd.DataFrame({"user_id": [1, 2], "ratings": [10, 3]}),
            "user_taste": pd.DataFrame({"user_id": [1, 2], "fav_genre": ["drama", "horror"]}),
        },
    )
    got = fs.get_features(["ratings", "user_taste:fav_genre"], entity_ids=[2])
    assert got.to_dict("list") == {"user_id": [2], "ratings": [3], "fav_genre": ["horror"]}
    fs.get_features(["ratings"], entity_ids=[2])
    stats = fs.get_cache_stats()
    assert stats["hits"] >= 1 and {"misses", "hit_rate", "evictions", "size"} <= set(stats)
    with pytest.raises(FeatureNotFoundError, match="'nothing' is not a saved feature table"):
        fs.get_features(["nothing"])


def test_frames_need_an_id_column(tmp_path: Path) -> None:
    fs = SimpleFeatureStore(tmp_path)
    with pytest.raises(DefinitionError, match="needs an id column"):
        fs.save_features("movie", {"x": pd.DataFrame({"score": [1.0]})})
