"""Feature quality: drift between a reference and current data (and, as they land: rules,
profiles, the quality score, monitoring, importance and A/B tests of feature sets).
Needs `pip install 'cinefeat[ml]'` (scipy)."""

from cinefeat.quality._drift import ColumnDrift, DriftReport, DriftThresholds, detect_drift, psi

__all__ = ["ColumnDrift", "DriftReport", "DriftThresholds", "detect_drift", "psi"]
