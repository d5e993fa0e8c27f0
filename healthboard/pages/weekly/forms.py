"""The weekly review's GET parameters: which week, what the chart counts, what to export.

`week` is any date (YYYY-MM-DD) and stands for the Monday–Sunday week around it; a value the
form does not know falls back to the default and is named in `ignored`, never an error page.
"""

from __future__ import annotations

import datetime as dt

from django.http import QueryDict

from healthboard.pages.weekly.selectors import WEEK, week_end_default, week_end_of

ACCOUNTS, ARR = "accounts", "arr"
MEASURES = {ACCOUNTS: "Accounts", ARR: "ARR"}
EXPORTS = ("movers", "csms")
# The picker lists at most this many weeks back from the newest.
PICKER_WEEKS = 52


def _shorten(value: str, limit: int = 30) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


class WeekChoice:
    """The cleaned parameters. `week_end` is the Sunday of the chosen week."""

    def __init__(self, data: QueryDict, *, today: dt.date) -> None:
        self.today = today
        self.ignored: list[str] = []
        self.default_week = week_end_default(today)
        self.explicit = False
        raw = (data.get("week") or "").strip()
        self.week_end = self.default_week
        if raw:
            try:
                week_end = week_end_of(dt.date.fromisoformat(raw))
            except ValueError:
                self.ignored.append(
                    f"week “{_shorten(raw)}” (not a date; use YYYY-MM-DD): showing the week "
                    f"ending {self.default_week:%-d %B %Y}"
                )
            else:
                if week_end > week_end_of(today):
                    self.ignored.append(
                        f"week “{_shorten(raw)}” (that week has not begun): showing the week "
                        f"ending {self.default_week:%-d %B %Y}"
                    )
                else:
                    self.week_end, self.explicit = week_end, True
        raw_measure = (data.get("measure") or "").strip()
        self.measure = raw_measure if raw_measure in MEASURES else ACCOUNTS
        if raw_measure and raw_measure not in MEASURES:
            self.ignored.append(f"measure “{_shorten(raw_measure)}” (use accounts or arr)")
        raw_export = (data.get("export") or "").strip()
        self.export = raw_export if raw_export in EXPORTS else ""
        if raw_export and not self.export:
            self.ignored.append(f"export “{_shorten(raw_export)}” (use movers or csms)")

    def fall_back(self, reason: str) -> None:
        """The chosen week has nothing to show: the default week instead, and why."""
        self.ignored.append(reason)
        self.week_end = self.default_week
        self.explicit = False

    def query(self, **changes) -> QueryDict:
        """The applied parameters as a URL query (defaults left out), with `changes`."""
        values = {
            "week": self.week_end.isoformat() if self.explicit else "",
            "measure": self.measure if self.measure != ACCOUNTS else "",
        }
        values.update({k: "" if v is None else str(v) for k, v in changes.items()})
        query = QueryDict(mutable=True)
        for key, value in values.items():
            if value:
                query[key] = value
        return query

    def weeks(self, *, first: dt.date, last: dt.date) -> list[dict]:
        """The picker's choices, newest first: every week with a done run, up to PICKER_WEEKS
        (and the chosen one, wherever it is)."""
        newest = week_end_of(last)
        oldest = max(week_end_of(first), newest - WEEK * (PICKER_WEEKS - 1))
        choices = []
        sunday = newest
        while sunday >= oldest:
            choices.append(sunday)
            sunday -= WEEK
        if self.week_end not in choices:
            choices.append(self.week_end)
            choices.sort(reverse=True)
        return [
            {
                "value": sunday.isoformat(),
                "label": self._label(sunday),
                "selected": sunday == self.week_end,
            }
            for sunday in choices
        ]

    def _label(self, sunday: dt.date) -> str:
        monday = sunday - dt.timedelta(days=6)
        text = f"{monday:%-d %b} – {sunday:%-d %b %Y}"
        if sunday >= self.today:
            return f"{text} (this week, so far)"
        if sunday == self.default_week:
            return f"{text} (last week)"
        return text
