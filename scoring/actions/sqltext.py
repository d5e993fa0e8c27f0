"""Evidence and reasons written by the database: a rule's words and numbers for tens of
thousands of accounts are built in the query that finds them (PostgreSQL or SQLite), never
row by row in Python, so an evaluation costs the same Python however many accounts it fires
for.

The texts are translated once per query in Python (the catalogue's template, with its
`%(name)s` / `%(name).1f` / `%(name)g` placeholders) and turned here into SQL that
concatenates the template's literal parts (parameters) with the row's values.

Every function returns a fragment: (SQL, its parameters in order). A value given where a
fragment is expected may be plain SQL without parameters.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence

from django.db import connection
from django.utils import formats

Fragment = tuple[str, list]
# One placeholder of a Python %-format template: %(name)<spec>, or a literal %%.
PLACEHOLDER = re.compile(r"%\((?P<name>\w+)\)(?P<spec>[-#0 +]*\d*(?:\.\d+)?[sdfg])|%%")


def temp_table_drop(cursor, name: str) -> None:
    """Drop this connection's temporary table `name` if it has one: schema-qualified, never
    a permanent table of the same name."""
    cursor.execute(f"DROP TABLE IF EXISTS {'pg_temp' if _pg() else 'temp'}.{name}")


def _pg() -> bool:
    return connection.vendor == "postgresql"


def frag(value: str | Fragment) -> Fragment:
    return (value, []) if isinstance(value, str) else value


def param(value) -> Fragment:
    """A constant as text (a parameter)."""
    return ("CAST(%s AS text)" if _pg() else "%s"), [value]


def fixed(expr: str | Fragment, digits: int) -> Fragment:
    """A number with `digits` decimals, like Python's %.Nf."""
    sql, params = frag(expr)
    if _pg():
        return f"CAST(round(CAST({sql} AS numeric), {int(digits)}) AS text)", params
    # %% : the cursor's parameter style turns it into one %.
    return f"printf('%%.{int(digits)}f', {sql})", params


def general(expr: str | Fragment) -> Fragment:
    """A number in its shortest form (3, 2.5), like Python's %g for the values rules see."""
    sql, params = frag(expr)
    if _pg():
        return f"CAST(CAST({sql} AS numeric) AS text)", params
    return f"printf('%%g', {sql})", params


def iso_day(expr: str | Fragment) -> Fragment:
    """A DATE value as YYYY-MM-DD (what str() of a date gives)."""
    sql, params = frag(expr)
    return (f"to_char({sql}, 'YYYY-MM-DD')" if _pg() else f"date({sql})"), params


def local_day(expr: str, as_of: dt.date, zone: dt.tzinfo) -> Fragment:
    """The day (a DATE value) a timestamp falls on in `zone`. SQLite has no time zone
    database: it takes the zone's offset at noon on `as_of` (SQLite is for development)."""
    if _pg():
        return f"CAST(({expr}) AT TIME ZONE %s AS date)", [str(zone)]
    offset = dt.datetime.combine(as_of, dt.time(12)).replace(tzinfo=zone).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    return f"date({expr}, %s)", [f"{minutes:+d} minutes"]


def day(value: dt.date) -> Fragment:
    """A date constant as a DATE value."""
    return ("CAST(%s AS date)", [value]) if _pg() else ("%s", [value.isoformat()])


def days_between(later: str | Fragment, earlier: str | Fragment) -> Fragment:
    """Whole days from the DATE value `earlier` to the DATE value `later`."""
    (a, a_params), (b, b_params) = frag(later), frag(earlier)
    if _pg():
        return f"({a} - {b})", [*a_params, *b_params]
    return f"CAST(julianday({a}) - julianday({b}) AS integer)", [*a_params, *b_params]


def rounded(expr: str, digits: int) -> str:
    """A number rounded to `digits` decimals (a number, for JSON)."""
    return (
        f"round(CAST({expr} AS numeric), {int(digits)})"
        if _pg()
        else f"round({expr}, {int(digits)})"
    )


def text(template: str, values: Mapping[str, str | Fragment]) -> Fragment:
    """SQL for `template % row`: the template's literal parts as parameters, each
    placeholder its value formatted by the spec (s: as text, .Nf: fixed, g: general, d: a
    whole number; f and g with the active language's decimal mark). A NULL value reads as
    empty text."""
    parts: list[str] = []
    params: list = []
    at = 0
    mark = formats.get_format("DECIMAL_SEPARATOR", use_l10n=True)
    for match in PLACEHOLDER.finditer(template):
        literal = template[at : match.start()] + ("%" if match.group(0) == "%%" else "")
        at = match.end()
        if literal:
            parts.append("%s")
            params.append(literal)
        if match.group(0) == "%%":
            continue
        value, spec = frag(values[match.group("name")]), match.group("spec")
        if spec.endswith("f"):
            sql, more = fixed(value, int(spec.split(".")[1][:-1]) if "." in spec else 6)
        elif spec.endswith("g"):
            sql, more = general(value)
        elif spec.endswith("d"):
            sql, more = f"CAST(CAST({value[0]} AS integer) AS text)", value[1]
        else:
            sql, more = f"CAST({value[0]} AS text)", value[1]
        if spec[-1] in "fg" and mark != ".":
            # The reader's decimal mark, as healthboard/lib/numbers.py writes it (35,0).
            sql, more = f"replace({sql}, '.', %s)", [*more, mark]
        parts.append(f"COALESCE({sql}, '')")
        params += more
    if at < len(template):
        parts.append("%s")
        params.append(template[at:])
    if not parts:
        return "''", []
    return "(" + " || ".join(parts) + ")", params


def json_items(items: Sequence[tuple[str, str | Fragment]]) -> Fragment:
    """SQL for a JSON array (as text) of {"label": …, "value": …} objects: each label a
    parameter, each value a number, text or NULL."""
    if _pg():
        return _json_items_pg(items)
    parts, params = [], []
    for words, value in items:
        sql, more = frag(value)
        parts.append(f"json_object('label', %s, 'value', {sql})")
        params += [words, *more]
    return f"json_array({', '.join(parts)})", params


def _json_items_pg(items: Sequence[tuple[str, str | Fragment]]) -> Fragment:
    # The labels are encoded here, once per query, and only each value by the database
    # (to_json: quoted and escaped, or a number, or null): json_build_object looks up how to
    # write each of its arguments on every row, which made building the evidence of a night's
    # rules cost as much as finding their accounts (~5 µs of ~6 a hit at 100,000 accounts).
    parts, params = [], []
    for at, (words, value) in enumerate(items):
        sql, more = frag(value)
        head = "[" if at == 0 else ", "
        parts += ["%s", f"COALESCE(CAST(to_json({sql}) AS text), 'null')"]
        params += [f'{head}{{"label": {json.dumps(words, ensure_ascii=False)}, "value": ', *more]
        parts.append("'}'")
    if not parts:
        return "'[]'", []
    return "(" + " || ".join(parts) + " || ']')", params


def choice(expr: str, labels: Mapping[str, str], default: str | None) -> Fragment:
    """SQL for the label of the stored value `expr` (CASE over `labels`; `default` else)."""
    value = "CAST(%s AS text)" if _pg() else "%s"
    whens, params = [], []
    for stored, words in labels.items():
        whens.append(f"WHEN %s THEN {value}")
        params += [stored, words]
    tail = ""
    if default is not None:
        tail = f" ELSE {value}"
        params.append(default)
    return f"(CASE {expr} {' '.join(whens)}{tail} END)", params
