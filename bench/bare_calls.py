"""The floor under a monitor pass: ``python -m bench.bare_calls``.

A process of its own that makes only the pass's calls — ``getinfo`` of each server named in a
JSON file, through plain aiohttp, at most ``--concurrency`` at once — against the same
simulator, and nothing else: no bot, no database, no parsing into models. What one such pass
takes above ⌈servers / concurrency⌉ × latency is what the transport costs on this machine (two
processes' event loops, loopback TCP, the simulator serving the calls), which the bound leaves
out; ``python -m bench alerts`` reports it beside the bot's passes, measured the same way (from
the simulator's answers).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

import aiohttp
from yarl import URL


async def bare_pass(url: str, servers: Sequence[Sequence[str]], concurrency: int) -> None:
    slots = asyncio.Semaphore(concurrency)
    queue = iter(servers)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=2 * concurrency)
    ) as session:
        # The request the bot's client makes (bot/inferno/client.py): the action in the query,
        # a JSON body, the key in a header.
        target = URL(url).update_query(action="getinfo")

        async def work() -> None:
            for cid, key, order_id in queue:
                body = json.dumps({"cid": int(cid), "orderid": int(order_id)}).encode()
                async with (
                    slots,
                    session.post(target, data=body, headers={"X-Key": key}) as response,
                ):
                    answer = await response.read()
                    if response.status != 200 or json.loads(answer).get("result") != "success":
                        raise RuntimeError(f"getinfo {order_id}: {response.status}")

        # Twice the slots: a worker reading its answer never leaves a slot empty.
        await asyncio.gather(*(work() for _ in range(2 * concurrency)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_calls")
    parser.add_argument("--url", required=True)
    parser.add_argument("--servers", type=Path, required=True, help="JSON: [[cid, key, order]]")
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--passes", type=int, default=1)
    args = parser.parse_args(argv)
    servers = json.loads(args.servers.read_text())

    async def run() -> None:
        for _ in range(args.passes):
            await bare_pass(args.url, servers, args.concurrency)
            # A gap the bench splits the passes at.
            await asyncio.sleep(1.0)

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
