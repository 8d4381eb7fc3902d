"""One router per area.

Order matters where filters could overlap: a pasted private key is deleted before anything
else sees it, the start router's "link first" answers come before the areas, state-bound text
handlers of the wizards before generic ones, the catch-all fallback and the error handler last.
Otherwise the screens used most come first, because every router an update passes through on
its way costs a little. Each area is an :class:`~bot.handlers.area.AreaRouter` that turns away,
before aiogram looks, taps carrying another area's callback prefix or another area's main-menu
screen (``tests/test_filters.py`` checks those lists). A tap that no area can read ends at the
fallback's "expired" screen.
"""

from __future__ import annotations

from aiogram import Router

from bot.handlers import (
    balance,
    buy,
    edits,
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

AREA_ROUTERS = (
    sshkeys.private_key_router,
    start.router,
    start.linked_only_router,
    menu.router,
    servers.router,
    power.router,
    password.router,
    settings.router,
    help.router,
    balance.router,
    buy.router,
    orders.router,
    services.router,
    install.router,
    sshkeys.router,
    edits.router,
    fallback.router,
    errors.router,
)


def include_areas(parent: Router) -> None:
    """Attaches the area routers to the dispatcher itself: every router level an update passes
    costs aiogram copies of the handler data. The area routers are module singletons (aiogram's
    convention); a restart in the same process (tests, the demo) attaches them to a new
    dispatcher, so their link to the previous, discarded one is cleared first."""
    for router in AREA_ROUTERS:
        router._parent_router = None
    parent.include_routers(*AREA_ROUTERS)
