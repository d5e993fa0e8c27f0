"""API tokens (the REST API's credentials), the write calls made with them and the responses
kept for Idempotency-Key replays.

A Django app of its own below the pages and the API: the token page (healthboard.pages.tokens)
creates and revokes tokens, the API (healthboard.api) authenticates with them, and neither
of those two imports the other.
"""
