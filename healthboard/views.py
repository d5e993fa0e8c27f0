"""Project-level pages. The home page is the portfolio, the page CSMs start their day on."""

from accounts.views.portfolio import portfolio as home

__all__ = ["home"]
