"""Times in entities, exactly as Mastodon writes them."""

from __future__ import annotations

from wildebeest_trio.serializers.time import iso_date, iso_midnight, iso_ms


def test_times_as_mastodon_writes_them() -> None:
    assert iso_ms(1575776913901) == "2019-12-08T03:48:33.901Z"
    assert iso_ms(1575776913001) == "2019-12-08T03:48:33.001Z"
    assert iso_ms(86399999) == "1970-01-01T23:59:59.999Z"
    assert iso_ms(None) is None
    assert iso_midnight(1575776913901) == "2019-12-08T00:00:00.000Z"
    assert iso_date(1575776913901) == "2019-12-08"
    assert iso_date(None) is None
