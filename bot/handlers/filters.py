"""Coroutine filters for the checks the routers repeat on every update.

aiogram runs every filter or handler that is not a coroutine function, a bare ``F.…`` magic
filter included, in a worker thread (``asyncio.to_thread``). For a test as cheap as a string
prefix that thread round trip costs more than everything else the filter does, and the
catch-all "stale button" handlers are checked on most taps. These classes do the same tests on
the event loop. ``tests/test_filters.py`` walks the router tree so a synchronous filter or
handler cannot creep back in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from aiogram.filters import Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.inferno.models import Credentials
from bot.storage.accounts import Access, Role


def data_prefix(owner: type[CallbackData] | str) -> str:
    """The prefix and separator that start the owner's packed data."""
    if isinstance(owner, str):
        return f"{owner}:"
    return f"{owner.__prefix__}{owner.__separator__}"


class DataPrefix(Filter):
    """Callback data of one of the given CallbackData classes (or raw prefixes), whether or not
    the rest still parses, or exactly one of the ``exact`` strings. A class without fields packs
    to its bare prefix.

    ``exact`` is for data shared by every area, the main menu's buttons: an area lets in only
    its own screens, so a menu tap does not try the handlers of each area on its way.
    """

    def __init__(self, *owners: type[CallbackData] | str, exact: Iterable[str] = ()) -> None:
        self.owners = owners
        self.prefixes = tuple(data_prefix(owner) for owner in owners)
        self.exact = frozenset(exact)
        self._whole = self.exact | frozenset(prefix[:-1] for prefix in self.prefixes)

    @classmethod
    def any_of(cls, guards: Iterable[DataPrefix]) -> DataPrefix:
        """The taps any of ``guards`` lets in."""
        guards = tuple(guards)
        owners = dict.fromkeys(owner for guard in guards for owner in guard.owners)
        return cls(*owners, exact=frozenset().union(*(guard.exact for guard in guards)))

    def matches(self, data: str | None) -> bool:
        return data is not None and (data in self._whole or data.startswith(self.prefixes))

    async def __call__(self, query: CallbackQuery) -> bool:
        return self.matches(query.data)


class TypedText(Filter):
    """A text message that is not a command."""

    async def __call__(self, message: Message) -> bool:
        return message.text is not None and not message.text.startswith("/")


class NotCommand(Filter):
    """Anything but a command: text, or a message without text (a photo, a sticker…)."""

    async def __call__(self, message: Message) -> bool:
        return message.text is None or not message.text.startswith("/")


class IsLinked(Filter):
    """An Inferno account is linked to the user (``creds`` is put in by the user middleware);
    the handlers behind this filter receive it, never None, as ``account``."""

    async def __call__(
        self, event: TelegramObject, creds: Credentials | None = None, access: Access | None = None
    ) -> bool | dict[str, Any]:
        return False if creds is None else {"account": creds, "scope": access}


class NotLinked(Filter):
    """No Inferno account is linked to the user (``creds`` is put in by the user middleware)."""

    async def __call__(self, event: TelegramObject, creds: Credentials | None = None) -> bool:
        return creds is None


class NoText(Filter):
    async def __call__(self, message: Message) -> bool:
        return message.text is None


class TextMatches(Filter):
    """A text message for which ``predicate`` holds."""

    def __init__(self, predicate: Callable[[str], bool]) -> None:
        self.predicate = predicate

    async def __call__(self, message: Message) -> bool:
        return message.text is not None and self.predicate(message.text)


class HasRole(Filter):
    """The user's role in the account the update acts on allows what ``role`` may do
    (``access`` is put in by the user middleware)."""

    def __init__(self, role: Role) -> None:
        self.role = role

    async def __call__(self, event: TelegramObject, access: Access | None = None) -> bool:
        return access is not None and access.role.allows(self.role)


class LacksRole(Filter):
    """A user with an account, whose role there does not allow what ``role`` may do."""

    def __init__(self, role: Role) -> None:
        self.role = role

    async def __call__(self, event: TelegramObject, access: Access | None = None) -> bool:
        return access is not None and not access.role.allows(self.role)
