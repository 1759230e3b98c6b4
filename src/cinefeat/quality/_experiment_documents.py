"""Where experiments of both modes live in the registry (one document kind, its keys) and the
project-wide uniqueness of experiment names, shared by offline and online experiments."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cinefeat.quality._online_spec import ExperimentError

if TYPE_CHECKING:
    from cinefeat.registry import QualityRecords

__all__ = ["ANALYSIS_KEY", "KIND", "SPEC_KEY", "check_name_is_free"]

KIND = "experiment"  # the document kind of both modes (subject = the experiment's id)
SPEC_KEY = "spec"  # the definition (its body's "mode" says offline or online)
ANALYSIS_KEY = "analysis"  # an online experiment's latest stored analysis


def check_name_is_free(records: QualityRecords, name: str) -> None:
    """Refuse `name` if an experiment of either mode already has it."""
    for document in records.list_documents(KIND):
        if document.key == SPEC_KEY and document.body.get("name") == name:
            mode = document.body.get("mode", "?")
            raise ExperimentError(
                f"name: an experiment named {name!r} already exists ({document.subject}, "
                f"{mode}); experiment names are unique per project"
            )
