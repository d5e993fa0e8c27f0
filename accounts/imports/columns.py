"""Which column of the file holds which field: matched on header names and common synonyms
(ignoring case, spaces, underscores and punctuation), or named explicitly."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext

from accounts.imports.errors import MappingError


def squash(text: str) -> str:
    """ "Account ID", "account_id" and "account-id" all squash to "accountid"."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


@dataclass(frozen=True)
class Column:
    """A field an import kind reads, and the header names it is recognised by. `label` is a
    header name too (files are written in English whatever the reader's language), so pages
    show `title`, the label in the reader's language (the kinds mark labels with
    gettext_noop)."""

    field: str
    label: str
    required: bool = False
    synonyms: tuple[str, ...] = ()
    help: str = ""

    @property
    def title(self) -> str:
        return gettext(self.label)

    def names(self) -> list[str]:
        return [squash(name) for name in (self.field, self.label, *self.synonyms)]


@dataclass(frozen=True)
class ColumnMapping:
    """field → (the column's index, its header as the file spells it)."""

    fields: dict[str, tuple[int, str]]
    header: tuple[str, ...]

    def index(self, field: str) -> int | None:
        found = self.fields.get(field)
        return found[0] if found else None

    def column(self, field: str) -> str:
        """The header a row error names: the file's own, or the field's when unmapped."""
        found = self.fields.get(field)
        return found[1] if found else field

    def as_dict(self) -> dict[str, str]:
        """field → header, for a preview or an edit form."""
        return {field: header for field, (_, header) in self.fields.items()}

    @property
    def unused(self) -> list[str]:
        used = {index for index, _ in self.fields.values()}
        return [name for i, name in enumerate(self.header) if i not in used and name]


def column_mapping(
    columns: Sequence[Column],
    header: Sequence[str],
    explicit: Mapping[str, str] | None = None,
    *,
    present: Sequence[str] = (),
) -> ColumnMapping:
    """Match the header against the kind's columns. `explicit` ({field: header}) wins over
    the automatic match; an empty header there leaves the field unmapped. Fields named in
    `present` are provided another way (the --source option) and need no column."""
    known = {column.field: column for column in columns}
    squashed = [squash(name) for name in header]
    chosen: dict[str, tuple[int, str]] = {}
    problems: list[str] = []

    for field, name in (explicit or {}).items():
        if field not in known:
            problems.append(
                gettext("there is no field %(field)r (fields: %(fields)s)")
                % {"field": field, "fields": ", ".join(known)}
            )
            continue
        if not name:
            continue
        matches = [i for i, h in enumerate(header) if h == name] or [
            i for i, h in enumerate(squashed) if h and h == squash(name)
        ]
        if not matches:
            problems.append(
                gettext("the file has no column %(name)r (for %(field)s)")
                % {"name": name, "field": field}
            )
        elif len(matches) > 1:
            problems.append(
                gettext("the column %(name)r appears %(count)s times")
                % {"name": name, "count": len(matches)}
            )
        else:
            chosen[field] = (matches[0], header[matches[0]])

    taken = {index for index, _ in chosen.values()}
    for column in columns:
        if column.field in chosen or column.field in (explicit or {}):
            continue
        for name in column.names():
            matches = [i for i, h in enumerate(squashed) if h == name and i not in taken]
            if len(matches) > 1:
                problems.append(
                    gettext(
                        "the columns %(columns)s both look like %(label)s: rename one or map the "
                        "columns explicitly"
                    )
                    % {
                        "columns": gettext(" and ").join(repr(header[i]) for i in matches),
                        "label": column.label,
                    }
                )
                break
            if matches:
                chosen[column.field] = (matches[0], header[matches[0]])
                taken.add(matches[0])
                break

    missing = [
        c.field for c in columns if c.required and c.field not in chosen and c.field not in present
    ]
    if missing:
        found = ", ".join(name for name in header if name) or "none"
        problems.insert(
            0,
            gettext("The file lacks column(s) %(missing)s (its columns: %(found)s)")
            % {"missing": ", ".join(missing), "found": found},
        )
    if problems:
        text = "; ".join(problems)
        raise MappingError(text[0].upper() + text[1:] + ".")
    # In the kind's order, so previews list the fields as the documentation does.
    ordered = {c.field: chosen[c.field] for c in columns if c.field in chosen}
    return ColumnMapping(ordered, tuple(header))
