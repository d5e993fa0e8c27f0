"""The renewal note the portfolio's rows and the account page show under the date."""

import pytest

from healthboard.pages.templatetags.healthboard import renewal_note


@pytest.mark.parametrize(
    ("days", "note"),
    [
        (None, ""),
        (0, "today"),
        (1, "in 1 day"),
        (12, "in 12 days"),
        (-1, "1 day ago"),
        (-30, "30 days ago"),
    ],
)
def test_the_note_says_when_the_renewal_is(days, note) -> None:
    assert renewal_note(days) == note
