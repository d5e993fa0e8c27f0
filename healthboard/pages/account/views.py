"""The account drilldown: header, score trend, why this score, what moved, signals, notes.

Every role reads; writing (notes, stage changes) is for whoever can work on the account
(healthboard.roles.can_work_on). Regions are partials of templates/account/detail.html; HTMX
requests get the region, everything else the page.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from accounts import services
from accounts.i18n import builtin
from accounts.models import Account, Metric, Note, Sentiment
from healthboard.lib import htmx
from healthboard.lib.dates import day_text, short_day_text
from healthboard.lib.roles import can_work_on, permission_required
from healthboard.pages.account import selectors as drilldown
from healthboard.pages.account.forms import NoteForm, SentimentForm, StageForm
from healthboard.pages.account.sentiment import sentiment_region
from healthboard.pages.charts import figure_json, score_trend_figure, trend_summary
from healthboard.pages.templatetags.healthboard import renewal_note
from scoring import explain
from scoring.models import HealthScore, ScorecardVersion
from scoring.specs import version_config

PAGE = "account/detail.html"
SENTIMENT = "account/sentiment.html"

# ---------------------------------------------------------------- helpers


def _detail_url(account: Account, **params) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    url = reverse("accounts:detail", args=[account.pk])
    return f"{url}?{query}" if query else url


def _filters(request: HttpRequest, metrics: dict[int, Metric] | None = None) -> dict:
    """The page's GET parameters, cleaned: a bad value falls back to the default and says so."""
    raw_range = request.GET.get("range", "")
    days = drilldown.range_days(raw_range)
    context = {"days": days, "ranges": drilldown.RANGES}
    if raw_range and str(days) != raw_range:
        context["range_problem"] = _("“%(range)s” is not a range; showing %(days)s days.") % {
            "range": raw_range[:30],
            "days": days,
        }
    if metrics is not None:
        categories = drilldown.signal_categories(metrics)
        category = request.GET.get("category", "")
        if category and category not in categories:
            context["category_problem"] = _(
                "There is no signal category “%(category)s”; showing every category."
            ) % {"category": category[:40]}
            category = ""
        context.update(category=category, categories=categories)
    return context


# Where people come to an account from, and how the way back reads.
BACK_LABELS = (
    ("/accounts/journey/", gettext_lazy("Back to the journey board")),
    ("/scoring/weekly/", gettext_lazy("Back to the weekly review")),
    ("/scoring/", gettext_lazy("Back")),
    ("/accounts/", gettext_lazy("Back")),
    ("/", gettext_lazy("Back to the portfolio")),
)


def _back_link(request: HttpRequest, account: Account) -> dict:
    """Back to where the user came from (a filtered portfolio keeps its filters), if that was
    a page of this site; otherwise the portfolio."""
    referer = request.headers.get("referer", "")
    path = urlsplit(referer).path
    if (
        # A Referer without an absolute path ("x", "http://host") is no page to go back to.
        path.startswith("/")
        and url_has_allowed_host_and_scheme(referer, {request.get_host()})
        and not path.startswith(reverse("accounts:detail", args=[account.pk]))
        and not path.startswith(reverse("login"))
    ):
        label = next(text for prefix, text in BACK_LABELS if path.startswith(prefix))
        return {"url": referer, "label": label}
    return {"url": reverse("home"), "label": _("Portfolio")}


def _renewal(account: Account) -> dict | None:
    days = account.days_to_renewal()
    if days is None:
        return None
    return {"text": renewal_note(days), "soon": account.is_active and account.renews_soon()}


# ---------------------------------------------------------------- region contexts


def _ctas(account: Account) -> list:
    """The open calls to action, each marked overdue (in words on the page) or not."""
    today = timezone.localdate()
    ctas = drilldown.account_ctas(account=account)
    for cta in ctas:
        cta.overdue = cta.is_overdue(today)
    return ctas


