"""The Django signals accounts sends. Layers above listen (scoring re-scores the accounts),
so accounts never imports them."""

from django.dispatch import Signal

# Sent once the transaction that stored new signals has committed, with
# `account_ids`: the set of accounts whose signals changed.
signals_ingested = Signal()
