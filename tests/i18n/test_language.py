"""The language chooser: a signed-in user's choice is saved on their preferences and wins over
the browser's Accept-Language, on every page and after logging out and in again."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from healthboard.lib.roles import ADMIN, CSM, MANAGER
from scoring.models.digest import DigestPreference
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHOOSE = "preferences:language"


def page_language(response) -> str:
    return response.headers["Content-Language"]


def log_in(client: Client, username: str, password: str, **headers) -> None:
    response = client.post(
        reverse("login"), {"username": username, "password": password}, headers=headers
    )
    assert response.status_code == 302


@pytest.mark.parametrize("role", [CSM, MANAGER, ADMIN])
def test_it_saves_the_choice_and_reads_the_next_page_in_it(role, password) -> None:
    user = UserFactory(username="casey", password=password, role=role)
    client = Client()
    log_in(client, "casey", password)

    response = client.post(reverse(CHOOSE), {"language": "da", "next": "/accounts/journey/"})

    assert response.status_code == 302 and response.url == "/accounts/journey/"
    assert DigestPreference.objects.get(user=user).language == "da"
    page = client.get(reverse("accounts:journey"), headers={"accept-language": "pl"})
    assert page_language(page) == "da"
    assert '<html lang="da"' in page.content.decode()


def test_the_choice_survives_logout_and_login_over_the_browsers_language(password) -> None:
    UserFactory(username="casey", password=password, role=CSM)
    client = Client()
    log_in(client, "casey", password)
    client.post(reverse(CHOOSE), {"language": "pl", "next": "/"})
    client.post(reverse("logout"))

    # Another browser, which asks for Indonesian: the saved Polish wins once logged in.
    other = Client()
    log_in(other, "casey", password, accept_language="id")

    assert page_language(other.get(reverse("accounts:journey"))) == "pl"


def test_without_a_saved_choice_the_browsers_language_is_used(password) -> None:
    UserFactory(username="casey", password=password, role=CSM)
    client = Client()
    log_in(client, "casey", password)

    page = client.get(reverse("accounts:journey"), headers={"accept-language": "id,en;q=0.5"})

    assert page_language(page) == "id"
    assert page_language(client.get(reverse("accounts:journey"))) == "en"


def test_one_users_choice_is_not_the_next_users(password) -> None:
    UserFactory(username="casey", password=password, role=CSM)
    morgan = UserFactory(username="morgan", password=password, role=MANAGER)
    client = Client()
    log_in(client, "casey", password)
    client.post(reverse(CHOOSE), {"language": "da"})

    # Morgan logs in on the same session without Casey logging out first (and without the
    # browser's cookie, which would rightly count as the browser's language).
    client.force_login(morgan)
    client.cookies.pop("django_language", None)

    assert page_language(client.get(reverse("accounts:journey"))) == "en"


def test_a_language_not_offered_is_refused_with_a_message(csm_client, csm_user) -> None:
    response = csm_client.post(reverse(CHOOSE), {"language": "xx", "next": "/"}, follow=True)

    assert "“xx” is not one of the languages offered (en, id, da, pl)." in response.content.decode()
    assert not DigestPreference.objects.filter(user=csm_user, language="xx").exists()


def test_it_keeps_the_users_other_preferences(csm_client, csm_user) -> None:
    DigestPreference.objects.create(
        user=csm_user, frequency="weekly", weekday=2, time_zone="Europe/Copenhagen", hour=9
    )

    csm_client.post(reverse(CHOOSE), {"language": "id"})

    saved = DigestPreference.objects.get(user=csm_user)
    assert (saved.language, saved.frequency, saved.weekday, saved.hour) == ("id", "weekly", 2, 9)
    assert saved.time_zone == "Europe/Copenhagen"


def test_it_goes_back_only_to_a_page_of_this_site(csm_client) -> None:
    response = csm_client.post(reverse(CHOOSE), {"language": "da", "next": "https://evil.test/"})

    assert response.url == reverse("home")


def test_the_login_page_offers_the_languages_and_remembers_the_choice() -> None:
    client = Client()
    page = client.get(reverse("login")).content.decode()
    assert 'action="/preferences/language/"' in page
    for name in ("English", "Bahasa Indonesia", "Dansk", "Polski"):
        assert name in page

    response = client.post(reverse(CHOOSE), {"language": "da", "next": reverse("login")})

    assert response.url == reverse("login")
    assert client.cookies["django_language"].value == "da"
    assert page_language(client.get(reverse("login"))) == "da"


def test_the_chooser_is_in_every_pages_header_with_the_current_language_selected(
    csm_client,
) -> None:
    csm_client.post(reverse(CHOOSE), {"language": "pl"})

    page = csm_client.get(reverse("accounts:journey")).content.decode()

    assert '<option value="pl" lang="pl" selected>Polski</option>' in page
    # No inline handler (a strict CSP forbids them): healthboard.js sends the form.
    assert "onchange" not in page and "data-submit-on-change" in page


def test_choosing_needs_a_post(csm_client) -> None:
    assert csm_client.get(reverse(CHOOSE)).status_code == 405


def test_the_portfolios_band_chips_follow_the_readers_language(csm_client, csm_user) -> None:
    from django.utils import timezone, translation

    from scoring.bands import Band
    from tests.factories import AccountFactory, HealthScoreFactory, ScoreRunFactory

    run = ScoreRunFactory(date=timezone.localdate())
    HealthScoreFactory(account=AccountFactory(owner=csm_user), run=run, score=20)
    with translation.override("pl"):
        polish = f'<span class="chip-label">{Band.RED.label}</span>'
    with translation.override("en"):
        red = f'<span class="chip-label">{Band.RED.label}</span>'

    english = csm_client.get(reverse("home")).content.decode()
    csm_client.post(reverse(CHOOSE), {"language": "pl"})
    page = csm_client.get(reverse("home")).content.decode()

    # The table's chips are cached per band and score: and per language.
    assert red in english and polish != red
    assert page.count(polish) == english.count(red)
