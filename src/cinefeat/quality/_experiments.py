"""Offline A/B tests of feature sets: `ABTestFramework(store)` creates experiments (stored in
the registry as "experiment" documents), runs them on a point-in-time training set split by
time and user, and stores each result. The definition is in `_experiment_spec`, the statistics
in `_ab_stats`, the models in `_ab_models`, the result in `_experiment_result`;
docs/experiments.md has the method."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from cinefeat.definitions import FeatureService
from cinefeat.errors import CinefeatError
from cinefeat.offline import entity_timestamp_column, to_arrow_table
from cinefeat.quality._ab_models import feature_matrix, fit_predict
from cinefeat.quality._ab_stats import TESTS, FoldStats, compare_arms, time_user_folds
from cinefeat.quality._ab_stats import user_stats as per_user_stats
from cinefeat.quality._experiment_documents import (
    ANALYSIS_KEY,
    KIND,
    SPEC_KEY,
    check_name_is_free,
)
from cinefeat.quality._experiment_result import ExperimentResult, FoldMetrics
from cinefeat.quality._experiment_spec import (
    ExperimentSummary,
    FeatureSet,
    OfflineExperiment,
    check_settings,
)
from cinefeat.quality._online_spec import ExperimentError, ExperimentNotFoundError
from cinefeat.registry import (
    QualityRecords,
    parse_feature_ref,
    resolve_features,
)
from cinefeat.timeutil import from_micros
from cinefeat.types import Array

if TYPE_CHECKING:
    from cinefeat.quality._online_analysis import OnlineExperimentResult
    from cinefeat.quality._online_spec import OnlineExperiment
    from cinefeat.store import FeatureStore

# The definition's types are re-exported: other modules import them from here.
__all__ = ["ABTestFramework", "ExperimentSummary", "FeatureSet", "OfflineExperiment"]

RESULT = "result"  # an offline run's latest result (each run also under "result-<time>")

Features = Sequence[str] | FeatureService | str


class ABTestFramework:
    """A/B tests of feature sets on one store: offline (`create_experiment`, `run_experiment`:
    cross-validated models on a point-in-time training set) and online (`create_online_
    experiment`, `analyze_online_experiment`, `stop_online_experiment`: live traffic split by
    the REST server; see cinefeat.quality._online_experiments).

    >>> ab = ABTestFramework(store)
    >>> exp = ab.create_experiment("add_genre", ["user_stats:avg_rating"],
    ...                            ["user_stats:avg_rating", "movie_stats:genre_share"],
    ...                            label="rating", metric="rmse")
    >>> result = ab.run_experiment(exp, ratings)  # entity_df: keys, event_timestamp, rating
    >>> result.decision, result.p_value, result.effect
    """

    def __init__(self, store: FeatureStore) -> None:
        self.store = store

    @property
    def _records(self) -> QualityRecords:
        return self.store.registry.quality_records()

    # -- definitions ------------------------------------------------------------------------

    def _feature_set(self, features: Features, arm: str) -> FeatureSet:
        service: str | None = None
        if isinstance(features, FeatureService):
            service, refs = features.name, features.feature_refs()
        elif isinstance(features, str) and ":" not in features:
            service = features
            try:
                refs = self.store.get_feature_service(features).feature_refs()
            except CinefeatError as exc:
                raise type(exc)(f"{arm} features: {exc}") from None
        else:
            refs = [features] if isinstance(features, str) else list(features)
        try:
            normalised = [str(parse_feature_ref(ref)) for ref in refs]
            resolution = resolve_features(
                self.store.registry.snapshot(), self.store.registry.get_feature_view, refs, True
            )
        except CinefeatError as exc:
            raise type(exc)(f"{arm} features: {exc}") from None
        dtypes = {
            f"{item.view.name}:{name}": item.view.field(name).dtype
            for item in resolution.views
            for name in item.features
        }
        for computed in resolution.on_demand:
            schema = {f.name: f.dtype for f in computed.view.schema}
            dtypes.update({f"{computed.view.name}:{n}": schema[n] for n in computed.features})
        arrays = [ref for ref, dtype in dtypes.items() if isinstance(dtype, Array)]
        if arrays:
            raise ExperimentError(
                f"{arm} features: {arrays} are arrays, which a model cannot take as inputs"
            )
        return FeatureSet(tuple(normalised), service)

    def create_experiment(
        self,
        name: str,
        control_features: Features,
        treatment_features: Features,
        label: str,
        metric: str = "rmse",
        *,
        model: str = "lightgbm",
        folds: int = 5,
        alpha: float = 0.05,
        n_bootstrap: int = 2000,
        seed: int = 0,
        user_column: str = "user_id",
        ndcg_k: int = 10,
        test: str = "t",
        test_fraction: float = 0.3,
        description: str = "",
    ) -> str:
        """Define an experiment and store it; returns its id (`exp-` and 12 hex digits).
        Features are references ("view:feature"), a service name or a FeatureService; they
        must resolve now, and the arms must differ. Names are unique per project across
        offline and online experiments."""
        check_settings(
            name, label, metric, model, folds, alpha, n_bootstrap, ndcg_k, test, test_fraction
        )
        control = self._feature_set(control_features, "control")
        treatment = self._feature_set(treatment_features, "treatment")
        if set(control.refs) == set(treatment.refs):
            raise ExperimentError(
                f"treatment_features: the same features as the control {sorted(control.refs)}; "
                "an experiment compares two different feature sets"
            )
        check_name_is_free(self._records, name)
        experiment = OfflineExperiment(
            f"exp-{secrets.token_hex(6)}", name, control, treatment, label, metric, model,
            folds, alpha, n_bootstrap, seed, user_column, ndcg_k, test, test_fraction,
            description,
        )  # fmt: skip
        self._records.put_document(
            KIND, experiment.experiment_id, SPEC_KEY, experiment.to_dict(), experiment.created_at
        )
        return experiment.experiment_id

    def get_experiment(self, experiment_id: str) -> OfflineExperiment:
        document = self._records.get_document(KIND, experiment_id, SPEC_KEY)
        if document is None:
            raise ExperimentNotFoundError(f"experiment {experiment_id!r}: no such experiment")
        if document.body.get("mode") != "offline":
            raise ExperimentNotFoundError(
                f"experiment {experiment_id!r} ({document.body.get('name')}) is an online "
                "experiment; ABTestFramework runs offline ones"
            )
        return OfflineExperiment.from_dict(document.body)

    def list_experiments(self) -> list[ExperimentSummary]:
        """Every experiment of the project, offline and online, newest first."""
        documents = self._records.list_documents(KIND)
        # An offline run's "result", an online experiment's latest "analysis".
        decisions = {
            d.subject: d.body.get("decision") for d in documents if d.key in (RESULT, ANALYSIS_KEY)
        }
        return [
            ExperimentSummary(
                d.subject,
                str(d.body.get("name", "")),
                str(d.body.get("mode", "")),
                d.created_at,
                decisions.get(d.subject),
                str(d.body.get("description", "")),
            )
            for d in documents
            if d.key == SPEC_KEY
        ]

    # -- online experiments (the REST server splits traffic; see docs/experiments-online.md)

    def create_online_experiment(
        self, name: str, control_service: str, treatment_service: str, **options: Any
    ) -> OnlineExperiment:
        """Split live traffic between two feature services (options: metric,
        minimum_detectable_effect, baseline, alpha, power, treatment_share, unit_keys, ...)."""
        from cinefeat.quality._online_experiments import create_online_experiment

        return create_online_experiment(
            self.store, name, control_service, treatment_service, **options
        )

    def analyze_online_experiment(self, experiment_id: str) -> OnlineExperimentResult:
        """The fixed-horizon analysis of an online experiment's outcomes so far (stored)."""
        from cinefeat.quality._online_analysis import analyze_online_experiment

        return analyze_online_experiment(self.store, experiment_id)

    def stop_online_experiment(self, experiment_id: str) -> OnlineExperiment:
        """Serve everyone the control arm again; outcomes are refused from now on."""
        from cinefeat.quality._online_experiments import stop_online_experiment

        return stop_online_experiment(self.store, experiment_id)

    def get_result(self, experiment_id: str) -> ExperimentResult | None:
        """The latest result, or None if the experiment has not run yet."""
        self.get_experiment(experiment_id)
        document = self._records.get_document(KIND, experiment_id, RESULT)
        return None if document is None else ExperimentResult.from_dict(document.body)

    def result_history(self, experiment_id: str) -> list[ExperimentResult]:
        """Every stored result of the experiment, newest first."""
        self.get_experiment(experiment_id)
        documents = self._records.list_documents(KIND, experiment_id)
        return [
            ExperimentResult.from_dict(d.body) for d in documents if d.key.startswith("result-")
        ]

    # -- running ----------------------------------------------------------------------------

    def run_experiment(self, experiment_id: str, entity_df: Any) -> ExperimentResult:
        """Build one point-in-time training set for `entity_df` (join keys, event time, the
        user column and the label), train the same model on each arm over the time-and-user
        folds, compare, store the result (key "result", and "result-<time>" as history) and
        return it. Rows without a label, user or time are left out."""
        spec = self.get_experiment(experiment_id)
        entity = to_arrow_table(entity_df, "entity_df")
        for column, what in ((spec.label, "label"), (spec.user_column, "user column")):
            if column not in entity.column_names:
                raise ExperimentError(
                    f"entity_df has no column {column!r} (the experiment's {what}); "
                    f"its columns are {entity.column_names}"
                )
        time_column = entity_timestamp_column(entity)
        refs = list(dict.fromkeys([*spec.control.refs, *spec.treatment.refs]))
        job = self.store.get_historical_features(entity, refs, full_feature_names=True)
        training = job.to_polars().filter(
            pl.col(spec.label).is_not_null()
            & pl.col(spec.user_column).is_not_null()
            & pl.col(time_column).is_not_null()
        )
        y = _labels(training.get_column(spec.label), spec.metric)
        users = training.get_column(spec.user_column).to_numpy()
        times = training.get_column(time_column).dt.epoch("us").to_numpy()
        splits = time_user_folds(users, times, spec.folds, spec.test_fraction, spec.seed)
        arms = {
            arm: feature_matrix(
                training, [parse_feature_ref(r).full_name() for r in features.refs], features.refs
            )
            for arm, features in (("control", spec.control), ("treatment", spec.treatment))
        }
        classify = spec.metric == "auc"
        fold_stats = []
        for split in splits:
            per_arm = {}
            for arm, matrix in arms.items():
                prediction = fit_predict(
                    spec.model, classify, matrix, y, split.train, split.test, spec.seed
                )
                _, per_arm[arm] = per_user_stats(
                    spec.metric, users[split.test], y[split.test], prediction, spec.ndcg_k
                )
            fold_stats.append(FoldStats(per_arm["control"], per_arm["treatment"]))
        comparison = compare_arms(
            spec.metric, fold_stats, alpha=spec.alpha, n_bootstrap=spec.n_bootstrap,
            seed=spec.seed, test=spec.test,
        )  # fmt: skip
        result = ExperimentResult(
            experiment_id=spec.experiment_id,
            name=spec.name,
            metric=spec.metric,
            decision=comparison.decision,
            p_value=comparison.test.p_value,
            effect=comparison.effect,
            effect_size=comparison.test.effect_size,
            ci_low=comparison.ci_low,
            ci_high=comparison.ci_high,
            confidence=1.0 - spec.alpha,
            control_metric=comparison.control_metric,
            treatment_metric=comparison.treatment_metric,
            folds=tuple(
                FoldMetrics(
                    i,
                    comparison.fold_control[i],
                    comparison.fold_treatment[i],
                    len(split.train),
                    len(split.test),
                    comparison.fold_users[i],
                )
                for i, split in enumerate(splits)
            ),
            n_users=sum(comparison.fold_users),
            n_rows=training.height,
            n_test_rows=sum(len(split.test) for split in splits),
            test=TESTS[spec.test],
            statistic=comparison.test.statistic,
            model=spec.model,
            cutoff=from_micros(splits[0].cutoff),
            control_features=spec.control.refs,
            treatment_features=spec.treatment.refs,
            created_at=datetime.now(UTC),
        )
        self._store_result(result)
        return result

    def _store_result(self, result: ExperimentResult) -> None:
        body = result.to_dict()
        stamp = result.created_at.strftime("%Y%m%dT%H%M%S%fZ")
        # The latest result and its history entry, in one transaction.
        self._records.put_documents(
            [
                (KIND, result.experiment_id, RESULT, body, result.created_at, None),
                (KIND, result.experiment_id, f"result-{stamp}", body, result.created_at, None),
            ]
        )


def _labels(column: pl.Series, metric: str) -> np.ndarray:
    """The label as floats, checked for the metric: 0/1 for AUC, non-negative for NDCG."""
    if not (column.dtype == pl.Boolean or column.dtype.is_numeric()):
        raise ExperimentError(
            f"label {column.name!r} must be numeric or boolean, got {column.dtype}"
        )
    if column.is_empty():
        raise ExperimentError(f"no row of entity_df has a label {column.name!r}, user and time")
    values = column.cast(pl.Float64).to_numpy()
    if not np.isfinite(values).all():
        raise ExperimentError(f"label {column.name!r} holds NaN or infinite values")
    if metric == "auc" and not np.isin(values, (0.0, 1.0)).all():
        raise ExperimentError(f"metric auc needs a 0/1 (or boolean) label; {column.name!r} is not")
    if metric == "ndcg" and (values < 0).any():
        raise ExperimentError(f"metric ndcg needs a non-negative relevance label {column.name!r}")
    return np.asarray(values, dtype=np.float64)
