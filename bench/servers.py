"""Simulator customers with a server, bought and installed through the real client over HTTP."""

from __future__ import annotations

from dataclasses import dataclass

from bot.inferno.client import InfernoClient
from bot.inferno.simulator import Customer, Simulator
from tests.harness import PASSWORD, creds_of


@dataclass(frozen=True)
class Plan:
    product_id: str
    template: str


async def cheapest_plan(client: InfernoClient) -> Plan:
    catalog = await client.list_catalog()
    product = min(catalog.products, key=lambda p: float(p.price or "inf"))
    return Plan(product.id, catalog.templates[0].name)


async def customer_with_server(
    client: InfernoClient, sim: Simulator, email: str, plan: Plan
) -> tuple[Customer, str]:
    """A new customer, one paid order with an install queued; returns the order id too.
    The install finishes when the simulator says so (``complete_installs``)."""
    customer = sim.add_customer(email, PASSWORD)
    creds = creds_of(customer)
    order = await client.create(creds, plan.product_id)
    await client.install(creds, order.order_id, plan.template, [], run=True)
    return customer, order.order_id
