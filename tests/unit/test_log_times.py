"""Reading the time a log line was written, for `/logs since=` over files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from chatops.engine.incidents.log_times import line_time, within


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("2026-12-07T23:10:05: GET /orders 500", datetime(2026, 12, 7, 23, 10, 5, tzinfo=UTC)),
        (
            "2026-12-07 23:10:05.123 +02:00: boom",
            datetime(2026, 12, 7, 23, 10, 5, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("[2026-12-07T23:10:05Z] info", datetime(2026, 12, 7, 23, 10, 5, tzinfo=UTC)),
        (
            "2026/12/07 23:10:05 [error] 12#12: upstream",
            datetime(2026, 12, 7, 23, 10, 5, tzinfo=UTC),
        ),
        (
            '10.0.0.1 - - [07/Dec/2026:23:10:05 -0500] "GET / HTTP/1.1" 200',
            datetime(2026, 12, 7, 23, 10, 5, tzinfo=timezone(-timedelta(hours=5))),
        ),
        ("    at handler (app.js:1)", None),
        ("2026-13-45T99:00:00 not a time", None),
        ("[07/Foo/2026:23:10:05 +0000] not a month", None),
    ],
)
def test_line_time_reads_the_common_formats(line: str, expected: datetime | None) -> None:
    assert line_time(line) == expected


def test_within_keeps_the_window_and_the_lines_that_follow_a_kept_one() -> None:
    text = (
        "2026-12-07T20:00:00: old\n"
        "  old trace\n"
        "2026-12-07T22:30:00: new\n"
        "  new trace\n"
        "2026-12-07T22:40:00: newer\n"
    )
    cutoff = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)
    kept, timed = within(text, cutoff, 100)
    assert timed and kept == "2026-12-07T22:30:00: new\n  new trace\n2026-12-07T22:40:00: newer\n"
    assert within(text, cutoff, 1)[0] == "2026-12-07T22:40:00: newer\n"  # the last lines
    assert within("plain\nlines\n", cutoff, 1) == ("lines\n", False)  # no time: as it is
