"""The task queue's faults as the app meets them when it hands work to Celery."""

from __future__ import annotations

from kombu.exceptions import OperationalError

# What `delay()` raises when Redis does not answer: kombu's OperationalError from the broker,
# or a RuntimeError from the Redis result store, which is asked first (to listen for the
# task's result) and so answers first when one Redis serves both — as when Redis is down.
QUEUE_DOWN = (OperationalError, RuntimeError)

QUEUE_DOWN_TEXT = "the task queue (Redis) does not answer"
