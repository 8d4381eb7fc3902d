"""The bot's routers, one module per area, wired by :func:`setup_routers`.

Order matters where filters could overlap: a pasted private key is deleted before anything
else sees it, the start router's "link first" answers come before the areas, state-bound text
handlers of the wizards before generic ones, the catch-all fallback and the error handler last.
Otherwise the screens used most come first, because every router an update passes through on
its way costs a little. Each area's router filters its taps by callback prefix
(``router.callback_query.filter(DataPrefix(...))``), so a tap carrying another area's prefix or
another area's main-menu screen never tries this area's handlers (``tests/test_filters.py``
checks those filters against the handlers). A tap that no area can read ends at the fallback's
"expired" screen.
"""

from __future__ import annotations

from aiogram import Router

from bot.handlers import (
    balance,
    buy,
    errors,
    fallback,
    help,
    install,
    menu,
    orders,
    password,
    power,
    servers,
    services,
    settings,
    sshkeys,
    start,
)


def setup_routers() -> Router:
    """Every area's router, built and wired afresh on each call.

    aiogram attaches a router to one parent only, so each dispatcher (the bot, a test, the
    demo, a benchmark) gets routers of its own.
    """
    root = Router(name="bot")
    root.include_routers(
        sshkeys.create_private_key_router(),
        start.create_router(),
        start.create_linked_only_router(),
        menu.create_router(),
        servers.create_router(),
        power.create_router(),
        password.create_router(),
        settings.create_router(),
        help.create_router(),
        balance.create_router(),
        buy.create_router(),
        orders.create_router(),
        services.create_router(),
        install.create_router(),
        sshkeys.create_router(),
        fallback.create_router(),
        errors.create_router(),
    )
    return root
