"""The REST API, /api/v1/ (django-ninja): accounts, metrics and signals in, scores out.

Beside the pages at the top of the layers. Writes go through the imports' checks and writes
(accounts.imports): the same rules for a CSV file and an API batch. Tokens live in
healthboard.tokens; every write call is recorded there with its token.

- api.py: the NinjaAPI, its error handlers and the wrapper every call passes through
  (request size, rate-limit headers, the write-call record)
- auth.py: bearer tokens, read or read-write, counted against the rate limit
- errors.py: JSON errors that say what is wrong and where
- idempotency.py: Idempotency-Key replays
- accounts.py, metrics.py, signals.py: the endpoints; selectors.py: their reads
"""
