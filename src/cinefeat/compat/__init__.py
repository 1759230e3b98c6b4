"""The original design's APIs, as thin wrappers over the core: SimpleFeatureStore (save and
fetch feature tables by name), AdvancedTMDBPreProcessor (TMDB records to feature frames),
FeatureQualityChecker (plain-word diagnosis of a frame's columns), FeatureValidator (rules over
a frame) and ABTestFramework (offline A/B tests of feature sets)."""

from typing import Any

from cinefeat.compat._processor import AdvancedTMDBPreProcessor
from cinefeat.compat._simple import SimpleFeatureStore

__all__ = [
    "ABTestFramework",
    "AdvancedTMDBPreProcessor",
    "FeatureQualityChecker",
    "FeatureValidator",
    "SimpleFeatureStore",
]


def __getattr__(name: str) -> Any:
    # The quality names load scipy and Polars: only when asked for.
    if name == "FeatureQualityChecker":
        from cinefeat.quality import FeatureQualityChecker

        return FeatureQualityChecker
    if name == "FeatureValidator":
        from cinefeat.quality import FeatureValidator

        return FeatureValidator
    if name == "ABTestFramework":
        from cinefeat.quality import ABTestFramework

        return ABTestFramework
    raise AttributeError(f"module 'cinefeat.compat' has no attribute {name!r}")
