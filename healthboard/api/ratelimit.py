"""Requests per token per window, counted in Django's cache (Redis when REDIS_URL is set, so
every web process shares one count).

A fixed window: the count starts again at each multiple of the window (every minute by
default). Clients read where they stand from the RateLimit-* headers on every answer.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from healthboard.lib.queue import CACHE_DOWN

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateState:
    limit: int
    used: int
    reset: int  # seconds until the window starts again

    @property
    def allowed(self) -> bool:
        return self.used <= self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def headers(self) -> dict[str, str]:
        """The RateLimit-* header fields (IETF draft), and Retry-After once refused."""
        fields = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            fields["Retry-After"] = str(self.reset)
        return fields


def rate_take(*, key: str) -> RateState:
    """Count one request for `key` (a token) in the current window."""
    limit = settings.API_RATE_LIMIT
    window = settings.API_RATE_WINDOW_SECONDS
    now = time.time()
    start = int(now // window) * window
    name = f"api-rate:{key}:{start}"
    # add() is a no-op when the key exists, so concurrent first requests do not reset it;
    # the key outlives its window a little and then expires.
    try:
        cache.add(name, 0, timeout=window + 5)
        try:
            used = cache.incr(name)
        except ValueError:  # expired between add() and incr()
            cache.set(name, 1, timeout=window + 5)
            used = 1
    except CACHE_DOWN as exc:
        # Without its counts the API still answers (uncounted): the limit protects the
        # server from a runaway client, and refusing everyone while Redis is down would not.
        logger.warning("API request not counted for its rate limit: the cache failed (%s)", exc)
        used = 0
    reset = max(1, math.ceil(start + window - now))
    return RateState(limit=limit, used=used, reset=reset)
