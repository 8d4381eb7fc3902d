"""``python -m bench scale`` still runs end to end at tiny sizes: both modes, and one and two
replicas on the real PostgreSQL and Redis. Only the structure of the results and that every tap
really happened are checked; timings are the benchmark's business, never a test's."""

from __future__ import annotations

from pathlib import Path

from bench.scale_bench import POLLING, WEBHOOK, ScaleConfig, parse_args, render, run_scale_bench
from tests.engines import POSTGRES_ENV, REDIS_ENV, engine_url

USERS, TAPS = 2, 4


async def test_the_scale_bench_runs_every_part(tmp_path: Path) -> None:
    config = ScaleConfig(
        users=[USERS],
        runs=1,
        taps=TAPS,
        warmup=0,
        latency=0.005,
        replicas=[1, 2],
        postgres_url=engine_url(POSTGRES_ENV, "PostgreSQL"),
        redis_url=engine_url(REDIS_ENV, "Redis"),
    )
    results = await run_scale_bench(config, tmp_path, log=lambda _message: None)

    assert sorted(r.bot for r in results.modes) == [POLLING, WEBHOOK]
    assert [r.bot for r in results.replicas] == ["1 replica", "2 replicas"]
    for traffic in [*results.modes, *results.replicas]:
        assert (traffic.users, traffic.taps) == (USERS, USERS * TAPS)
        assert (traffic.failures, traffic.off_route, traffic.unanswered) == (0, 0, 0)
        assert traffic.telegram_errors == 0
        assert traffic.answer_ms["p50"] <= traffic.edit_ms["p50"]
        assert traffic.cpu_ms_per_tap > 0 and traffic.taps_per_s > 0
    [polling] = [r for r in results.modes if r.bot == POLLING]
    [webhook] = [r for r in results.modes if r.bot == WEBHOOK]
    assert polling.polls_per_tap > 0 and webhook.polls_per_tap == 0
    assert results.replicas_skipped is None

    report = render(results)
    assert "## Webhook against polling" in report and "| webhook | 2 |" in report
    assert "| 2 replicas | 2 |" in report


def test_the_command_line() -> None:
    config, _args = parse_args(["--users", "50,200", "--replicas", "1,2", "--runs", "1"])
    assert (config.users, config.replicas, config.runs) == ([50, 200], [1, 2], 1)
