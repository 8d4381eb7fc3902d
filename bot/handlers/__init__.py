"""The bot's routers, one module per area, wired by :func:`setup_routers`.

Order matters where filters could overlap: a pasted private key is deleted before anything
else sees it, the linking dialog's steps and every command come before the dialogs that take
any text (the SSH-key paste), the not-linked answer comes after everything an account could
have opened, and the catch-all fallback and the error handler come last. Otherwise the screens
used most come first, because every router an update passes through on its way costs a little.

The screens that need a linked account sit behind one gate (:mod:`bot.handlers.linked`): a user
without an account skips all of them at once and gets the "not linked" screen instead.

Each area's router filters its taps by callback prefix
(``router.callback_query.filter(DataPrefix(...))``), so a tap carrying another area's prefix or
another area's main-menu screen never tries this area's handlers (``tests/test_area_router.py``
checks those filters against the handlers). A tap that no area can read ends at the fallback's
"expired" screen.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import Router

from bot.account_scope import Guarded
from bot.handlers import (
    accounts,
    balance,
    buy,
    edits,
    errors,
    fallback,
    help,
    history,
    install,
    members,
    menu,
    notifications,
    orders,
    password,
    power,
    server_names,
    servers,
    services,
    settings,
    sshkeys,
    start,
)
from bot.handlers.filters import DataPrefix
from bot.handlers.linked import (
    LinkedArea,
    create_gate,
    create_not_allowed_router,
    create_not_linked_router,
)
from bot.storage.accounts import Role


def linked_areas() -> tuple[LinkedArea, ...]:
    """The areas behind the gate, built afresh, in the order they are tried."""
    return (
        servers.create_linked_area(),
        power.create_linked_area(),
        password.create_linked_area(),
        settings.create_linked_area(),
        balance.create_linked_area(),
        buy.create_linked_area(),
        orders.create_linked_area(),
        orders.create_cancel_area(),
        services.create_linked_area(),
        install.create_linked_area(),
        sshkeys.create_linked_area(),
        notifications.create_linked_area(),
        accounts.create_linked_area(),
        members.create_linked_area(),
        history.create_linked_area(),
        server_names.create_linked_area(),
    )


def guarded_taps(linked: Sequence[LinkedArea] | None = None) -> Guarded:
    """The taps of each area a viewer may not use, with the role it needs: what the screens
    drawn for a member leave out (bot.account_scope), by the same data the gate refuses.
    ``linked``: the areas :func:`setup_routers` gets, so that they are built once."""
    areas = linked_areas() if linked is None else linked
    return tuple((area.guards.matches, area.role) for area in areas if area.role != Role.VIEWER)


def setup_routers(
    parent: Router | None = None, *, linked: Sequence[LinkedArea] | None = None
) -> Router:
    """Every area's router, built and wired afresh on each call, included into ``parent`` (the
    dispatcher) or else into a fresh root router; returns the one they were included into.
    ``linked``: areas from :func:`linked_areas` that no other router holds yet (new ones
    otherwise).

    aiogram attaches a router to one parent only, so each dispatcher (the bot, a test, the
    demo, a benchmark) gets routers of its own. The dispatcher takes them directly: every
    router between it and a handler is one more pass on every update's way.
    """
    linked = linked_areas() if linked is None else linked
    # The routers every message passes first. A tap none of them reads (most taps: those
    # behind the gate) skips all four at this one filter instead of passing through each, for
    # aiogram's every router costs a few microseconds per update even when its filter refuses.
    front = Router(name=f"{__name__}.front")
    front.callback_query.filter(DataPrefix.any_of((start.TAPS, menu.TAPS, help.TAPS)))
    front.include_routers(
        sshkeys.create_private_key_router(),
        start.create_router(),
        menu.create_router(),
        help.create_router(),
    )
    root = parent if parent is not None else Router(name="bot")
    root.include_routers(
        front,
        create_gate(*linked),
        # Before the public screens: a member is refused what their role lacks even where
        # the screen itself is open to anyone (the plans, for a viewer).
        create_not_allowed_router(*linked),
        settings.create_router(),
        accounts.create_router(),
        members.create_router(),
        buy.create_router(),
        password.create_router(),
        create_not_linked_router(*linked),
        edits.create_router(),
        fallback.create_router(),
        errors.create_router(),
    )
    return root
