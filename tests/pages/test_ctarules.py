"""The CTA rules page (Admins): the list with each condition in words, the on/off switch in
place, a new rule (condition first, then its parameters as real fields), editing, and
deleting only a rule no CTA points at."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from scoring.actions.kinds import KINDS
from scoring.models.actions import ActionRule, CallToAction
from tests.factories import (
    AccountFactory,
    ActionRuleFactory,
    CallToActionFactory,
    HealthScoreFactory,
    ScoreRunFactory,
)
from tests.scoring.actions.helpers import TODAY

HTMX = {"HTTP_HX_REQUEST": "true"}
# Session, user, permissions (2), the rules with their CTAs counted (one GROUP BY), the
# layout's role (measured: 6).
# +1: the navigation's count of the user's calls to action due now (every page).
# +1: the metrics' names, for the conditions in words.
LIST_MAX_QUERIES = 8
# … plus the metric catalogue (the parameters' choices) and the rule's row (measured: 8).
# +1: the navigation's count of the user's calls to action due now (every page).
# +2: the metrics' names for the rule's row and for the kinds' summaries.
EDIT_MAX_QUERIES = 11


def rule_data(kind: str = "score_drop", **overrides) -> dict:
    """A complete POST for a rule of `kind`, with its parameters' defaults."""
    data = {
        "kind": kind,
        "name": "Big drop",
        "cta_type": "risk",
        "priority": "2",
        "due_days": "5",
        "cooldown_days": "30",
        "auto_close": "on",
        "enabled": "on",
    }
    data.update({f"p_{p.name}": str(p.default) for p in KINDS[kind].params})
    data.update(overrides)
    return data


def errors_of(response) -> dict[str, list[str]]:
    form = response.context["form"]
    errors = {name: list(e) for name, e in form.errors.items()}
    errors.update({name: list(e) for name, e in form.params.errors.items()})
    return errors


# ---------------------------------------------------------------- who may