def _trend(
    account: Account,
    *,
    days: int,
    history: list,
    versions: list[ScorecardVersion],
    cuts: dict,
    category: str = "",
) -> dict:
    end = drilldown.history_end(account)
    start = end - dt.timedelta(days=days - 1)
    has_scores = any(score is not None for _day, score, _v in history)
    bands = drilldown.version_bands(versions, cuts)
    figure = score_trend_figure(history=history, versions=bands, start=start, end=end)
    # The legend names the cut-offs of the version that scored the latest day shown.
    latest = bands.get(history[-1][2]) if history else None
    return {
        "account": account,
        "days": days,
        "ranges": _range_links(account, category=category),
        "figure_json": figure_json(figure) if has_scores else "",
        "bands": latest,
        "version_changed": any(a[2] != b[2] for a, b in zip(history, history[1:], strict=False)),
        "summary": trend_summary(history, days),
        "empty_text": _trend_empty_text(account, history, days=days, start=start),
        "history_end": end,
        "export_url": reverse("accounts:scores_csv", args=[account.pk]) + f"?range={days}",
    }


def _range_links(account: Account, *, category: str) -> list[dict]:
    """30 / 90 / 365 days: a link to the page (no JavaScript), or HTMX swapping the chart and
    keeping the page's URL in step. The signal category rides along so neither loses the other."""
    base = reverse("accounts:trend", args=[account.pk])
    extra = f"&{urlencode({'category': category})}" if category else ""
    return [
        {
            "days": n,
            "href": _detail_url(account, range=n, category=category),
            "hx": f"{base}?range={n}{extra}",
            "push": _detail_url(account, range=n, category=category),
        }
        for n in drilldown.RANGES
    ]


def _trend_empty_text(account: Account, history: list, *, days: int, start: dt.date) -> str:
    if history:
        return ngettext(
            "The account was scored on %(count)s day in the last %(days)s, but no measure had "
            "data: there is no score to draw yet.",
            "The account was scored on %(count)s days in the last %(days)s, but no measure had "
            "data: there is no score to draw yet.",
            len(history),
        ) % {"count": len(history), "days": days}
    if account.start_date and account.start_date >= start:
        return _("No scores yet: the account started on %(day)s.") % {
            "day": day_text(account.start_date)
        }
    if days >= max(drilldown.RANGES):
        return _("No scores in the last %(days)s days.") % {"days": days}
    return _("No scores in the last %(days)s days. Try a longer range.") % {"days": days}


def _signals(
    account: Account,
    metrics: dict[int, Metric],
    *,
    category: str,
    before: drilldown.Cursor | None,
    days: int,
) -> dict:
    page = drilldown.signals_page(
        account=account, metrics=metrics, category=category or None, before=before
    )
    for signal in page.rows:
        unit = metrics[signal.metric_id].unit if signal.metric_id in metrics else ""
        signal.value_text = explain.value_text(signal.value, unit)
    base = reverse("accounts:signals", args=[account.pk])
    more = None
    if page.next is not None:
        params = {"category": category, "before": str(page.next)}
        more = {
            "hx": f"{base}?{urlencode({k: v for k, v in params.items() if v})}",
            "href": _detail_url(account, range=_non_default(days), **params) + "#signals",
        }
    return {
        "account": account,
        "signals": page.rows,
        "more": more,
        "category": category,
        "paged": before is not None,
        "first_page_href": _detail_url(account, range=_non_default(days), category=category)
        + "#signals",
        "signals_csv_url": reverse("accounts:signals_csv", args=[account.pk])
        + (f"?{urlencode({'category': category})}" if category else ""),
    }


def _non_default(days: int) -> int | None:
    return None if days == drilldown.DEFAULT_RANGE else days


def _pills(account: Account, categories: list[str], *, category: str, days: int) -> list[dict]:
    base = reverse("accounts:signals", args=[account.pk])
    pills = []
    for value, label in [("", _("All")), *[(c, builtin(c)) for c in categories]]:
        params = {"category": value, "range": _non_default(days)}
        query = urlencode({k: v for k, v in params.items() if v})
        pills.append(
            {
                "label": label,
                "current": value == category,
                "hx": f"{base}?{query}" if query else base,
                "href": _detail_url(account, range=_non_default(days), category=value) + "#signals",
                "push": _detail_url(account, range=_non_default(days), category=value),
            }
        )
    return pills


