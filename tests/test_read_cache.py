"""The client's short read cache: list reads are reused, any write by the account drops them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.inferno import client as client_module
from bot.inferno.client import InfernoClient
from bot.inferno.errors import ProviderUnavailable
from bot.inferno.models import Credentials
from bot.inferno.simulator import Simulator, SimulatorServer
from tests.harness import creds_of


@pytest.fixture
async def setup() -> AsyncIterator[tuple[Simulator, InfernoClient, Credentials, Credentials]]:
    sim = Simulator(install_delay=0.0)
    first = sim.add_customer(email="a@example.com", password="pw", balance="100.00")
    second = sim.add_customer(email="b@example.com", password="pw", balance="100.00")
    async with SimulatorServer(sim) as server:
        client = InfernoClient(server.url, cache_ttl=60.0, backoff=0.0)
        try:
            yield (
                sim,
                client,
                creds_of(first),
                creds_of(second),
            )
        finally:
            await client.aclose()


async def test_list_reads_are_reused(
    setup: tuple[Simulator, InfernoClient, Credentials, Credentials],
) -> None:
    sim, client, creds, _ = setup
    for _ in range(3):
        await client.orders(creds)
        await client.services(creds)
        await client.list_catalog()
    assert (sim.calls["orders"], sim.calls["services"], sim.calls["list"]) == (1, 1, 1)
    await client.balance(creds)
    await client.balance(creds)
    assert sim.calls["balance"] == 2, "balance is never cached"


async def test_background_reads_neither_use_nor_fill_the_cache(
    setup: tuple[Simulator, InfernoClient, Credentials, Credentials],
) -> None:
    sim, client, creds, other = setup
    await client.orders(other, cache=False)
    await client.services(other, cache=False)
    assert not client.has_fresh("orders", other) and not client.has_fresh("services", other)
    await client.orders(creds)  # a tap's read, kept
    await client.orders(creds, cache=False)  # a background read still asks the provider
    await client.orders(creds)  # and the tap's entry is still there
    assert sim.calls["orders"] == 3
    assert sim.calls["services"] == 1


async def test_a_write_drops_the_accounts_lists(
    setup: tuple[Simulator, InfernoClient, Credentials, Credentials],
) -> None:
    sim, client, creds, other = setup
    assert await client.orders(creds) == []
    await client.orders(other)
    created = await client.create(creds, "101")
    assert [order.id for order in await client.orders(creds)] == [created.order_id]
    assert sim.calls["orders"] == 3
    await client.orders(other)
    assert sim.calls["orders"] == 3, "another account's lists stay cached"


async def test_accounts_never_share_entries(
    setup: tuple[Simulator, InfernoClient, Credentials, Credentials],
) -> None:
    _sim, client, creds, other = setup
    await client.create(creds, "101")
    assert len(await client.orders(creds)) == 1
    assert await client.orders(other) == []


async def test_failures_are_not_cached(
    setup: tuple[Simulator, InfernoClient, Credentials, Credentials],
) -> None:
    sim, client, creds, _ = setup
    sim.faults.http_500_next = 3
    with pytest.raises(ProviderUnavailable):
        await client.orders(creds)
    assert await client.orders(creds) == []


async def test_orders_and_services_side_by_side_or_from_the_cache(
    setup: tuple[Simulator, InfernoClient, Credentials, Credentials],
) -> None:
    sim, client, creds, _ = setup
    assert not client.has_fresh("orders", creds) and not client.has_fresh("services", creds)
    sim.faults.latency = 0.05
    assert await client.orders_and_services(creds) == ([], [])
    assert sim.peak_in_flight == 2, "side by side: both calls were in flight at once"
    assert client.has_fresh("orders", creds) and client.has_fresh("services", creds)
    assert await client.orders_and_services(creds) == ([], [])
    assert (sim.calls["orders"], sim.calls["services"]) == (1, 1)
    await client.create(creds, "101")
    assert not client.has_fresh("orders", creds), "a write drops the lists"


async def test_a_full_cache_makes_room_for_the_next_account(
    setup: tuple[Simulator, InfernoClient, Credentials, Credentials],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim, client, creds, other = setup
    monkeypatch.setattr(client_module, "_CACHE_LIMIT", 1)
    await client.orders(creds)
    await client.services(creds)
    assert client.has_fresh("orders", creds) and client.has_fresh("services", creds)
    await client.orders(other)
    assert client.has_fresh("orders", other)
    assert not client.has_fresh("orders", creds), "the full cache was emptied first"
    await client.orders(creds)
    assert sim.calls["orders"] == 3


def hold_orders_answers(
    client: InfernoClient, monkeypatch: pytest.MonkeyPatch
) -> tuple[asyncio.Event, asyncio.Event]:
    """Each ``orders`` answer, once the provider gave it, waits for the second event (the
    first is set when one is waiting): the answer is on its way while a write runs."""
    answered, release = asyncio.Event(), asyncio.Event()
    call_provider = client._call_provider

    async def slow_orders(action: str, *args: Any) -> Any:
        payload = await call_provider(action, *args)
        if action == "orders":
            answered.set()
            await release.wait()
        return payload

    monkeypatch.setattr(client, "_call_provider", slow_orders)
    return answered, release


@pytest.mark.parametrize("own_write", [True, False], ids=["own write", "another account's"])
async def test_a_read_a_write_overlapped_is_kept_only_if_the_write_was_someone_elses(
    setup: tuple[Simulator, InfernoClient, Credentials, Credentials],
    monkeypatch: pytest.MonkeyPatch,
    own_write: bool,
) -> None:
    sim, client, creds, other = setup
    answered, release = hold_orders_answers(client, monkeypatch)
    read = asyncio.create_task(client.orders(creds))
    await answered.wait()
    await client.create(creds if own_write else other, "101")
    release.set()
    assert await read == [], "the read saw the list before the order"
    again = await client.orders(creds)
    assert len(again) == (1 if own_write else 0)
    assert sim.calls["orders"] == (2 if own_write else 1)
