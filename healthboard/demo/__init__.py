"""The demo data set: tooling, never imported by product code.

`manage.py seed_demo` calls seed.generate(), which uses one module per job:

- plan.py: the accounts' attributes, drawn up front from the seed (and which random stream
  each later step draws from, the heart of the determinism)
- simulation.py: hidden health, churn and the signals drawn from it (numpy only)
- companies.py: each chunk's account rows, journey stage, notes and hidden-health truth
- texts.py: company names, signal texts and note texts
- users.py: the demo logins and their roles
- writers.py: bulk writes (COPY on PostgreSQL) and the signal table's index handling

check.py (`manage.py check_demo_scores`) compares the scores with the hidden health.
"""


class DemoError(ValueError):
    """Bad arguments or a database the generator cannot run on; the message says which."""
