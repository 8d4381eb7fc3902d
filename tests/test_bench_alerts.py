"""``python -m bench alerts`` still runs end to end at a tiny size: ``python -m bot`` as its own
process checks every account once and then monitors exactly the servers left on, no more calls.

Only counts and the structure of the result are checked; timings are the benchmark's business.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from bench.alerts_bench import MonitorPass, monitor_passes, run_alerts_bench

ACCOUNTS = 6


async def test_the_alerts_bench_runs_the_bot_as_a_process(tmp_path: Path) -> None:
    result = await run_alerts_bench(
        tmp_path, ACCOUNTS, latency=0.005, monitor_interval=1.0, timeout=60.0
    )
    assert (result.servers, result.monitored) == (2 * ACCOUNTS, ACCOUNTS)
    assert result.account_pass_calls == {
        "orders": ACCOUNTS,
        "services": ACCOUNTS,
        "balance": ACCOUNTS,
    }
    assert result.monitor_pass_calls == ACCOUNTS
    assert len(result.monitor_passes_s) == len(result.bot_cpu_ms_per_server) == 2
    # The floor: the same calls made bare, twice, every one answered (bench/bare_calls.py).
    assert len(result.bare_passes_s) == len(result.bare_vs_bound) == 2
    assert result.other_calls == {}
    assert result.calls_per_minute_at_defaults == result.design_calls_per_minute_at_defaults
    assert result.rss_mb_peak >= result.rss_mb_end > 0
    assert result.exit_code == 0
    assert json.loads(json.dumps(asdict(result)))["accounts"] == ACCOUNTS


def test_monitor_passes_are_runs_of_getinfo_split_at_gaps() -> None:
    answered = [(0.0, "orders"), (1.0, "getinfo"), (1.2, "getinfo"), (1.3, "balance")]
    answered += [(5.0, "getinfo"), (5.4, "getinfo"), (5.5, "getinfo")]
    assert monitor_passes(answered, gap=1.0) == [
        MonitorPass(1.0, 1.2, 2),
        MonitorPass(5.0, 5.5, 3),
    ]
