"""The bot's real router tree, read through aiogram's public API, for the routing tests.

Handlers and their filters are public attributes (``observer.handlers``, ``handler.filters``);
a router's own filters are not, so they are asked instead, through the public
``check_root_filters``, the call aiogram itself makes before it tries a router's handlers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.types import CallbackQuery, Chat, Message, User

from bot.handlers import setup_routers
from bot.handlers.filters import DataPrefix, data_prefix
from bot.handlers.navigation import MenuCb, Screen, menu_data
from bot.inferno.models import Credentials
from bot.storage.accounts import Access, AccountInfo, Role

USER = User(id=1, is_bot=False, first_name="T")
ACCOUNT = Credentials(cid=1, key="k" * 16)
# A member of someone else's account, with the least role.
MEMBER = Access(
    account=AccountInfo(id=1, owner_id=2, label=None, cid=1, created_at=0.0),
    user_id=USER.id,
    role=Role.VIEWER,
    joined_at=0.0,
    api_key="k" * 16,
)
# Who may tap: nobody linked, a user with an account (the owner), a viewer of one.
WHO: tuple[dict[str, Any], ...] = (
    {"creds": None},
    {"creds": ACCOUNT},
    {"creds": ACCOUNT, "access": MEMBER},
)
MENU_TAPS = frozenset(menu_data(screen) for screen in Screen)


def walk(router: Router | None = None) -> Iterator[Router]:
    """Every router of the bot (a fresh tree unless one is given), parents before children."""
    router = router or setup_routers()
    yield router
    for child in router.sub_routers:
        yield from walk(child)


def query(data: str | None) -> CallbackQuery:
    return CallbackQuery(id="1", from_user=USER, chat_instance="c", data=data)


def message(text: str | None) -> Message:
    return Message.model_validate(
        {"message_id": 1, "date": 0, "chat": Chat(id=1, type="private"), "text": text}
    )


async def admits(router: Router, data: str, **handler_data: Any) -> bool:
    """Whether the router's own filters let this tap in."""
    passed, _ = await router.callback_query.check_root_filters(query(data), **handler_data)
    return bool(passed)


@dataclass
class Taps:
    """The taps a router's callback handlers read: CallbackData prefixes ("s:"), main-menu
    buttons (exact data), and whether one of them takes any tap at all."""

    prefixes: set[str] = field(default_factory=set)
    menu: set[str] = field(default_factory=set)
    catch_all: bool = False

    def __bool__(self) -> bool:
        return bool(self.prefixes or self.menu or self.catch_all)

    def samples(self) -> set[str]:
        """Data of taps these handlers take: the menu buttons, and for each prefix the bare
        prefix (a class without fields packs to it) and the prefix with more after it."""
        return self.menu | {p + "1" for p in self.prefixes} | {p[:-1] for p in self.prefixes}

    def holds(self, data: str) -> bool:
        if data in MENU_TAPS:
            return data in self.menu
        return any(data.startswith(p) or data == p[:-1] for p in self.prefixes)


async def taps_of(router: Router) -> Taps:
    taps = Taps()
    for handler in router.callback_query.handlers:
        await _add_taps(taps, handler)
    return taps


async def _add_taps(taps: Taps, handler: HandlerObject) -> None:
    for event_filter in handler.filters or ():
        callback = event_filter.callback
        if isinstance(callback, CallbackQueryFilter):
            if callback.callback_data is MenuCb:
                # The screens a menu handler answers, found by asking its filter about each one.
                taps.menu |= {tap for tap in MENU_TAPS if await callback(query(tap))}
            else:
                taps.prefixes.add(data_prefix(callback.callback_data))
            return
        if isinstance(callback, DataPrefix):
            taps.prefixes |= set(callback.prefixes)
            taps.menu |= callback.exact
            return
    taps.catch_all = True


async def all_taps() -> set[str]:
    """Sample data of every tap some handler of the bot reads."""
    samples: set[str] = set()
    for router in walk():
        samples |= (await taps_of(router)).samples()
    return samples


async def is_gate(router: Router) -> bool:
    """Lets in a linked user's tap or message, whatever it is, with the account, and refuses
    the same from a user without one."""
    for observer, event in (
        (router.callback_query, query("zzz")),
        (router.message, message("zzz")),
    ):
        refused, _ = await observer.check_root_filters(event, creds=None)
        passed, data = await observer.check_root_filters(event, creds=ACCOUNT)
        if refused or not passed or data.get("account") is not ACCOUNT:
            return False
    return True


async def behind_the_gate() -> tuple[list[Router], list[Router]]:
    """The routers behind a gate, and all the others."""
    behind: list[Router] = []
    outside: list[Router] = []

    async def visit(router: Router, gated: bool) -> None:
        gated = gated or await is_gate(router)
        (behind if gated else outside).append(router)
        for child in router.sub_routers:
            await visit(child, gated)

    await visit(setup_routers(), False)
    return behind, outside
