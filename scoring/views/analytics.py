"""analytics pages."""
