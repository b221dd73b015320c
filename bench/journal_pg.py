"""Journal write rate on PostgreSQL (issue 13: ``journal_pg``): ``bench.journal``'s
measurement at 50 writers on a fresh schema of the ``test`` database, against plain
inserts, every writer on its own connection committing each message."""

from __future__ import annotations

import json
import time

from bench.common import Result, report
from bench.journal import HEADLINE_WRITERS, MESSAGES, measure_postgres, postgres_setting

NAME = "journal_pg"
GOAL = "chatrec >= 1.0x plain PostgreSQL inserts, a connection per writer"


def main() -> None:
    began = time.perf_counter()
    details = {
        "messages_per_measurement": MESSAGES // 2,
        "synchronous_commit": postgres_setting("synchronous_commit"),
    }
    pair = measure_postgres(HEADLINE_WRITERS)
    print(f"postgresql {json.dumps(pair.summary())}", flush=True)
    details |= pair.summary() | {"seconds": round(time.perf_counter() - began, 1)}
    report(
        Result(
            name=NAME,
            figure=round(pair.chatrec, 1),
            unit="msgs/s",
            baseline=round(pair.plain, 1),
            goal=GOAL,
            details=details,
        )
    )


if __name__ == "__main__":
    main()
