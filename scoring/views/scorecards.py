"""scorecards pages."""
