"""The public namespace is explicit: every module declares __all__, and cinefeat re-exports."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import cinefeat


def test_top_level_exports_resolve() -> None:
    for name in cinefeat.__all__:
        assert getattr(cinefeat, name) is not None, name
    assert {
        "FeatureStore",
        "Entity",
        "FeatureView",
        "FeatureService",
        "Field",
        "FileSource",
    } <= set(cinefeat.__all__)


def test_every_module_declares_all() -> None:
    for module in pkgutil.walk_packages(cinefeat.__path__, "cinefeat."):
        if module.name.endswith("__main__") or module.name == "cinefeat.demo":
            continue
        imported = importlib.import_module(module.name)
        assert hasattr(imported, "__all__"), module.name
        for name in imported.__all__:
            assert hasattr(imported, name), f"{module.name}.{name}"


def test_import_is_light() -> None:
    heavy = ("duckdb", "polars", "pandas", "deltalake", "pyarrow", "sqlalchemy")
    code = f"import sys, cinefeat; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_quality_loads_its_modules_on_first_use() -> None:
    heavy = ("scipy", "sklearn", "lightgbm", "matplotlib", "pandera")
    code = (
        "import sys; from cinefeat.quality import profile_frame, list_alerts; "
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    import cinefeat.quality as quality

    assert sorted(quality._LAZY) == sorted(quality.__all__)
    assert all(getattr(quality, name) is not None for name in quality.__all__)
