import pytest

from core.clock import parse_time_ms


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("0", 0),
        ("1700000000", 1_700_000_000_000),
        ("1700000000.25", 1_700_000_000_250),
        (" 2000 ", 2_000_000),
        ("2023-11-14T22:13:20Z", 1_700_000_000_000),
        ("2023-11-14T23:13:20.5+01:00", 1_700_000_000_500),
    ],
)
def test_it_reads_unix_seconds_and_rfc3339_times(text, ms):
    assert parse_time_ms(text) == ms


@pytest.mark.parametrize("text", ["yesterday", "", "inf", "nan", "2023-13-01T00:00:00Z"])
def test_other_text_is_refused_naming_both_forms(text):
    with pytest.raises(ValueError, match="neither Unix seconds nor an RFC 3339 time"):
        parse_time_ms(text)


def test_a_time_without_zone_is_refused_rather_than_guessed():
    with pytest.raises(ValueError, match="no time zone"):
        parse_time_ms("2023-11-14T22:13:20")
