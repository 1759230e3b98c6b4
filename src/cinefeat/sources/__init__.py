"""Where raw data comes from: loaders and the seeded synthetic generator."""

from cinefeat.sources.synthetic import SyntheticConfig, generate_rating_events

__all__ = ["SyntheticConfig", "generate_rating_events"]
