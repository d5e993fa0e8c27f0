"""The rules one value of an account or a metric follows, wherever it comes from: a CSV cell,
an API item, a form on a page. One function per rule, each returning the value or raising
CellError with the reason a person reads, so the same bad value gets the same words in an
import's row errors and at a form's field (healthboard/pages/catalogue/forms.py)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal

from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.imports.cells import CellError, parse_count, parse_date, parse_decimal
from accounts.imports.columns import squash
from accounts.models import Account, Metric

ARR = Account._meta.get_field("arr")
ACCOUNT_LENGTH = {
    f: Account._meta.get_field(f).max_length for f in ("name", "external_id", "industry", "plan")
}
METRIC_LENGTH = {
    f: Metric._meta.get_field(f).max_length for f in ("key", "name", "unit", "category")
}
# Segments' and journey stages' names.
CHOICE_LENGTH = 60

STATUSES = {squash(value): value for value in Account.Status.values} | {
    squash(str(label)): value for value, label in Account.Status.choices
}

METRIC_KEY = re.compile(r"[-a-zA-Z0-9_]+")
UP, DOWN = Metric.Direction.HIGHER_IS_BETTER, Metric.Direction.HIGHER_IS_WORSE
DIRECTION_NUMBERS = {"1": UP, "+1": UP, "-1": DOWN}
DIRECTION_WORDS = {
    squash(word): direction
    for direction, words in (
        (UP, ("up", "higher", "more", "positive", "higher is better", "more is better")),
        (
            DOWN,
            ("down", "lower", "less", "negative", "higher is worse", "more is worse")
            + ("lower is better", "less is better"),
        ),
    )
    for word in words
}

REQUIRED = "a value is required"


def text(value: str, *, max_length: int) -> str:
    """Stripped text of at most `max_length` characters."""
    value = value.strip()
    if len(value) > max_length:
        raise CellError(
            _("longer than %(max_length)s characters") % {"max_length": format(max_length, ",")}
        )
    return value


def arr(raw: str, *, decimal_comma: bool = False) -> Decimal:
    """Annual recurring revenue: a number of 0 or more with at most two decimals."""
    value = parse_decimal(
        raw, decimal_comma=decimal_comma, max_digits=ARR.max_digits, places=ARR.decimal_places
    )
    if value < 0:
        raise CellError(_("%(raw)r is negative; ARR is 0 or more") % {"raw": raw})
    return value


def seats(raw: str, *, decimal_comma: bool = False) -> int:
    return parse_count(raw, decimal_comma=decimal_comma)


def date(raw: str, *, day_first: bool = False) -> dt.date:
    return parse_date(raw, day_first=day_first)


def status(raw: str) -> str:
    """ "active" or "churned", by value or label in any case."""
    try:
        return STATUSES[squash(raw)]
    except KeyError:
        known = ", ".join(Account.Status.values)
        raise CellError(
            _("unknown status %(raw)r (known: %(known)s)") % {"raw": raw, "known": known}
        ) from None


def unknown_choice(what: str, raw: str, names: Iterable[str], *, can_create: bool) -> CellError:
    """A segment or journey stage that does not exist, with the known ones listed."""
    words = {"what": what, "raw": raw, "known": ", ".join(names)}
    if can_create:
        return CellError(
            _("unknown %(what)s %(raw)r (known: %(known)s; or create missing ones)") % words
        )
    return CellError(_("unknown %(what)s %(raw)r (known: %(known)s)") % words)


def metric_key(raw: str) -> str:
    key = text(raw, max_length=METRIC_LENGTH["key"])
    if key and not METRIC_KEY.fullmatch(key):
        raise CellError(_("%(key)r may only hold letters, digits, - and _") % {"key": key})
    return key


def metric_direction(raw: str) -> int:
    """1 or "more is better", -1 or "more is worse" (and a few synonyms)."""
    raw = raw.strip()
    direction = DIRECTION_NUMBERS.get(raw) or DIRECTION_WORDS.get(squash(raw))
    if direction is None:
        raise CellError(
            _("%(raw)r is not a direction (1 or 'more is better', -1 or 'more is worse')")
            % {"raw": raw[:100]}
        )
    return int(direction)


def free_slug(model, name: str, *, exclude_pk: int | None = None) -> str:
    """A slug for a new segment or stage named `name` that no other one has."""
    base = slugify(name)[:50] or "new"
    slug, n = base, 1
    taken = model.objects.exclude(pk=exclude_pk) if exclude_pk else model.objects.all()
    while taken.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug
