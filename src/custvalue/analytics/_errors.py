"""The error of the analytics package."""

from __future__ import annotations

from .._errors import InputError

__all__ = ["AnalyticsError"]


class AnalyticsError(InputError):
    """Bad input to a monitoring function or report (a month outside the data, an unknown id...)."""
