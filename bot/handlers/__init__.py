"""One router per area. Order matters only where filters could overlap: state-bound text
handlers of the wizards come before generic ones, the error handler last."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import (
    balance,
    buy,
    errors,
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


def build_root_router() -> Router:
    root = Router(name="root")
    root.include_routers(
        start.router,
        menu.router,
        settings.router,
        help.router,
        balance.router,
        buy.router,
        orders.router,
        services.router,
        servers.router,
        power.router,
        password.router,
        install.router,
        sshkeys.router,
        errors.router,
    )
    return root
