"""The benchmark (``python -m bench``) still runs end to end, at tiny sizes.

Only the structure of the output and that every tap, sweep and start really happened are
checked; timings are the benchmark's business, never a test's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.pyspy_split import split_profile
from bench.run import BenchConfig, BenchResults, parse_args, render, run_bench

USERS, TAPS, WATCHES, LINKED = 2, 4, 5, 100


@pytest.fixture(scope="module")
def config() -> BenchConfig:
    return BenchConfig(
        users=[USERS],
        taps=TAPS,
        warmup=4,
        latency=0.005,
        watches=[WATCHES],
        sweeps=1,
        linked_users=LINKED,
        # A bound on each wait for the bot, not a pause: generous, since other test workers
        # share the machine.
        timeout=30.0,
        # Freezing the heap is for a process that only serves; it would outlive this test.
        tune_gc=False,
    )


async def test_the_bench_runs_every_part(tmp_path: Path, config: BenchConfig) -> None:
    results = await run_bench(config, tmp_path, log=lambda _message: None)

    for run, bot in (
        (results.traffic, "ours"),
        (results.baseline, "baseline"),
        (results.baseline_unpaced, "baseline, unpaced"),
    ):
        (traffic,) = run
        assert (traffic.label, traffic.users, traffic.taps) == (bot, USERS, USERS * TAPS)
        assert (traffic.failures, traffic.off_route, traffic.unanswered) == (0, 0, 0)
        assert traffic.telegram_errors == 0
        assert set(traffic.answer_ms) == set(traffic.edit_ms) == {"p50", "p95", "p99", "max"}
        assert traffic.answer_ms["p50"] <= traffic.edit_ms["p50"]
        assert traffic.cpu_per_1k_taps > 0 and traffic.taps_per_s > 0
        assert traffic.polls_per_tap > 0
    # Ours goes to the provider for the list and the card (the baselines are not asked).
    assert results.traffic[0].provider_calls_per_tap > 0

    # The largest size runs twice: with the configured jitter, then in lockstep.
    assert [sweep.jitter for sweep in results.watcher] == [config.jitter, 0.0]
    for sweep in results.watcher:
        assert (sweep.watches, sweep.calls_per_sweep, sweep.still_open) == (
            WATCHES,
            WATCHES,
            WATCHES,
        )
        assert 1 <= sweep.peak_in_flight <= sweep.concurrency
        assert sweep.bound_s > 0 and sweep.worst_s > 0

    footprint = results.footprint
    assert footprint.linked_users == LINKED
    assert footprint.cold_start_s > 0 and footprint.restart_s > 0
    assert list(footprint.rss_mb) == [
        "imported",
        "before start",
        "started",
        "linked, restarted",
        "served",
    ]

    process = results.process
    assert (process.linked_users, process.active_users, process.exit_code) == (LINKED, USERS, 0)
    assert (process.taps_served, process.failures, process.off_route) == (USERS * TAPS, 0, 0)
    assert process.taps_asked == USERS * TAPS
    assert list(process.rss_mb) == ["started, every active user answered", "served"]
    assert all(mb > 0 for mb in process.rss_mb.values())
    assert len(process.floor_mb) == 3 and all(mb > 0 for mb in process.floor_mb.values())

    _check_report(results)


def _check_report(results: BenchResults) -> None:
    text = render(results)
    for heading in ("### Targets", "### Menu traffic", "### Watcher", "### Footprint"):
        assert heading in text
    metrics = [row.metric for row in results.targets()]
    assert any(m.startswith("CPU per tap ÷ baseline paced like ours, 2 users") for m in metrics)
    assert any(m.startswith("p99 tap → answer, 2 users") for m in metrics)
    assert any(m.startswith("peak parallel provider calls, 5 watches") for m in metrics)
    assert any(m.startswith("RSS of `python -m bot`, 100 linked users") for m in metrics)
    # Verdicts only where the issue sets a target for exactly this size.
    for row in results.targets():
        expected = {"met", "MISSED"} if "≤" in row.target or "<" in row.target else {""}
        assert row.verdict in expected, row
    decoded = json.loads(json.dumps(results.as_dict(), default=str))
    assert decoded["targets"] and decoded["traffic"][0]["cpu"]["process"] > 0


def test_command_line_options() -> None:
    quick, _ = parse_args(["--quick"])
    assert quick.users == [5, 20] and quick.linked_users == 1000
    config, args = parse_args(["--users", "3,7", "--taps", "9", "--latency", "0", "--no-sampler"])
    assert (config.users, config.taps, config.latency, config.sample_cpu) == ([3, 7], 9, 0.0, False)
    assert args.json is None
    with pytest.raises(SystemExit):
        parse_args(["--users", "ten"])
    with pytest.raises(SystemExit):
        parse_args(["--taps", "0"])
    assert parse_args(["--jitter", "0"])[0].jitter == 0.0
    with pytest.raises(SystemExit):
        parse_args(["--jitter", "1.5"])


def test_a_py_spy_profile_is_split_into_bot_and_harness() -> None:
    loop = "_run_once (asyncio/base_events.py:1922);_run (asyncio/events.py:80)"
    profile = [
        f"main (x.py:1);{loop};feed_update (aiogram/dispatcher/dispatcher.py:164);"
        "show (bot/ui.py:64);model_dump (pydantic/main.py:400) 7",
        f"main (x.py:1);{loop};_handle (tests/fakes/telegram.py:900) 2",
        f"main (x.py:1);{loop};_handle (bot/inferno/simulator.py:800) 1",
        "garbage line",
    ]
    split = split_profile(profile)
    assert split.total == 10
    assert dict(split.categories) == {"bot": 7, "fake-telegram": 2, "simulator": 1}
    assert split.bot_self_by_package == {"pydantic": 7}
    assert split.ours_inclusive == {"bot/ui.py: show": 7}
