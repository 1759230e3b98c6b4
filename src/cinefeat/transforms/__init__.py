"""Feature engineering: turning raw events into feature rows."""

from cinefeat.transforms.rating_stats import daily_movie_stats, daily_user_stats

__all__ = ["daily_movie_stats", "daily_user_stats"]
