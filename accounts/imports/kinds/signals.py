"""Signals: one time-stamped value per account and metric.

A re-sent signal is stored once: by (source, external id) when it has an external id (the
database's unique index), by (account, metric, observed at, value, source) when it has
none (an anti-join against the stored signals without an id). Both are one INSERT … SELECT
from the staged rows, so a million rows are one statement, not a million. A file with
nothing wrong in it may skip the stage altogether (accounts.imports.direct).
"""

from __future__ import annotations

import datetime as dt
import json

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from accounts.imports.cells import CellError, parse_datetime, parse_float
from accounts.imports.columns import Column
from accounts.imports.errors import ImportRefused, MappingError, RowError
from accounts.imports.kinds import Batch, Counts, DuplicateKey, Kind
from accounts.imports.staging import Staging
from accounts.models import Account, Metric, Signal
from healthboard.lib.keylocks import keys_lock

# Accounts remembered between batches (external id → pk); cleared when larger, so memory
# stays bounded by this, not by the file or the number of accounts.
ACCOUNT_CACHE_MAX = 200_000
LOOKUP_CHUNK = 5_000
# A date without a time is observed at noon, local time: the same calendar day in every
# time zone a team is likely to be in.
DATE_AT = dt.time(12)
# Clocks differ: a signal up to a day ahead is accepted.
FUTURE_SLACK = dt.timedelta(days=1)

SIGNAL = Signal._meta.db_table
ACCOUNT = Account._meta.db_table
METRIC = Metric._meta.db_table
LENGTH = {f: Signal._meta.get_field(f).max_length for f in ("category", "source", "external_id")}


def lock_referenced(table: str, ids: set[int], noun: str) -> None:
    """What a foreign key's check does row by row, once for the set: lock the rows the new
    signals refer to (FOR KEY SHARE: a concurrent delete waits for this commit) and make
    sure none was deleted since the rows were checked; ImportRefused rolls back."""
    if not ids:
        return
    locked = keys_lock(table, ids)
    if len(locked) < len(ids):
        gone = sorted(ids - locked)
        raise ImportRefused(
            _(
                "%(count)s %(noun)s (ids %(ids)s) were deleted while the file was being "
                "imported: nothing imported. Import it again."
            )
            % {
                "count": format(len(gone), ","),
                "noun": noun,
                "ids": ", ".join(map(str, gone[:10])),
            }
        )


def _missing(raw: str, reason: str) -> str:
    return reason if raw else "a value is required"


