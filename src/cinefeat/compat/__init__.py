"""The original design's APIs, as thin wrappers over the core: SimpleFeatureStore (save and
fetch feature tables by name) and AdvancedTMDBPreProcessor (TMDB records to feature frames)."""

from cinefeat.compat._processor import AdvancedTMDBPreProcessor
from cinefeat.compat._simple import SimpleFeatureStore

__all__ = ["AdvancedTMDBPreProcessor", "SimpleFeatureStore"]
