"""Redis's faults as the app meets them: handing work to Celery, and using the cache."""

from __future__ import annotations

from kombu.exceptions import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# What `delay()` raises when Redis does not answer: kombu's OperationalError from the broker,
# or a RuntimeError from the Redis result store, which is asked first (to listen for the
# task's result) and so answers first when one Redis serves both — as when Redis is down.
QUEUE_DOWN = (OperationalError, RuntimeError)

QUEUE_DOWN_TEXT = "the task queue (Redis) does not answer"

# What Django's Redis cache raises when Redis refuses the connection or does not answer
# within the cache's socket timeouts (settings.CACHES).
CACHE_DOWN = (RedisConnectionError, RedisTimeoutError)
