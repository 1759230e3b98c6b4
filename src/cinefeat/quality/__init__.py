"""Feature quality: validation rules, profiles (one per write), drift, monitoring with alerts
and the quality score, feature importance, A/B tests of feature sets and HTML reports.

Names load on first use: `from cinefeat.quality import detect_drift` imports the drift module
only, so a write's profile or a CLI command does not pay for scipy.stats, pandera or the
experiment code it does not use. Importance, experiment models and plots need
`pip install 'cinefeat[ml]'` (scikit-learn, LightGBM, matplotlib).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cinefeat._lazy import lazy_exports

if TYPE_CHECKING:
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
    from cinefeat.quality._diagnose import (
        Diagnosis,
        FeatureQualityChecker,
        Finding,
    )
    from cinefeat.quality._drift import (
        ColumnDrift,
        DriftReport,
        DriftThresholds,
        detect_drift,
        psi,
    )
    from cinefeat.quality._experiment_result import (
        ExperimentResult,
        FoldMetrics,
    )
    from cinefeat.quality._experiment_spec import (
        ExperimentSummary,
        FeatureSet,
        OfflineExperiment,
    )
    from cinefeat.quality._experiments import (
        ABTestFramework,
    )
    from cinefeat.quality._importance import (
        feature_importance,
    )
    from cinefeat.quality._importance_result import (
        FeatureImportance,
        ImportanceResult,
    )
    from cinefeat.quality._importance_store import (
        latest_importance,
        service_importance,
    )
    from cinefeat.quality._monitor import (
        MONITOR_KIND,
        MonitorReport,
        ViewCheck,
        monitor_views,
    )
    from cinefeat.quality._online_analysis import (
        ArmSummary,
        OnlineExperimentResult,
        analyze_online_experiment,
    )
    from cinefeat.quality._online_assignment import (
        assign_arm,
        assign_arms,
        entity_key,
        entity_keys,
    )
    from cinefeat.quality._online_experiments import (
        create_online_experiment,
        get_online_experiment,
        list_online_experiments,
        record_outcomes,
        stop_online_experiment,
    )
    from cinefeat.quality._online_spec import (
        Arm,
        ExperimentError,
        ExperimentNotFoundError,
        ExperimentStoppedError,
        OnlineExperiment,
    )
    from cinefeat.quality._online_stats import (
        required_sample_sizes,
    )
    from cinefeat.quality._profile import (
        ColumnProfile,
        FrameProfile,
        profile_frame,
    )
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
    from cinefeat.quality._samples import SAMPLE_FORMS, read_view_sample
    from cinefeat.quality._score import (
        SCORE_WEIGHTS,
        QualityScore,
        overall_score,
        score_view,
    )
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
    "SAMPLE_FORMS",
    "SCORE_WEIGHTS",
    "ABTestFramework",
    "Alert",
    "AlertSink",
    "AllowedValues",
    "Arm",
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
    "entity_keys",
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
    "read_view_sample",
    "record_outcomes",
    "required_sample_sizes",
    "score_view",
    "service_importance",
    "stop_online_experiment",
    "store_write_profile",
    "view_report",
]

# Each public name and the module that defines it.
_LAZY: dict[str, str] = {
    "Arm": "cinefeat.quality._online_spec",
    "entity_keys": "cinefeat.quality._online_assignment",
    "SAMPLE_FORMS": "cinefeat.quality._samples",
    "read_view_sample": "cinefeat.quality._samples",
    "ABTestFramework": "cinefeat.quality._experiments",
    "ALERT_KIND": "cinefeat.quality._alerts",
    "Alert": "cinefeat.quality._alerts",
    "AlertSink": "cinefeat.quality._alerts",
    "AllowedValues": "cinefeat.quality._rules",
    "ArmSummary": "cinefeat.quality._online_analysis",
    "Breach": "cinefeat.quality._alerts",
    "ColumnDrift": "cinefeat.quality._drift",
    "ColumnProfile": "cinefeat.quality._profile",
    "Custom": "cinefeat.quality._rules",
    "Diagnosis": "cinefeat.quality._diagnose",
    "DriftReport": "cinefeat.quality._drift",
    "DriftThresholds": "cinefeat.quality._drift",
    "ExperimentError": "cinefeat.quality._online_spec",
    "ExperimentNotFoundError": "cinefeat.quality._online_spec",
    "ExperimentResult": "cinefeat.quality._experiment_result",
    "ExperimentStoppedError": "cinefeat.quality._online_spec",
    "ExperimentSummary": "cinefeat.quality._experiment_spec",
    "FeatureImportance": "cinefeat.quality._importance_result",
    "FeatureQualityChecker": "cinefeat.quality._diagnose",
    "FeatureSet": "cinefeat.quality._experiment_spec",
    "FeatureValidator": "cinefeat.quality._rules",
    "FileAlertSink": "cinefeat.quality._alerts",
    "Finding": "cinefeat.quality._diagnose",
    "FoldMetrics": "cinefeat.quality._experiment_result",
    "FrameProfile": "cinefeat.quality._profile",
    "HttpAlertSink": "cinefeat.quality._alerts",
    "ImportanceResult": "cinefeat.quality._importance_result",
    "InRange": "cinefeat.quality._rules",
    "MONITOR_KIND": "cinefeat.quality._monitor",
    "Matches": "cinefeat.quality._rules",
    "MonitorReport": "cinefeat.quality._monitor",
    "NotNull": "cinefeat.quality._rules",
    "OfflineExperiment": "cinefeat.quality._experiment_spec",
    "OnlineExperiment": "cinefeat.quality._online_spec",
    "OnlineExperimentResult": "cinefeat.quality._online_analysis",
    "PROFILE_KIND": "cinefeat.quality._write_profiles",
    "QualityReport": "cinefeat.quality._rules",
    "QualityScore": "cinefeat.quality._score",
    "Rule": "cinefeat.quality._rules",
    "RuleResult": "cinefeat.quality._rules",
    "SCORE_WEIGHTS": "cinefeat.quality._score",
    "Unique": "cinefeat.quality._rules",
    "ViewCheck": "cinefeat.quality._monitor",
    "WriteProfile": "cinefeat.quality._write_profiles",
    "analyze_online_experiment": "cinefeat.quality._online_analysis",
    "assign_arm": "cinefeat.quality._online_assignment",
    "assign_arms": "cinefeat.quality._online_assignment",
    "create_alert_sink": "cinefeat.quality._alerts",
    "create_online_experiment": "cinefeat.quality._online_experiments",
    "detect_drift": "cinefeat.quality._drift",
    "drift_report": "cinefeat.quality._report",
    "entity_key": "cinefeat.quality._online_assignment",
    "experiment_report": "cinefeat.quality._report",
    "feature_importance": "cinefeat.quality._importance",
    "get_online_experiment": "cinefeat.quality._online_experiments",
    "importance_report": "cinefeat.quality._report",
    "latest_importance": "cinefeat.quality._importance_store",
    "list_alerts": "cinefeat.quality._alerts",
    "list_online_experiments": "cinefeat.quality._online_experiments",
    "list_write_profiles": "cinefeat.quality._write_profiles",
    "monitor_views": "cinefeat.quality._monitor",
    "overall_score": "cinefeat.quality._score",
    "profile_frame": "cinefeat.quality._profile",
    "profile_written_rows": "cinefeat.quality._write_profiles",
    "project_report": "cinefeat.quality._report",
    "psi": "cinefeat.quality._drift",
    "record_outcomes": "cinefeat.quality._online_experiments",
    "required_sample_sizes": "cinefeat.quality._online_stats",
    "score_view": "cinefeat.quality._score",
    "service_importance": "cinefeat.quality._importance_store",
    "stop_online_experiment": "cinefeat.quality._online_experiments",
    "store_write_profile": "cinefeat.quality._write_profiles",
    "view_report": "cinefeat.quality._report",
}


__getattr__, __dir__ = lazy_exports("cinefeat.quality", _LAZY, globals())
