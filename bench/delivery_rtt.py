"""Delivery throughput at +20 ms round trip against ``sftp -b`` doing the same work (issue 13).

:mod:`bench.delivery` on a long link: both clients reach the same ``sshd`` through
:mod:`bench.delay_proxy`, which holds each direction's bytes 10 ms.  ``sftp -b`` waits
for each request's answer before the next (``put -f`` to the temporary name, then
``rename``: about seven round trips per file); chatrec keeps several files in flight
per connection.  Fewer files than on loopback, so that ``sftp`` finishes in time.

Figure: chatrec files per second for the small set (data files and sidecars alike),
baseline ``sftp -b`` on the same files through the same proxy.
"""

from __future__ import annotations

import logging
import time

from bench.common import Result, report
from bench.delivery import DELAY, DELAYED_SETS, details, plot, run_scenarios

NAME = "delivery_rtt"


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    began = time.perf_counter()
    scenarios = run_scenarios("+20 ms RTT", DELAYED_SETS, DELAY)
    headline = scenarios[0]
    found = details(
        scenarios, began, "chatrec files/s at +20 ms RTT, 5 KB set (data files and sidecars)"
    )
    found["delay_proxy"] = "bench/delay_proxy.py, 10 ms each way (RTT +20 ms)"
    result = Result(
        name=NAME,
        figure=headline["best_files_per_second"],
        unit="files/s",
        baseline=headline["sftp_files_per_second"],
        goal=">= 3x sftp -b (put -f to a temporary name, rename) at +20 ms round trip",
        details=found,
        plots=[plot(scenarios, NAME)],
    )
    report(result)


if __name__ == "__main__":
    main()
