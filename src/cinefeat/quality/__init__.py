"""Feature quality: profiles of feature values and drift between a reference and current data
(and, as they land: rules, the quality score, monitoring, importance and A/B tests).
Needs `pip install 'cinefeat[ml]'` (scipy)."""

from cinefeat.quality._alerts import (
    ALERT_KIND,
    Alert,
    AlertSink,
    Breach,
    FileAlertSink,
    HttpAlertSink,
    create_alert_sink,
    list_alerts,
)
from cinefeat.quality._diagnose import Diagnosis, FeatureQualityChecker, Finding
from cinefeat.quality._drift import ColumnDrift, DriftReport, DriftThresholds, detect_drift, psi
from cinefeat.quality._experiment_result import ExperimentResult, FoldMetrics
from cinefeat.quality._experiment_spec import ExperimentSummary, FeatureSet, OfflineExperiment
from cinefeat.quality._experiments import ABTestFramework
from cinefeat.quality._importance import feature_importance
from cinefeat.quality._importance_result import FeatureImportance, ImportanceResult
from cinefeat.quality._importance_store import latest_importance, service_importance
from cinefeat.quality._monitor import MONITOR_KIND, MonitorReport, ViewCheck, monitor_views
from cinefeat.quality._online_analysis import (
    ArmSummary,
    OnlineExperimentResult,
    analyze_online_experiment,
)
from cinefeat.quality._online_assignment import assign_arm, assign_arms, entity_key
from cinefeat.quality._online_experiments import (
    create_online_experiment,
    get_online_experiment,
    list_online_experiments,
    record_outcomes,
    stop_online_experiment,
)
from cinefeat.quality._online_spec import (
    ExperimentError,
    ExperimentNotFoundError,
    ExperimentStoppedError,
    OnlineExperiment,
)
from cinefeat.quality._online_stats import required_sample_sizes
from cinefeat.quality._profile import ColumnProfile, FrameProfile, profile_frame
from cinefeat.quality._report import (
    drift_report,
    experiment_report,
    importance_report,
    project_report,
    view_report,
)
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
from cinefeat.quality._score import SCORE_WEIGHTS, QualityScore, overall_score, score_view
from cinefeat.quality._write_profiles import (
    PROFILE_KIND,
    WriteProfile,
    list_write_profiles,
    profile_written_rows,
    store_write_profile,
)

__all__ = [
    "ALERT_KIND",
    "MONITOR_KIND",
    "PROFILE_KIND",
    "SCORE_WEIGHTS",
    "ABTestFramework",
    "Alert",
    "AlertSink",
    "AllowedValues",
    "ArmSummary",
    "Breach",
    "ColumnDrift",
    "ColumnProfile",
    "Custom",
    "Diagnosis",
    "DriftReport",
    "DriftThresholds",
    "ExperimentError",
    "ExperimentNotFoundError",
    "ExperimentResult",
    "ExperimentStoppedError",
    "ExperimentSummary",
    "FeatureImportance",
    "FeatureQualityChecker",
    "FeatureSet",
    "FeatureValidator",
    "FileAlertSink",
    "Finding",
    "FoldMetrics",
    "FrameProfile",
    "HttpAlertSink",
    "ImportanceResult",
    "InRange",
    "Matches",
    "MonitorReport",
    "NotNull",
    "OfflineExperiment",
    "OnlineExperiment",
    "OnlineExperimentResult",
    "QualityReport",
    "QualityScore",
    "Rule",
    "RuleResult",
    "Unique",
    "ViewCheck",
    "WriteProfile",
    "analyze_online_experiment",
    "assign_arm",
    "assign_arms",
    "create_alert_sink",
    "create_online_experiment",
    "detect_drift",
    "drift_report",
    "entity_key",
    "experiment_report",
    "feature_importance",
    "get_online_experiment",
    "importance_report",
    "latest_importance",
    "list_alerts",
    "list_online_experiments",
    "list_write_profiles",
    "monitor_views",
    "overall_score",
    "profile_frame",
    "profile_written_rows",
    "project_report",
    "psi",
    "record_outcomes",
    "required_sample_sizes",
    "score_view",
    "service_importance",
    "stop_online_experiment",
    "store_write_profile",
    "view_report",
]
