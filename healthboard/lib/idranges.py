"""Ranges of primary keys: for work dealt out by id (the CTA rules after a nightly run give
each worker the accounts of one range, scoring.actions.rules.account_ranges), and whether a
set of ids is better read or locked as the range it spans (spread_thin)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class IdRange:
    """The ids from `start` (included) to `stop` (excluded); None leaves that side open."""

    start: int | None = None
    stop: int | None = None

    def sql(self, column: str) -> tuple[str, list]:
        """` AND column >= %s AND column < %s` (the bounds set), and its parameters."""
        sql, params = "", []
        if self.start is not None:
            sql, params = f" AND {column} >= %s", [self.start]
        if self.stop is not None:
            sql, params = f"{sql} AND {column} < %s", [*params, self.stop]
        return sql, params

    def as_list(self) -> list[int | None]:
        """[start, stop]: how a task's message carries it."""
        return [self.start, self.stop]


def id_ranges(bounds: list[int]) -> list[IdRange]:
    """The ranges between sorted, distinct bounds, open at both ends: [a, b] gives
    (…, a), [a, b), [b, …)."""
    edges: list[int | None] = [None, *bounds, None]
    return [IdRange(start, stop) for start, stop in zip(edges, edges[1:], strict=False)]


# Ids spread over more than this many times their number are read (or locked) one by one: the
# range from the first to the last would take the rows between them too.
SPARSE = 4


def spread_thin(ids: Sequence[int]) -> bool:
    """Whether sorted ids are too far apart to be taken as the range from the first to the
    last (a sample, a few scattered accounts): the rows between them would be taken too."""
    return int(ids[-1]) - int(ids[0]) + 1 > SPARSE * len(ids)
