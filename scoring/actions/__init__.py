"""Calls to action: the rule kinds (kinds), their evaluation after each run (rules), and the
writes a CSM makes on a CTA (services). The models are in scoring.models.actions."""
