"""Feature quality: profiles of feature values and drift between a reference and current data
(and, as they land: rules, the quality score, monitoring, importance and A/B tests).
Needs `pip install 'cinefeat[ml]'` (scipy)."""

from cinefeat.quality._diagnose import Diagnosis, FeatureQualityChecker, Finding
from cinefeat.quality._drift import ColumnDrift, DriftReport, DriftThresholds, detect_drift, psi
from cinefeat.quality._profile import ColumnProfile, FrameProfile, profile_frame
from cinefeat.quality._rules import (
    AllowedValues,
    Custom,
    FeatureValidator,
    InRange,
    Matches,
    NotNull,
    QualityReport,
    Rule,
    RuleResult,
    Unique,
)

__all__ = [
    "AllowedValues",
    "ColumnDrift",
    "ColumnProfile",
    "Custom",
    "Diagnosis",
    "DriftReport",
    "DriftThresholds",
    "FeatureQualityChecker",
    "FeatureValidator",
    "Finding",
    "FrameProfile",
    "InRange",
    "Matches",
    "NotNull",
    "QualityReport",
    "Rule",
    "RuleResult",
    "Unique",
    "detect_drift",
    "profile_frame",
    "psi",
]
