"""The e-mail digest: each user's morning summary of their new and overdue calls to action and
of their accounts that changed band, at the hour and on the days they chose.

- scoring.models.digest: the preference (daily, weekly on a weekday, never; time zone; hour)
  and the Digest row that claims a user's local day before the e-mail goes.
- content: what a digest says (reads only).
- send: the beat's work: who is due, claim, compose, send, release on failure.
"""