def _notes(
    request: HttpRequest,
    account: Account,
    *,
    note_form: NoteForm | None = None,
    stage_form: StageForm | None = None,
    before: drilldown.Cursor | None = None,
) -> dict:
    can_work = can_work_on(request.user, account)
    page = drilldown.notes_page(account=account, before=before)
    more = None
    if page.next is not None:
        more = {
            "hx": reverse("accounts:notes", args=[account.pk]) + f"?before={page.next}",
            "href": _detail_url(account, notes_before=str(page.next)) + "#notes",
        }
    context = {
        "account": account,
        "notes": page.rows,
        "notes_more": more,
        "can_work": can_work,
        "stage_days": account.days_in_stage(today=drilldown.history_end(account)),
        "notes_csv_url": reverse("accounts:notes_csv", args=[account.pk]),
    }
    if can_work:
        context["note_form"] = note_form or NoteForm()
        context["stage_form"] = stage_form or StageForm(initial={"stage": account.stage_id})
    return context


def _explanation(
    current: HealthScore | None,
    previous: HealthScore | None,
    versions: dict[int, ScorecardVersion],
    units: dict[int, str],
) -> dict:
    """Why this score, and what moved since the week before."""
    if current is None:
        return {}
    version = versions[current.version_id]
    config = version_config(version)
    context = {
        "version": version,
        "breakdown": explain.score_breakdown(score=current, version=config, units=units),
    }
    if previous is None:
        return context
    before = versions[previous.version_id]
    context.update(
        previous_version=before,
        version_changed=before.pk != version.pk,
        movers=explain.score_movers(
            current=current,
            previous=previous,
            version_current=config,
            version_previous=config if before.pk == version.pk else version_config(before),
            units=units,
        ),
    )
    if current.score is not None and previous.score is not None:
        context["score_change"] = current.score - previous.score
    return context


def _page_context(
    request: HttpRequest,
    account: Account,
    *,
    note_form: NoteForm | None = None,
    stage_form: StageForm | None = None,
    sentiment_form: SentimentForm | None = None,
) -> dict:
    metrics = drilldown.metrics_all()
    filters = _filters(request, metrics)
    days, category = filters["days"], filters["category"]
    snaps = drilldown.snapshots_latest(account=account)
    current, previous = snaps.current, snaps.week_before
    history = drilldown.score_history(
        account=account, days=days, end=drilldown.history_end(account)
    )
    wanted = {v for _d, _s, v in history} | {s.version_id for s in (current, previous) if s}
    versions = drilldown.versions_load(wanted)
    units = {pk: m.unit for pk, m in metrics.items()}

    context: dict = {
        "account": account,
        "current": current,
        "previous": previous,
        "back": _back_link(request, account),
        "renewal": _renewal(account),
        # The permissions are loaded once per request (can_work_on asked already).
        "can_edit": request.user.has_perm("accounts.add_account")
        and request.user.has_perm("accounts.change_account"),
        "can_reassign": request.user.has_perm("accounts.reassign_owner"),
        **filters,
    }
    context.update(_explanation(current, previous, versions, units))
    context["ctas"] = _ctas(account)
    context["trend"] = _trend(
        account,
        days=days,
        history=history,
        versions=list(versions.values()),
        cuts=drilldown.cuts_of(current.band_cuts) if current else {},
        category=category,
    )
    # The regions' keys do not overlap: the page renders them from one flat context.
    context.update(
        _signals(
            account,
            metrics,
            category=category,
            before=drilldown.Cursor.parse(request.GET.get("before")),
            days=days,
        ),
        pills=_pills(account, filters["categories"], category=category, days=days),
    )
    context.update(
        _notes(
            request,
            account,
            note_form=note_form,
            stage_form=stage_form,
            before=drilldown.Cursor.parse(request.GET.get("notes_before")),
        )
    )
    context.update(
        sentiment_region(request, account, form=sentiment_form, can_set=context["can_work"])
    )
    return context