def test_anonymous_visitors_are_sent_to_log_in(client) -> None:
    response = client.get(reverse("playbooks:rules"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("client_fixture", ["csm_client", "manager_client"])
def test_only_admins_see_or_change_the_rules(request, client_fixture) -> None:
    client = request.getfixturevalue(client_fixture)
    rule = ActionRule.objects.get(name="Turned unhealthy")

    for path in (
        reverse("playbooks:rules"),
        reverse("playbooks:rule_new"),
        reverse("playbooks:rule", args=[rule.pk]),
    ):
        assert client.get(path).status_code == 403, path
    assert client.post(reverse("playbooks:rule_new"), rule_data()).status_code == 403
    assert client.post(reverse("playbooks:rule", args=[rule.pk]), rule_data()).status_code == 403
    toggle = reverse("playbooks:rule_toggle", args=[rule.pk])
    assert client.post(toggle, {"enabled": "0"}).status_code == 403
    assert client.post(reverse("playbooks:rule_delete", args=[rule.pk])).status_code == 403
    rule.refresh_from_db()
    assert rule.enabled and rule.name == "Turned unhealthy"
    assert not ActionRule.objects.filter(name="Big drop").exists()


# ---------------------------------------------------------------- the list


def test_the_list_shows_each_rule_in_words_in_bounded_queries(
    admin_role_client, django_assert_max_num_queries
) -> None:
    rule = ActionRule.objects.get(name="Score fell 15 points in a week")
    CallToActionFactory.create_batch(3, rule=rule)
    CallToActionFactory(rule=rule, status="done")

    with django_assert_max_num_queries(LIST_MAX_QUERIES):
        response = admin_role_client.get(reverse("playbooks:rules"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "The score dropped by 15 points or more within 7 days." in html
    assert "The account turned unhealthy from a better band since the previous run." in html
    for stored in ActionRule.objects.all():
        assert reverse("playbooks:rule", args=[stored.pk]) in html
    rows = {row.rule.name: row for row in response.context["rows"]}
    assert (rows[rule.name].active_ctas, rows[rule.name].ctas) == (3, 4)
    # The nav link is the Admin's way in, and says where they are.
    assert 'aria-current="page">Playbooks &amp; rules</a>' in html


def test_the_list_costs_the_same_with_more_rules(
    admin_role_client, django_assert_max_num_queries
) -> None:
    ActionRuleFactory.create_batch(20)

    with django_assert_max_num_queries(LIST_MAX_QUERIES):
        assert admin_role_client.get(reverse("playbooks:rules")).status_code == 200


def test_the_list_says_what_to_do_without_rules(admin_role_client) -> None:
    ActionRule.objects.all().delete()

    html = admin_role_client.get(reverse("playbooks:rules")).content.decode()

    assert "No rules yet" in html
    assert reverse("playbooks:rule_new") in html


# ---------------------------------------------------------------- on and off


def test_a_rule_is_turned_off_in_place_and_a_resent_click_changes_nothing(
    admin_role_client, admin_role_user
) -> None:
    rule = ActionRule.objects.get(name="Turned unhealthy")
    toggle = reverse("playbooks:rule_toggle", args=[rule.pk])

    response = admin_role_client.post(toggle, {"enabled": "0"}, **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    # Only the row comes back, switched.
    assert html.lstrip().startswith(f'<tr id="rule-{rule.pk}"')
    assert "<html" not in html
    assert 'aria-pressed="false"' in html and 'name="enabled" value="1"' in html
    rule.refresh_from_db()
    assert not rule.enabled and rule.updated_by == admin_role_user
    stamped = rule.updated_at

    # The same click again (a double click, a resent form) leaves it off and unstamped.
    admin_role_client.post(toggle, {"enabled": "0"}, **HTMX)
    rule.refresh_from_db()
    assert not rule.enabled and rule.updated_at == stamped

    response = admin_role_client.post(toggle, {"enabled": "1"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.enabled


def test_a_toggle_must_say_on_or_off(admin_role_client) -> None:
    rule = ActionRule.objects.get(name="Turned unhealthy")

    response = admin_role_client.post(
        reverse("playbooks:rule_toggle", args=[rule.pk]), {"enabled": "maybe"}, follow=True
    )

    assert "enabled=1 or 0" in response.content.decode()
    rule.refresh_from_db()
    assert rule.enabled


# ---------------------------------------------------------------- a new rule


def test_a_new_rule_starts_with_its_condition(admin_role_client) -> None:
    response = admin_role_client.get(reverse("playbooks:rule_new"))

    assert response.status_code == 200
    assert response.context["form"] is None
    html = response.content.decode()
    assert '<option value="" selected>Choose a condition…</option>' in html
    for kind in KINDS.values():
        assert f'value="{kind.key}"' in html and str(kind.label) in html
        # Each also listed in words, a link that works without JavaScript.
        assert f'href="?kind={kind.key}"' in html
    assert "The score dropped by 15 points or more within 7 days." in html


def test_choosing_a_condition_shows_its_parameters_as_fields(
    admin_role_client, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(EDIT_MAX_QUERIES):
        response = admin_role_client.get(reverse("playbooks:rule_new") + "?kind=promoter_healthy")

    html = response.content.decode()
    assert 'name="p_minimum"' in html and 'min="0"' in html and 'max="10"' in html
    assert 'name="p_days"' in html and 'max="730"' in html
    # The metric is a choice from the catalogue, the kind's default chosen.
    assert '<select name="p_metric"' in html
    assert '<option value="nps" selected>' in html
    # The kind's own type and priority are the new rule's defaults.
    assert response.context["form"]["cta_type"].value() == "expansion"
    assert "ask for a review, a case study or a referral" in html


def test_the_htmx_chooser_gets_only_the_form(admin_role_client) -> None:
    response = admin_role_client.get(reverse("playbooks:rule_new") + "?kind=band_worse", **HTMX)

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="rule-form">')
    # The chooser comes along, showing the condition chosen.
    assert '<option value="band_worse" selected>Band got worse</option>' in html
    assert "<html" not in html
    # The band is a choice of the two worse ones, by their words.
    assert '<option value="yellow">At risk</option>' in html
    assert '<option value="red" selected>Unhealthy</option>' in html
    assert "HX-Request" in response["Vary"]


def test_an_unknown_condition_is_refused_by_name(admin_role_client) -> None:
    response = admin_role_client.get(reverse("playbooks:rule_new") + "?kind=moon_phase")

    assert response.status_code == 400
    assert "moon_phase is not one of the available choices" in response.content.decode()


def test_an_admin_creates_a_rule(admin_role_client, admin_role_user) -> None:
    response = admin_role_client.post(
        reverse("playbooks:rule_new"), rule_data(p_points="20", p_days="14")
    )

    rule = ActionRule.objects.get(name="Big drop")
    assert response.status_code == 302
    assert response.url == reverse("playbooks:rules") + f"#rule-{rule.pk}"
    assert rule.kind == "score_drop"
    assert rule.parameters == {"points": 20, "days": 14}
    assert (rule.due_days, rule.cooldown_days, rule.auto_close, rule.enabled) == (5, 30, True, True)
    assert rule.updated_by == admin_role_user


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"p_points": "0"}, "p_points", "greater than or equal to 1"),
        ({"p_points": "101"}, "p_points", "less than or equal to 100"),
        ({"p_days": "seven"}, "p_days", "Enter a whole number."),
        ({"name": ""}, "name", "This field is required."),
        ({"name": "Turned unhealthy"}, "name", "already exists"),
        ({"due_days": "400"}, "due_days", "less than or equal to 365"),
        ({"cta_type": "hope"}, "cta_type", "not one of the available choices"),
    ],
)
def test_bad_input_is_refused_at_its_field(admin_role_client, overrides, field, message) -> None:
    response = admin_role_client.post(reverse("playbooks:rule_new"), rule_data(**overrides))

    assert response.status_code == 400
    assert any(message in error for error in errors_of(response)[field])
    assert "Nothing was changed" in response.content.decode()
    assert not ActionRule.objects.filter(name="Big drop").exists()
    assert ActionRule.objects.filter(kind="score_drop").count() == 1  # the seeded one


def test_a_metric_outside_the_catalogue_is_refused(admin_role_client) -> None:
    response = admin_role_client.post(
        reverse("playbooks:rule_new"), rule_data("no_login", p_metric="telepathy")
    )

    assert response.status_code == 400
    assert "telepathy is not one of the available choices" in " ".join(
        errors_of(response)["p_metric"]
    )


def test_a_band_other_than_yellow_or_red_is_refused(admin_role_client) -> None:
    response = admin_role_client.post(
        reverse("playbooks:rule_new"), rule_data("band_worse", p_band="green")
    )

    assert response.status_code == 400
    assert "p_band" in errors_of(response)


# ---------------------------------------------------------------- editing


def test_the_edit_form_shows_the_stored_parameters_in_bounded_queries(
    admin_role_client, admin_role_user, django_assert_max_num_queries
) -> None:
    rule = ActionRule.objects.get(name="Invoice 30 days late")
    ActionRule.objects.filter(pk=rule.pk).update(updated_by=admin_role_user)

    with django_assert_max_num_queries(EDIT_MAX_QUERIES):
        response = admin_role_client.get(reverse("playbooks:rule", args=[rule.pk]))

    html = response.content.decode()
    assert 'name="p_days" value="30"' in html
    assert '<option value="invoice_days_late" selected>' in html
    assert "The latest invoice (invoice days late) is 30 or more days late." in html
    assert "by Alex Tester" in html
    # The kind is fixed once the rule exists: no chooser.
    assert response.context["chooser"] is None


def test_an_admin_changes_a_rules_parameters(admin_role_client) -> None:
    rule = ActionRule.objects.get(name="Invoice 30 days late")
    data = rule_data("invoice_late", name=rule.name, cta_type="lifecycle", p_days="45", enabled="")

    response = admin_role_client.post(reverse("playbooks:rule", args=[rule.pk]), data)

    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.parameters == {"days": 45, "metric": "invoice_days_late"}
    assert not rule.enabled
    assert rule.kind == "invoice_late"


def test_saving_an_unchanged_rule_writes_nothing(admin_role_client) -> None:
    rule = ActionRule.objects.get(name="Turned unhealthy")
    stamped = rule.updated_at
    data = {
        "name": rule.name,
        "cta_type": rule.cta_type,
        "priority": str(rule.priority),
        "due_days": str(rule.due_days),
        "cooldown_days": str(rule.cooldown_days),
        "auto_close": "on",
        "enabled": "on",
        "p_band": "red",
    }

    response = admin_role_client.post(reverse("playbooks:rule", args=[rule.pk]), data, follow=True)

    assert "Nothing to save" in response.content.decode()
    rule.refresh_from_db()
    assert rule.updated_at == stamped


# ---------------------------------------------------------------- deleting


def test_a_rule_without_ctas_is_deleted(admin_role_client) -> None:
    rule = ActionRuleFactory()
    page = admin_role_client.get(reverse("playbooks:rule", args=[rule.pk])).content.decode()
    assert reverse("playbooks:rule_delete", args=[rule.pk]) in page

    response = admin_role_client.post(reverse("playbooks:rule_delete", args=[rule.pk]))

    assert response.status_code == 302
    assert not ActionRule.objects.filter(pk=rule.pk).exists()
    # Deleting it again (a resent form) is a 404, not an error page.
    assert (
        admin_role_client.post(reverse("playbooks:rule_delete", args=[rule.pk])).status_code == 404
    )


def test_a_rule_that_opened_ctas_cannot_be_deleted_only_turned_off(admin_role_client) -> None:
    rule = ActionRuleFactory()
    cta = CallToActionFactory(rule=rule, status="done")
    page = admin_role_client.get(reverse("playbooks:rule", args=[rule.pk])).content.decode()
    assert reverse("playbooks:rule_delete", args=[rule.pk]) not in page
    assert "Turn it off" in page

    response = admin_role_client.post(reverse("playbooks:rule_delete", args=[rule.pk]), follow=True)

    assert "turn it off instead of deleting it" in response.content.decode()
    assert ActionRule.objects.filter(pk=rule.pk).exists()
    cta.refresh_from_db()
    assert cta.rule_id == rule.pk


# ---------------------------------------------------------------- the preview

# Session, user, permissions (2), the metric catalogue (the form's choices), the newest
# published run (its date is shown), then rule_preview's own three for renewal_at_risk (the
# run, the catalogue, the condition); no layout (a region). Measured: 10, whatever the
# number of accounts.
PREVIEW_MAX_QUERIES = 10


def preview(client, **params):
    query = "&".join(f"{name}={value}" for name, value in params.items())
    return client.get(reverse("playbooks:rule_preview") + "?" + query, **HTMX)


def test_the_edit_form_asks_for_the_preview_with_its_parameters(admin_role_client) -> None:
    rule = ActionRule.objects.get(name="At risk before renewal")

    html = admin_role_client.get(reverse("playbooks:rule", args=[rule.pk])).content.decode()

    assert f'hx-get="{reverse("playbooks:rule_preview")}"' in html
    assert "load, input from:#rule-params delay:500ms, change from:#rule-params" in html
    assert '<input type="hidden" name="kind" value="renewal_at_risk">' in html


def test_the_preview_counts_the_accounts_as_the_parameters_are_edited(
    admin_role_client, django_assert_max_num_queries
) -> None:
    for score, renews_in in [(30, 10), (55, 50), (90, 10), (20, 200)]:
        account = AccountFactory(renewal_date=TODAY + dt.timedelta(days=renews_in))
        HealthScoreFactory(account=account, run=ScoreRunFactory(date=TODAY), score=score)

    with django_assert_max_num_queries(PREVIEW_MAX_QUERIES):
        response = preview(admin_role_client, kind="renewal_at_risk", p_days=30)

    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "Would fire for 1 account today" in html
    # The condition in words follows the values typed (out of band).
    assert 'id="rule-condition" class="cta-condition" hx-swap-oob="true"' in html
    assert "renews within 30 days." in html
    assert TODAY.strftime("%-d %b %Y") in html
    assert (
        "Would fire for 2 accounts today"
        in preview(admin_role_client, kind="renewal_at_risk", p_days=60).content.decode()
    )
    # Nothing was saved: the stored rule still reads 90 days.
    stored = ActionRule.objects.get(name="At risk before renewal")
    assert stored.parameters == {"days": 90}
    assert not CallToAction.objects.exists()


def test_the_preview_pauses_on_a_bad_parameter_and_says_which(admin_role_client) -> None:
    html = preview(admin_role_client, kind="renewal_at_risk", p_days=0).content.decode()

    assert "Preview paused: Renews within (days): Ensure this value is greater than" in html

    html = preview(admin_role_client, kind="no_login", p_days=5, p_metric="telepathy")
    assert "Preview paused: Metric: Select a valid choice." in html.content.decode()
    assert "Choose a condition first." in preview(admin_role_client, kind="moon").content.decode()


def test_the_preview_says_when_there_is_nothing_to_count(admin_role_client) -> None:
    html = preview(admin_role_client, kind="band_worse", p_band="red").content.decode()

    assert "Nothing to count yet:" in html and "no scoring run has been published" in html


@pytest.mark.parametrize("client_fixture", ["csm_client", "manager_client"])
def test_only_admins_get_a_preview(request, client_fixture) -> None:
    client = request.getfixturevalue(client_fixture)

    assert preview(client, kind="band_worse", p_band="red").status_code == 403
