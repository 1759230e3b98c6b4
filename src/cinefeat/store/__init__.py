"""FeatureStore, the facade a user works with."""

from cinefeat.store._push import PushTarget
from cinefeat.store._quality_hooks import monitor_after
from cinefeat.store._store import FeatureStore

__all__ = ["FeatureStore", "PushTarget", "monitor_after"]