# ---------------------------------------------------------------- views

read_permission = permission_required("accounts.view_account")


@require_GET
@read_permission
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = drilldown.account_get(pk=pk)
    return render(request, PAGE, _page_context(request, account))


@require_GET
@read_permission
@htmx.vary_on_htmx
def account_trend(request: HttpRequest, pk: int) -> HttpResponse:
    """The trend chart for ?range=30|90|365 (HTMX); a plain request gets the page."""
    account = drilldown.account_get(pk=pk)
    metrics = drilldown.metrics_all()
    filters = _filters(request, metrics)
    days, category = filters["days"], filters["category"]
    if not htmx.is_fragment(request):
        return redirect(_detail_url(account, range=days, category=category))
    history = drilldown.score_history(
        account=account, days=days, end=drilldown.history_end(account)
    )
    versions = drilldown.versions_light({v for _d, _s, v in history})
    percentile = any(v.band_mode == ScorecardVersion.BandMode.PERCENTILE for v in versions)
    cuts = drilldown.latest_band_cuts(account=account) if percentile else {}
    trend = _trend(
        account, days=days, history=history, versions=versions, cuts=cuts, category=category
    )
    return render(
        request,
        f"{PAGE}#trend-update",
        {
            "trend": trend,
            "range_problem": filters.get("range_problem"),
            # The signal pills' links carry the range: refresh them out of band.
            "pills": _pills(account, filters["categories"], category=category, days=days),
            "category": category,
        },
    )


@require_GET
@read_permission
@htmx.vary_on_htmx
def account_signals(request: HttpRequest, pk: int) -> HttpResponse:
    """HTMX: with ?before= the next (older) rows for "load more"; without, the whole signals
    region for ?category= (the pills). A plain request gets the page."""
    account = drilldown.account_get(pk=pk)
    metrics = drilldown.metrics_all()
    filters = _filters(request, metrics)
    before = drilldown.Cursor.parse(request.GET.get("before"))
    if not htmx.is_fragment(request):
        return redirect(
            _detail_url(
                account,
                range=_non_default(filters["days"]),
                category=filters["category"],
                before=str(before) if before else None,
            )
            + "#signals"
        )
    region = _signals(
        account, metrics, category=filters["category"], before=before, days=filters["days"]
    )
    if before is not None:
        return render(request, f"{PAGE}#signal-rows", region)
    region["pills"] = _pills(
        account, filters["categories"], category=filters["category"], days=filters["days"]
    )
    region["category_problem"] = filters.get("category_problem")
    # The range links carry the category: refresh them out of band.
    region["trend"] = {
        "days": filters["days"],
        "ranges": _range_links(account, category=filters["category"]),
    }
    return render(request, f"{PAGE}#signals-update", region)


@require_GET
@read_permission
@htmx.vary_on_htmx
def account_notes(request: HttpRequest, pk: int) -> HttpResponse:
    """HTMX "load more" for the notes timeline; a plain request gets the page."""
    account = drilldown.account_get(pk=pk)
    before = drilldown.Cursor.parse(request.GET.get("before"))
    if not htmx.is_fragment(request):
        return redirect(
            _detail_url(account, notes_before=str(before) if before else None) + "#notes"
        )
    region = _notes(request, account, before=before)
    return render(request, f"{PAGE}#note-rows", region)


def _writable(request: HttpRequest, pk: int) -> Account:
    account = drilldown.account_get(pk=pk)
    if not can_work_on(request.user, account):
        raise PermissionDenied(_("Only the account's owner, a manager or an admin can do that."))
    return account


def _sentiment_answer(request: HttpRequest, account: Account, status: str) -> HttpResponse:
    if not htmx.is_fragment(request):
        messages.success(request, status)
        return redirect(_detail_url(account) + "#sentiment")
    region = sentiment_region(request, account, status=status, can_set=True)
    return render(request, f"{SENTIMENT}#sentiment", region)


