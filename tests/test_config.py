"""cinefeat.yaml is validated; errors name the bad key and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from cinefeat import ConfigError
from cinefeat.config import load_config, parse_config


def test_minimal_config_gets_embedded_defaults(tmp_path: Path) -> None:
    (tmp_path / "cinefeat.yaml").write_text("project: films\n")
    config = load_config(tmp_path)
    assert config.project == "films"
    assert config.registry.url(tmp_path) == f"sqlite:///{tmp_path}/data/registry.db"
    assert config.online_store.type == "sqlite"
    assert config.cache.enabled and config.cache.max_entries == 100_000


def test_registry_accepts_a_path_or_a_url() -> None:
    config = parse_config({"project": "p", "registry": "postgresql+psycopg://u@h/db"})
    assert config.registry.url(Path("/x")) == "postgresql+psycopg://u@h/db"
    plain = parse_config({"project": "p", "registry": "postgresql://u@h/db"})
    assert plain.registry.url(Path("/x")) == "postgresql+psycopg://u@h/db"  # psycopg 3 driver
    config = parse_config({"project": "p", "registry": {"path": "/abs/reg.db"}})
    assert config.registry.url(Path("/x")) == "sqlite:////abs/reg.db"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"project": "p", "online_store": {"type": "mongo"}},
            r"online_store.type: expected one of 'sqlite', got 'mongo'",
        ),
        (
            {"project": "p", "cache": {"ttl_seconds": -1}},
            r"cache.ttl_seconds: Input should be greater than 0 \(got -1\)",
        ),
        ({"project": "p", "cache": {"max_entrys": 5}}, r"cache.max_entrys: unknown key"),
        ({"project": "bad name"}, r"project: String should match pattern"),
        ({}, r"project: Field required"),
        (
            {"project": "p", "offline_store": {"path": 3}},
            r"offline_store.path: Input should be a valid string",
        ),
        ([1, 2], "expected a mapping of settings"),
    ],
)
def test_errors_name_the_key(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(data)


def test_missing_and_unparseable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no cinefeat.yaml in"):
        load_config(tmp_path)
    (tmp_path / "cinefeat.yaml").write_text("project: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path)
