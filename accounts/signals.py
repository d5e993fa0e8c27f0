"""Receivers hand off to tasks in one line; no domain logic lives here."""