@require_POST
@htmx.vary_on_htmx
def account_sentiment_set(request: HttpRequest, pk: int) -> HttpResponse:
    """Record the CSM's sentiment (replacing the current one)."""
    account = _writable(request, pk)
    form = SentimentForm(request.POST)
    if not form.is_valid():
        if not htmx.is_fragment(request):
            return render(request, PAGE, _page_context(request, account, sentiment_form=form))
        region = sentiment_region(request, account, form=form, can_set=True)
        return render(request, f"{SENTIMENT}#sentiment", region)
    sentiment = services.sentiment_set(account=account, user=request.user, **form.cleaned_data)
    texts = {
        Sentiment.Level.HEALTHY: _("Sentiment recorded: healthy until %(day)s."),
        Sentiment.Level.AT_RISK: _("Sentiment recorded: at risk until %(day)s."),
        Sentiment.Level.UNHEALTHY: _("Sentiment recorded: unhealthy until %(day)s."),
    }
    text = texts[Sentiment.Level(sentiment.level)] % {"day": short_day_text(sentiment.last_day)}
    return _sentiment_answer(request, account, text)


@require_POST
@htmx.vary_on_htmx
def account_sentiment_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw the current sentiment: it stops counting now and stays in the history."""
    account = _writable(request, pk)
    withdrawn = services.sentiment_withdraw(account=account, user=request.user)
    status = (
        _("Sentiment withdrawn: it no longer counts in the score.")
        if withdrawn is not None
        else _("There is no current sentiment to withdraw.")
    )
    return _sentiment_answer(request, account, status)


def _note_added(note: Note) -> str:
    """The confirmation, one sentence per kind (the noun's gender differs by language)."""
    texts = {
        Note.Kind.NOTE: _("Note added."),
        Note.Kind.CALL: _("Call added."),
        Note.Kind.MEETING: _("Meeting added."),
        Note.Kind.STAGE_CHANGE: _("Stage change added."),
    }
    return texts[Note.Kind(note.kind)]


@require_POST
@htmx.vary_on_htmx
def account_add_note(request: HttpRequest, pk: int) -> HttpResponse:
    account = _writable(request, pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        note = services.note_create(
            account=account,
            author=request.user,
            kind=form.cleaned_data["kind"],
            body=form.cleaned_data["body"],
        )
        if not htmx.is_fragment(request):
            messages.success(request, _note_added(note))
            return redirect(_detail_url(account) + "#notes")
        # A fresh form, the confirmation, and the timeline with the new note on top.
        region = _notes(request, account)
        region["note_status"] = _note_added(note)
        region["new_note_id"] = note.pk
        return render(request, f"{PAGE}#note-added", region)
    if not htmx.is_fragment(request):
        return render(request, PAGE, _page_context(request, account, note_form=form))
    region = _notes(request, account, note_form=form)
    return render(request, f"{PAGE}#note-form", region)


@require_POST
@htmx.vary_on_htmx
def account_change_stage(request: HttpRequest, pk: int) -> HttpResponse:
    account = _writable(request, pk)
    form = StageForm(request.POST)
    if not form.is_valid():
        if not htmx.is_fragment(request):
            return render(request, PAGE, _page_context(request, account, stage_form=form))
        return render(request, f"{PAGE}#stage-form", _notes(request, account, stage_form=form))
    to_stage = form.cleaned_data["stage"]
    change = services.stage_change(
        account=account, to_stage=to_stage, user=request.user, comment=form.cleaned_data["comment"]
    )
    stage = builtin(to_stage.name)
    status = (
        _("Moved to %(stage)s.") % {"stage": stage}
        if change is not None
        else _("%(account)s is already in %(stage)s; nothing changed.")
        % {"account": account.name, "stage": stage}
    )
    if not htmx.is_fragment(request):
        (messages.success if change else messages.info)(request, status)
        return redirect(_detail_url(account))
    region = _notes(request, account)
    region.update(stage_status=status, stage_changed=change is not None)
    return render(request, f"{PAGE}#stage-changed", region)