class SignalsKind(Kind):
    name = "signals"
    noun = "signal(s)"
    columns = (
        Column(
            "account",
            gettext_noop("Account"),
            required=True,
            synonyms=(
                "account id",
                "account external id",
                "account external_id",
                "customer id",
                "customer",
                "company id",
                "crm id",
            ),
            help=gettext_lazy("The account's external id (its id in the CRM)."),
        ),
        Column(
            "metric",
            gettext_noop("Metric"),
            required=True,
            synonyms=("metric key", "metric id", "key", "indicator"),
            help=gettext_lazy("The metric's key in the catalogue (logins, csat, …)."),
        ),
        Column(
            "observed_at",
            gettext_noop("Observed at"),
            required=True,
            synonyms=(
                "date",
                "datetime",
                "timestamp",
                "time",
                "observed",
                "observed on",
                "occurred at",
                "event time",
                "created at",
            ),
            help=gettext_lazy(
                "ISO date or date-time (2026-11-01, 2026-11-01T10:00:00Z); day-first on request."
            ),
        ),
        Column(
            "value",
            gettext_noop("Value"),
            required=True,
            synonyms=("amount", "count", "score", "number"),
            help=gettext_lazy("A number; decimal commas in semicolon-delimited files."),
        ),
        Column(
            "category",
            gettext_noop("Category"),
            synonyms=("subject", "severity", "tag", "type"),
            help=gettext_lazy("A ticket's subject or severity, …"),
        ),
        Column("text", gettext_noop("Text"), synonyms=("comment", "note", "body", "description")),
        Column(
            "source",
            gettext_noop("Source"),
            synonyms=("system", "origin"),
            help=gettext_lazy(
                "Where the signal comes from (crm, zendesk, …); or one source for the file."
            ),
        ),
        Column(
            "external_id",
            gettext_noop("External id"),
            synonyms=("id", "signal id", "event id", "record id", "ticket id"),
            help=gettext_lazy("The signal's id in its source: a re-sent signal is stored once."),
        ),
    )
    staging = (
        ("row_no", "integer"),
        ("account_id", "bigint"),
        ("metric_id", "bigint"),
        ("observed_at", "timestamptz"),
        ("value", "double precision"),
        ("category", "text"),
        ("text", "text"),
        ("source", "text"),
        ("external_id", "text"),
    )
    duplicate_keys = (
        DuplicateKey(("source", "external_id"), "external_id", "external_id IS NOT NULL"),
        DuplicateKey(
            ("account_id", "metric_id", "observed_at", "value", "source"),
            "value",
            "external_id IS NULL",
        ),
    )

    def __init__(self, *, options, limits, user=None) -> None:
        super().__init__(options=options, limits=limits, user=user)
        self.default_source = (options.source or "").strip()
        self._accounts: dict[str, int | None] = {}
        self._account_keys: dict[int, str] = {}
        self._metrics: dict[str, int] = {}
        self._metric_keys: dict[int, str] = {}
        # Every account is in self._accounts (accounts_preload): a key not there is unknown.
        self._all_accounts = False

    def start(self, mapping, *, decimal_comma: bool) -> None:
        super().start(mapping, decimal_comma=decimal_comma)
        if mapping.index("source") is None and not self.default_source:
            raise MappingError(
                _(
                    "The file has no source column: name the system its signals come from "
                    "(crm, zendesk, …) for the whole file."
                )
            )
        if len(self.default_source) > LENGTH["source"]:
            raise MappingError(
                _("The source name is longer than %(max)s characters.") % {"max": LENGTH["source"]}
            )
        for key, pk in Metric.objects.values_list("key", "pk"):
            self._metrics[key] = pk
            self._metrics.setdefault(key.lower(), pk)
            self._metric_keys[pk] = key

    def accounts_preload(self, batch: Batch | None = None) -> bool:
        """Look every account up at once (those of `batch` when given), when there are at
        most ACCOUNT_CACHE_MAX of them: one query, and the batches then query nothing.
        Returns whether it did."""
        if batch is not None:
            self._lookup_accounts(batch, self.mapping.index("account"))
        elif Account.objects.count() <= ACCOUNT_CACHE_MAX:
            self._accounts = dict(Account.objects.values_list("external_id", "pk"))
        else:
            return False
        self._all_accounts = True
        return True

    # ------------------------------------------------------------ per batch

    def _lookup_accounts(self, batch: Batch, index: int) -> dict[str, int | None]:
        cache = self._accounts
        if self._all_accounts:
            return cache
        wanted = {cells[index].strip() for _row, cells in batch if len(cells) > index}
        wanted.difference_update(cache)
        wanted.discard("")
        if wanted:
            if len(cache) + len(wanted) > ACCOUNT_CACHE_MAX:
                cache.clear()
            ordered = sorted(wanted)
            found: dict[str, int] = {}
            if connection.vendor == "postgresql":
                # One JSON parameter: an IN list of 10,000 placeholders costs more to build
                # and send than the lookup itself (0.15–0.2 s against 0.05 s for a
                # 10,000-signal API batch), and so does a text array, which the driver
                # quotes element by element in Python (0.1 s; json.dumps: 2 ms).
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT external_id, id FROM {ACCOUNT} WHERE external_id IN "
                        "(SELECT jsonb_array_elements_text(%s::jsonb))",
                        [json.dumps(ordered)],
                    )
                    found.update(cursor.fetchall())
            else:
                for start in range(0, len(ordered), LOOKUP_CHUNK):
                    chunk = ordered[start : start + LOOKUP_CHUNK]
                    found.update(
                        Account.objects.filter(external_id__in=chunk).values_list(
                            "external_id", "pk"
                        )
                    )
            for key in wanted:
                cache[key] = found.get(key)
        return cache

    def parse(self, batch: Batch) -> tuple[list[tuple], list[RowError]]:
        # The hot loop of a million-row import: everything it needs is a local name.
        m = self.mapping
        i_account, i_metric = m.index("account"), m.index("metric")
        i_when, i_value = m.index("observed_at"), m.index("value")
        i_category, i_text = m.index("category"), m.index("text")
        i_source, i_external = m.index("source"), m.index("external_id")
        c_account, c_metric = m.column("account"), m.column("metric")
        c_when, c_value, c_source = m.column("observed_at"), m.column("value"), m.column("source")
        c_external, c_category = m.column("external_id"), m.column("category")
        c_text = m.column("text")
        max_source, max_external = LENGTH["source"], LENGTH["external_id"]
        max_category, max_text = LENGTH["category"], self.limits.max_field_chars
        accounts = self._lookup_accounts(batch, i_account)
        metrics = self._metrics
        decimal_comma, day_first = self.decimal_comma, self.options.day_first
        tz = timezone.get_current_timezone()
        latest = timezone.now() + FUTURE_SLACK
        default_source = self.default_source
        width = self.width
        fromisoformat = dt.datetime.fromisoformat
        staged: list[tuple] = []
        errors: list[RowError] = []
        error = errors.append

        for row, cells in batch:
            if len(cells) != width and (cells := self.fit(row, cells, errors)) is None:
                continue
            before = len(errors)

            raw = cells[i_account].strip()
            account = accounts.get(raw)
            if account is None:
                error(
                    RowError(row, c_account, _missing(raw, f"no account with external id {raw!r}"))
                )
            raw = cells[i_metric].strip()
            metric = metrics.get(raw) or metrics.get(raw.lower())
            if metric is None:
                error(RowError(row, c_metric, _missing(raw, f"unknown metric {raw!r}")))

            raw = cells[i_when]
            when = None
            if len(raw) > 10 and not day_first:
                # The common case, an ISO date-time; anything else takes the long way.
                try:
                    when = fromisoformat(raw)
                    if when.tzinfo is None:
                        when = when.replace(tzinfo=tz)
                except ValueError:
                    pass
            if when is None:
                try:
                    when = parse_datetime(raw, day_first=day_first, tz=tz, date_at=DATE_AT)
                except CellError as exc:
                    error(RowError(row, c_when, str(exc)))
            if when is not None and when > latest:
                error(
                    RowError(
                        row,
                        c_when,
                        _("%(when)s is in the future") % {"when": format(when, "%Y-%m-%d %H:%M")},
                    )
                )

            raw = cells[i_value]
            try:
                value = parse_float(raw, decimal_comma=decimal_comma)
            except CellError as exc:
                error(RowError(row, c_value, str(exc) if raw.strip() else "a value is required"))

            source = cells[i_source].strip() if i_source is not None else ""
            if not source:
                source = default_source
                if not source:
                    error(RowError(row, c_source, _("a value is required")))
            elif len(source) > max_source:
                error(
                    RowError(
                        row,
                        c_source,
                        _("longer than %(max)s characters") % {"max": max_source},
                    )
                )
            external_id = cells[i_external].strip() if i_external is not None else ""
            if len(external_id) > max_external:
                error(
                    RowError(
                        row,
                        c_external,
                        _("longer than %(max_external)s characters")
                        % {"max_external": max_external},
                    )
                )
            category = cells[i_category].strip() if i_category is not None else ""
            if len(category) > max_category:
                error(
                    RowError(
                        row,
                        c_category,
                        _("longer than %(max_category)s characters")
                        % {"max_category": max_category},
                    )
                )
            text = cells[i_text].strip() if i_text is not None else ""
            if len(text) > max_text:
                error(
                    RowError(
                        row,
                        c_text,
                        _("longer than %(max_text)s characters")
                        % {"max_text": format(max_text, ",")},
                    )
                )
            if len(errors) == before:
                staged.append(
                    (row, account, metric, when, value, category, text, source, external_id or None)
                )
        return staged, errors

    def display(self, staged: tuple) -> dict[str, object]:
        _row, account, metric, when, value, category, text, source, external_id = staged
        if account not in self._account_keys:
            # Previews show a few rows: the reverse lookup is built when they ask.
            self._account_keys = {pk: key for key, pk in self._accounts.items() if pk}
        external = self._account_keys.get(account, str(account))
        return {
            "account": external,
            "metric": self._metric_keys.get(metric, metric),
            "observed_at": when.isoformat(),
            "value": value,
            "category": category,
            "text": text,
            "source": source,
            "external_id": external_id or "",
        }

    def duplicate_reason(self, key: DuplicateKey, values: tuple, first_row: int) -> str:
        if key.field == "external_id":
            return _("%(value)r appears twice in this import (first on row %(row)s)") % {
                "value": values[1],
                "row": first_row,
            }
        return _(
            "the same signal as row %(row)s (account, metric, time, value and source; give the "
            "signals external ids to keep both)"
        ) % {"row": first_row}

    # ------------------------------------------------------------ whole file

    # A key stored already: on PostgreSQL in the keys' table (the signals' own index is
    # per month there, accounts.partitions), on SQLite in the signals' unique index.
    KEYED = {
        "postgresql": "SELECT 1 FROM accounts_signalkey o WHERE o.source = s.source "
        "AND o.external_id = s.external_id",
        "sqlite": f"SELECT 1 FROM {SIGNAL} o WHERE o.source = s.source "
        "AND o.external_id = s.external_id",
    }
    FRESH = f"""(
        (s.external_id IS NOT NULL AND NOT EXISTS ({{keyed}}))
        OR (s.external_id IS NULL AND NOT EXISTS (
            SELECT 1 FROM {SIGNAL} o
            WHERE o.account_id = s.account_id AND o.metric_id = s.metric_id
              AND o.observed_at = s.observed_at AND o.value = s.value
              AND o.source = s.source AND o.external_id IS NULL))
    )"""
    COLUMNS = "account_id, metric_id, observed_at, value, category, text, source, external_id"

    def fresh(self) -> str:
        """SQL: the staged row `s` is not stored already."""
        return self.FRESH.replace("{keyed}", self.KEYED[connection.vendor])

    def write(self, stage: Staging) -> Counts:
        if connection.vendor != "postgresql":
            # SQLite runs one writer at a time: find the new rows, then insert them.
            accounts = {
                a
                for (a,) in stage.fetch(
                    f"SELECT DISTINCT account_id FROM {{stage}} s WHERE {self.fresh()}"
                )
            }
            created = stage.execute(
                f"INSERT INTO {SIGNAL} ({self.COLUMNS}) SELECT {self.COLUMNS} FROM {{stage}} s "
                f"WHERE {self.fresh()} ON CONFLICT DO NOTHING"
            )
            return Counts(created=created, unchanged=stage.rows - created, accounts=accounts)
        # Imports of signals queue here, one at a time: two imports of the same rows
        # without external ids would otherwise both find them new.
        stage.execute("SELECT pg_advisory_xact_lock(hashtext('accounts.imports.signals'))")
        # The rows without an external id that are stored already leave the stage first,
        # in a statement of their own: as part of the INSERT, the look-up would read the
        # very table the INSERT fills, and a table the planner believes empty (a first
        # import) would be scanned whole once per staged row (minutes for 100,000 rows).
        stage.execute(
            f"""
            DELETE FROM {{stage}} s WHERE s.external_id IS NULL AND EXISTS (
                SELECT 1 FROM {SIGNAL} o
                WHERE o.account_id = s.account_id AND o.metric_id = s.metric_id
                  AND o.observed_at = s.observed_at AND o.value = s.value
                  AND o.source = s.source AND o.external_id IS NULL)
            """
        )
        # So do the rows whose key is stored already (signals sent again): the keys'
        # trigger would fail the whole INSERT on the first (accounts.partitions). Imports
        # take turns (the lock above), so none is stored between the two statements; a
        # signal written meanwhile by anything else fails the import, which says so.
        stage.execute(
            f"DELETE FROM {{stage}} s WHERE s.external_id IS NOT NULL "
            f"AND EXISTS ({self.KEYED['postgresql']})"
        )
        # One statement. The accounts and metrics written for come back, once each, to be
        # locked and re-scored.
        found = stage.fetch(
            f"""
            WITH inserted AS (
                INSERT INTO {SIGNAL} ({self.COLUMNS})
                SELECT {self.COLUMNS} FROM {{stage}} s
                ON CONFLICT DO NOTHING
                RETURNING account_id, metric_id
            )
            SELECT 'a', account_id, COUNT(*) FROM inserted GROUP BY account_id
            UNION ALL
            SELECT 'm', metric_id, COUNT(*) FROM inserted GROUP BY metric_id
            """
        )
        accounts = {pk for what, pk, _count in found if what == "a"}
        created = sum(count for what, _pk, count in found if what == "a")
        lock_referenced(ACCOUNT, accounts, "account(s)")
        lock_referenced(METRIC, {pk for what, pk, _count in found if what == "m"}, "metric(s)")
        return Counts(created=created, unchanged=stage.rows - created, accounts=accounts)

    def estimate(self, stage: Staging) -> Counts:
        [(fresh, accounts)] = stage.fetch(
            f"SELECT COUNT(*), COUNT(DISTINCT account_id) FROM {{stage}} s WHERE {self.fresh()}"
        )
        counts = Counts(created=fresh, unchanged=stage.rows - fresh)
        counts.notes.append(_("%(count)s account(s) would be re-scored") % {"count": accounts})
        return counts
