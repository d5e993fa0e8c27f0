"""detail pages."""
