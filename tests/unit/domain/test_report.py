"""The report's figures over a period (domain/report.py; issue 15)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from chatrec.domain.report import ChatFacts, build_report, csv_row, summary

DAY = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def chat(
    n: int,
    *,
    answered: float | None = None,
    joined: float | None = None,
    ended: float | None = None,
    transfers: int = 0,
    wrap_up: str | None = None,
    day: int = 0,
) -> ChatFacts:
    start = DAY + timedelta(days=day)

    def at(seconds: float | None) -> datetime | None:
        return None if seconds is None else start + timedelta(seconds=seconds)

    return ChatFacts(
        f"C{n}", "Support", start, at(ended), at(joined), at(answered), transfers, wrap_up
    )


def test_a_summary_is_count_mean_median_and_p90() -> None:
    assert summary([]) == {"count": 0, "mean": None, "median": None, "p90": None}
    assert summary([10, 20, 30, 40]) == {"count": 4, "mean": 25.0, "median": 25.0, "p90": 40}
    assert summary(range(1, 11))["p90"] == 9  # nearest rank: the 9th of 10


def test_the_report_counts_what_each_figure_says_it_does() -> None:
    chats = [
        chat(1, answered=30, joined=10, ended=310, transfers=2, wrap_up="Claim"),
        chat(2, answered=60, joined=20, ended=120, wrap_up="Claim", day=2),
        chat(3, ended=5),  # the flow ended it: no agent, no staff message, no wrap-up
        chat(4, joined=15, day=2),  # still open
    ]
    recordings = [("produced", "R5a"), ("produced", "R5a"), ("suppressed", "R12b")]
    report = build_report(chats, recordings, date(2026, 12, 1), date(2026, 12, 3))
    assert report["chats"]["started"] == 4
    assert report["chats"]["ended"] == 3
    assert report["chats"]["per_day"] == [
        {"day": "2026-12-01", "chats": 2},
        {"day": "2026-12-02", "chats": 0},
        {"day": "2026-12-03", "chats": 2},
    ]
    assert report["first_response_seconds"]["count"] == 2
    assert report["first_response_seconds"]["mean"] == 45.0
    assert report["handle_seconds"] == {"count": 2, "mean": 200.0, "median": 200.0, "p90": 300.0}
    assert report["transfers"] == {"count": 2, "chats_transferred": 1}
    assert report["wrap_up_codes"] == {"(none)": 1, "Claim": 2}  # ended chats only
    assert report["recordings"] == [
        {"outcome": "produced", "rule": "R5a", "count": 2},
        {"outcome": "suppressed", "rule": "R12b", "count": 1},
    ]


def test_a_csv_row_has_iso_times_and_empty_cells_for_what_did_not_happen() -> None:
    assert csv_row(chat(4, joined=15)) == [
        "C4",
        "Support",
        "2026-12-01T09:00:00+00:00",
        "",
        "",
        "",
        "0",
        "",
    ]
    assert csv_row(chat(1, answered=30.04, joined=10, ended=310))[4:6] == ["30.0", "300.0"]
