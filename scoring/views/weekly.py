"""weekly pages."""
