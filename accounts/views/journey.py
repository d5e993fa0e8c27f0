"""journey pages."""
