"""Feature quality: profiles of feature values and drift between a reference and current data
(and, as they land: rules, the quality score, monitoring, importance and A/B tests).
Needs `pip install 'cinefeat[ml]'` (scipy)."""

from cinefeat.quality._diagnose import Diagnosis, FeatureQualityChecker, Finding
from cinefeat.quality._drift import ColumnDrift, DriftReport, DriftThresholds, detect_drift, psi
from cinefeat.quality._profile import ColumnProfile, FrameProfile, profile_frame

__all__ = [
    "ColumnDrift",
    "ColumnProfile",
    "Diagnosis",
    "DriftReport",
    "DriftThresholds",
    "FeatureQualityChecker",
    "Finding",
    "FrameProfile",
    "detect_drift",
    "profile_frame",
    "psi",
]
