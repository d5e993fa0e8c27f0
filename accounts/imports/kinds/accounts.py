"""Accounts, upserted by external id: a new account needs a name, segment, journey stage and
start date; for a stored one an empty cell keeps what is stored. A changed journey stage is
recorded as a stage change with a note, as a change made on the account's page is."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from accounts.imports import rules
from accounts.imports.cells import CellError
from accounts.imports.columns import Column, squash
from accounts.imports.errors import RowError
from accounts.imports.kinds import Batch, Counts, DuplicateKey, Kind, Target, existing_keys, upsert
from accounts.imports.staging import Staging
from accounts.models import Account, JourneyStage, Note, Segment, StageChange

ACCOUNT = Account._meta.db_table
# The rules of each field are shared with the pages' forms (accounts.imports.rules).
LENGTH = rules.ACCOUNT_LENGTH


class AccountsKind(Kind):
    name = "accounts"
    noun = "account(s)"
    columns = (
        Column(
            "external_id",
            gettext_noop("External id"),
            required=True,
            synonyms=(
                "account id",
                "account external id",
                "customer id",
                "crm id",
                "id",
                "account number",
                "company id",
            ),
            help=gettext_lazy("The account's id in the CRM: the key that updates an account."),
        ),
        Column(
            "name",
            gettext_noop("Name"),
            synonyms=("account name", "account", "company", "company name", "customer name"),
        ),
        Column("segment", gettext_noop("Segment"), synonyms=("customer segment", "tier")),
        Column(
            "owner",
            gettext_noop("Owner e-mail"),
            synonyms=(
                "owner",
                "owner email",
                "csm",
                "csm email",
                "csm e-mail",
                "account owner",
                "account owner email",
            ),
            help=gettext_lazy(
                "The e-mail address of the customer success manager (a Healthboard user)."
            ),
        ),
        Column("industry", gettext_noop("Industry"), synonyms=("sector", "vertical")),
        Column(
            "arr",
            gettext_noop("ARR"),
            synonyms=("annual recurring revenue", "annual revenue", "contract value"),
        ),
        Column(
            "plan",
            gettext_noop("Plan"),
            synonyms=("product", "subscription", "package", "tier plan"),
        ),
        Column(
            "seats",
            gettext_noop("Seats"),
            synonyms=("seats purchased", "licences", "licenses", "users purchased"),
        ),
        Column(
            "start_date",
            gettext_noop("Start date"),
            synonyms=("customer since", "contract start", "start", "started on"),
        ),
        Column(
            "renewal_date",
            gettext_noop("Renewal date"),
            synonyms=("renewal", "renews on", "renewal on", "contract end", "contract end date"),
        ),
        Column(
            "stage",
            gettext_noop("Stage"),
            synonyms=("journey stage", "lifecycle stage", "lifecycle"),
        ),
        Column("status", gettext_noop("Status"), synonyms=("account status",)),
        Column(
            "churn_date",
            gettext_noop("Churn date"),
            synonyms=("churned on", "churned at", "cancellation date", "cancelled on"),
        ),
    )
    staging = (
        ("row_no", "integer"),
        ("external_id", "text"),
        ("name", "text"),
        ("owner_id", "bigint"),
        ("segment_id", "bigint"),
        ("segment_new", "text"),
        ("stage_id", "bigint"),
        ("stage_new", "text"),
        ("industry", "text"),
        ("arr", "numeric(14, 2)"),
        ("plan", "text"),
        ("seats", "integer"),
        ("start_date", "date"),
        ("renewal_date", "date"),
        ("status", "text"),
        ("churn_date", "date"),
    )
    duplicate_keys = (DuplicateKey(("external_id",), "external_id"),)
    REQUIRED_FOR_NEW = ("name", "segment", "stage", "start_date")

    def start(self, mapping, *, decimal_comma: bool) -> None:
        super().start(mapping, decimal_comma=decimal_comma)
        self.segments = _by_name(Segment.objects.values_list("pk", "name", "slug"))
        self.stages = _by_name(JourneyStage.objects.values_list("pk", "name", "slug"))
        self.segment_names = dict(Segment.objects.values_list("pk", "name"))
        self.stage_names = dict(JourneyStage.objects.values_list("pk", "name"))
        # Names to create (create_missing): squashed name → the name as first written.
        self.new_segments: dict[str, str] = {}
        self.new_stages: dict[str, str] = {}
        users = get_user_model().objects.filter(is_active=True).exclude(email="")
        self.owners: dict[str, int] = {}
        for pk, email in users.order_by("pk").values_list("pk", "email"):
            self.owners.setdefault(email.strip().lower(), pk)
        self.owner_emails = {pk: email for email, pk in self.owners.items()}

    def parse(self, batch: Batch) -> tuple[list[tuple], list[RowError]]:
        m = self.mapping
        i_external = m.index("external_id")
        stored = existing_keys(
            Account,
            "external_id",
            {cells[i_external].strip() for _row, cells in batch if len(cells) > i_external},
        )
        decimal_comma, day_first = self.decimal_comma, self.options.day_first
        staged: list[tuple] = []
        errors: list[RowError] = []
        for row, cells in batch:
            if (cells := self.fit(row, cells, errors)) is None:
                continue
            before = len(errors)
            text = self.text
            external_id = text(row, cells, "external_id", errors, max_length=LENGTH["external_id"])
            if not external_id and len(errors) == before:
                self.required(row, "external_id", errors)
            name = text(row, cells, "name", errors, max_length=LENGTH["name"]) or None
            segment_id, segment_new = self._choice(row, cells, "segment", errors)
            stage_id, stage_new = self._choice(row, cells, "stage", errors)
            owner_id = self._owner(row, cells, errors)
            industry = text(row, cells, "industry", errors, max_length=LENGTH["industry"]) or None
            plan = text(row, cells, "plan", errors, max_length=LENGTH["plan"]) or None
            arr = self._cell(
                row, cells, "arr", errors, lambda raw: rules.arr(raw, decimal_comma=decimal_comma)
            )
            seats = self._cell(
                row,
                cells,
                "seats",
                errors,
                lambda raw: rules.seats(raw, decimal_comma=decimal_comma),
            )
            dates = {
                field: self._cell(
                    row, cells, field, errors, lambda raw: rules.date(raw, day_first=day_first)
                )
                for field in ("start_date", "renewal_date", "churn_date")
            }
            status = self._cell(row, cells, "status", errors, rules.status)
            if external_id and external_id not in stored:
                given = {
                    "name": name,
                    "segment": segment_id or segment_new,
                    "stage": stage_id or stage_new,
                    "start_date": dates["start_date"],
                }
                for field, value in given.items():
                    if value is None and not any(
                        e.column == m.column(field) for e in errors[before:]
                    ):
                        errors.append(
                            RowError(
                                row, m.column(field), _("a value is required for a new account")
                            )
                        )
            if len(errors) == before:
                staged.append(
                    (
                        row,
                        external_id,
                        name,
                        owner_id,
                        segment_id,
                        segment_new,
                        stage_id,
                        stage_new,
                        industry,
                        arr,
                        plan,
                        seats,
                        dates["start_date"],
                        dates["renewal_date"],
                        status,
                        dates["churn_date"],
                    )
                )
        return staged, errors

    def _cell(self, row, cells, field, errors, parse):
        index = self.mapping.index(field)
        if index is None or not (raw := cells[index].strip()):
            return None
        if len(raw) > 100:
            errors.append(
                RowError(row, self.mapping.column(field), _("longer than 100 characters"))
            )
            return None
        try:
            return parse(raw)
        except CellError as exc:
            errors.append(RowError(row, self.mapping.column(field), str(exc)))
            return None

    def _choice(self, row, cells, field, errors) -> tuple[int | None, str | None]:
        """A segment or stage by name or slug: its pk, or its squashed name when it is to be
        created (create_missing)."""
        index = self.mapping.index(field)
        raw = cells[index].strip() if index is not None else ""
        if not raw:
            return None, None
        known, new = (
            (self.segments, self.new_segments)
            if field == "segment"
            else (self.stages, self.new_stages)
        )
        key = squash(raw)
        if key in known:
            return known[key], None
        if self.options.create_missing and key and len(raw) <= rules.CHOICE_LENGTH:
            new.setdefault(key, raw)
            return None, key
        names = self.segment_names if field == "segment" else self.stage_names
        what = "segment" if field == "segment" else "journey stage"
        reason = rules.unknown_choice(what, raw, names.values(), can_create=True)
        errors.append(RowError(row, self.mapping.column(field), str(reason)))
        return None, None

    def _owner(self, row, cells, errors) -> int | None:
        index = self.mapping.index("owner")
        raw = cells[index].strip() if index is not None else ""
        if not raw:
            return None
        owner = self.owners.get(raw.lower())
        if owner is None:
            reason = (
                _("no user with e-mail %(raw)r") % {"raw": raw}
                if "@" in raw
                else _("%(raw)r is not an e-mail address") % {"raw": raw}
            )
            errors.append(RowError(row, self.mapping.column("owner"), reason[:300]))
        return owner

    def display(self, staged: tuple) -> dict[str, object]:
        values = dict(zip((name for name, _type in self.staging), staged, strict=True))
        return {
            "external_id": values["external_id"],
            "name": values["name"] or "",
            "segment": self.segment_names.get(values["segment_id"])
            or self.new_segments.get(values["segment_new"], ""),
            "owner": self.owner_emails.get(values["owner_id"], ""),
            "industry": values["industry"] or "",
            "arr": values["arr"],
            "plan": values["plan"] or "",
            "seats": values["seats"],
            "start_date": values["start_date"],
            "renewal_date": values["renewal_date"],
            "stage": self.stage_names.get(values["stage_id"])
            or self.new_stages.get(values["stage_new"], ""),
            "status": values["status"] or "",
            "churn_date": values["churn_date"],
        }

    def duplicate_reason(self, key, values, first_row) -> str:
        return _("%(value)r appears twice in this import (first on row %(row)s)") % {
            "value": values[0],
            "row": first_row,
        }

    # ------------------------------------------------------------ whole file

    def _create_missing(self, stage: Staging) -> list[str]:
        created = []
        for key, name in self.new_segments.items():
            segment = Segment.objects.create(name=name, slug=rules.free_slug(Segment, name))
            stage.execute(
                "UPDATE {stage} SET segment_id = %s WHERE segment_new = %s", [segment.pk, key]
            )
            created.append(_("created segment %(name)r") % {"name": name})
        order = max(JourneyStage.objects.values_list("order", flat=True), default=0)
        for key, name in self.new_stages.items():
            order += 1
            journey_stage = JourneyStage.objects.create(
                name=name, slug=rules.free_slug(JourneyStage, name), order=order
            )
            stage.execute(
                "UPDATE {stage} SET stage_id = %s WHERE stage_new = %s", [journey_stage.pk, key]
            )
            created.append(_("created journey stage %(name)r") % {"name": name})
        return created

    def write(self, stage: Staging) -> Counts:
        if connection.vendor == "postgresql":
            stage.execute("SELECT pg_advisory_xact_lock(hashtext('accounts.imports.accounts'))")
        notes = self._create_missing(stage)
        now, today = timezone.now(), timezone.localdate()
        user_id = getattr(self.user, "pk", None)
        moved = (
            f"FROM {{stage}} s JOIN {ACCOUNT} a ON a.external_id = s.external_id "
            "WHERE s.stage_id IS NOT NULL AND s.stage_id <> a.stage_id"
        )
        # The stage changes first: they read each account's stage before the update.
        stage.execute(
            f"INSERT INTO {StageChange._meta.db_table} "
            "(account_id, from_stage_id, to_stage_id, changed_at, changed_by_id) "
            f"SELECT a.id, a.stage_id, s.stage_id, %s, %s {moved}",
            [now, user_id],
        )
        stages = JourneyStage._meta.db_table
        stage.execute(
            f"INSERT INTO {Note._meta.db_table} (account_id, author_id, kind, body, created_at) "
            f"SELECT a.id, %s, %s, 'Stage changed from ' || f.name || ' to ' || t.name "
            f"|| ' (import).', %s "
            f"FROM {{stage}} s JOIN {ACCOUNT} a ON a.external_id = s.external_id "
            f"JOIN {stages} f ON f.id = a.stage_id JOIN {stages} t ON t.id = s.stage_id "
            "WHERE s.stage_id <> a.stage_id",
            [user_id, Note.Kind.STAGE_CHANGE, now],
        )
        created, updated = upsert(
            stage,
            table=ACCOUNT,
            key="external_id",
            targets=(
                Target("name"),
                Target("owner_id"),
                Target("segment_id"),
                Target("industry", "''"),
                Target("arr", "0"),
                Target("plan", "''"),
                Target("seats", "0"),
                Target("start_date"),
                Target("renewal_date"),
                Target("stage_id"),
                Target("status", f"'{Account.Status.ACTIVE}'"),
                Target("churn_date"),
            ),
            update_extra=(
                f", stage_since = CASE WHEN s.stage_id IS NOT NULL AND s.stage_id <> "
                f"{ACCOUNT}.stage_id THEN %s ELSE {ACCOUNT}.stage_since END"
            ),
            update_params=[connection.ops.adapt_datefield_value(today)],
            insert_extra={"stage_since": "%s"},
            insert_params=[connection.ops.adapt_datefield_value(today)],
        )
        return Counts(
            created=created, updated=updated, unchanged=stage.rows - created - updated, notes=notes
        )

    def estimate(self, stage: Staging) -> Counts:
        [(new,)] = stage.fetch(
            f"SELECT COUNT(*) FROM {{stage}} s WHERE NOT EXISTS "
            f"(SELECT 1 FROM {ACCOUNT} a WHERE a.external_id = s.external_id)"
        )
        counts = Counts(created=new, updated=stage.rows - new)
        counts.notes += [
            _("would create segment %(name)r") % {"name": n} for n in self.new_segments.values()
        ]
        counts.notes += [
            _("would create journey stage %(name)r") % {"name": n} for n in self.new_stages.values()
        ]
        return counts


def _by_name(rows) -> dict[str, int]:
    found: dict[str, int] = {}
    for pk, name, slug in rows:
        found.setdefault(squash(name), pk)
        found.setdefault(squash(slug), pk)
    return found
