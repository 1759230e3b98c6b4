"""The original design's APIs, as thin wrappers over the core: SimpleFeatureStore (save and
fetch feature tables by name), AdvancedTMDBPreProcessor (TMDB records to feature frames),
FeatureQualityChecker (plain-word diagnosis of a frame's columns), FeatureValidator (rules over
a frame) and ABTestFramework (offline A/B tests of feature sets)."""

from cinefeat._lazy import lazy_exports
from cinefeat.compat._processor import AdvancedTMDBPreProcessor
from cinefeat.compat._simple import SimpleFeatureStore

__all__ = [
    "ABTestFramework",
    "AdvancedTMDBPreProcessor",
    "FeatureQualityChecker",
    "FeatureValidator",
    "SimpleFeatureStore",
]


# The quality names load scipy and Polars: only when asked for.
__getattr__, __dir__ = lazy_exports(
    "cinefeat.compat",
    {
        name: "cinefeat.quality"
        for name in ("ABTestFramework", "FeatureQualityChecker", "FeatureValidator")
    },
    globals(),
)
