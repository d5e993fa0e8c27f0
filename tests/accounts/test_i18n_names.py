"""Names inside sentences: common nouns in lower case, abbreviations as written."""

from accounts.i18n import in_sentence


def test_a_name_inside_a_sentence_reads_in_lower_case_unless_an_abbreviation() -> None:
    assert in_sentence("Unresolved complaints") == "unresolved complaints"
    assert in_sentence("NPS") == "NPS"
    assert in_sentence("CSAT score") == "CSAT score"
    assert in_sentence("") == ""
    assert in_sentence("x") == "x"
