"""The gate in front of every screen that needs a linked account, and the one answer for users
who have none.

An area, or the part of one, that works on the user's Inferno account is built with
:func:`linked_area` and included behind :func:`create_gate`: one router whose own filter
(:class:`~bot.handlers.filters.IsLinked`) lets in only users with a linked account and hands
their handlers the ``account`` (``Credentials``, never None). Those handlers never check for a
missing account.

An update of a user without one skips the whole gate at once and lands at
:func:`create_not_linked_router`, included after the public areas: every tap an area behind the
gate reads, its commands and messages in its dialogs get the "not linked" screen there, with a
way to link. ``tests/test_linked_gate.py`` walks the real routers to prove nothing that asks
for the account sits outside the gate, and that the fallback answers everything behind it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.handlers.callbacks import ServerAction, ServerCb, ShowPasswordCb
from bot.handlers.common import link_button
from bot.handlers.filters import DataPrefix, HasRole, IsLinked, LacksRole, NotLinked
from bot.handlers.navigation import back_to_menu, back_to_menu_button
from bot.i18n import Translator, per_locale
from bot.storage.accounts import Role
from bot.ui import show


@dataclass(frozen=True)
class LinkedArea:
    """An area's router behind the gate, with what it answers (its taps, its commands, its
    dialogs), which users without an account get the "not linked" screen for."""

    router: Router
    taps: DataPrefix
    commands: tuple[str, ...] = ()
    dialogs: tuple[type[StatesGroup], ...] = ()
    # The least role in the account that may use the area (see README, "Teams").
    role: Role = Role.VIEWER
    # Taps of screens drawn outside the gate that lead only here (the plans, for buying): a
    # member whose role may not use the area is neither shown nor let open them.
    leads_here: tuple[str, ...] = ()

    @property
    def guards(self) -> DataPrefix:
        """Every tap the area's role is needed for: its own and those of ``leads_here``."""
        if not self.leads_here:
            return self.taps
        return DataPrefix.any_of((self.taps, DataPrefix(exact=self.leads_here)))


def linked_area(
    name: str,
    taps: DataPrefix,
    *,
    commands: Iterable[str] = (),
    dialogs: Iterable[type[StatesGroup]] = (),
    role: Role = Role.VIEWER,
    leads_here: Iterable[str] = (),
) -> LinkedArea:
    """A router for an area behind the gate, open to members of at least ``role``; taps meant
    for other areas are turned away before any of its handlers is tried. ``leads_here``: the
    exact data of screens outside the gate that serve only this area (see LinkedArea)."""
    router = Router(name=name)
    router.callback_query.filter(taps)
    return LinkedArea(router, taps, tuple(commands), tuple(dialogs), role, tuple(leads_here))


ROLES = (Role.VIEWER, Role.OPERATOR, Role.ADMIN, Role.OWNER)


def create_gate(*areas: LinkedArea) -> Router:
    """One router holding ``areas``: only users with a linked account get in, and each area
    only with the role it needs — one router per role (:class:`HasRole`), the one place roles
    are enforced. An update refused for its role leaves the gate for
    :func:`create_not_allowed_router`."""
    gate = Router(name=__name__)
    gate.callback_query.filter(IsLinked())
    gate.message.filter(IsLinked())
    for role in ROLES:
        held = [area.router for area in areas if area.role == role]
        if not held:
            continue
        by_role = Router(name=f"{__name__}.{role.value}")
        by_role.callback_query.filter(HasRole(role))
        by_role.message.filter(HasRole(role))
        by_role.include_routers(*held)
        gate.include_router(by_role)
    return gate


async def not_allowed(event: Message | CallbackQuery, i18n: Translator) -> None:
    """A member tapped (or typed) something their role does not allow: nothing is done and the
    provider is not asked."""
    if isinstance(event, CallbackQuery):
        await show(event, i18n("role-not-allowed"), back_to_menu(i18n))
    else:
        await event.answer(i18n("role-not-allowed"), reply_markup=back_to_menu(i18n))


async def not_allowed_dialog(message: Message, state: FSMContext, i18n: Translator) -> None:
    """A message to a dialog whose role was taken away meanwhile: the dialog ends."""
    await state.clear()
    await not_allowed(message, i18n)


def create_not_allowed_router(*areas: LinkedArea) -> Router:
    """The "not allowed" answer to a member whose role is below what an area needs: its taps,
    commands and dialog messages."""
    router = Router(name=f"{__name__}.not_allowed")
    guarded = [area for area in areas if area.role != Role.VIEWER]
    # An owner may do everything: only members ever get here.
    member = LacksRole(Role.OWNER)
    router.callback_query.filter(
        IsLinked(), member, DataPrefix.any_of(area.guards for area in guarded)
    )
    router.message.filter(IsLinked(), member)
    for role in ROLES[1:]:
        needing = [area for area in areas if area.role == role]
        if not needing:
            continue
        lacks = LacksRole(role)
        router.callback_query.register(
            not_allowed, DataPrefix.any_of(area.guards for area in needing), lacks
        )
        commands = [command for area in needing for command in area.commands]
        if commands:
            router.message.register(not_allowed, Command(*commands), lacks)
        dialogs = [dialog for area in needing for dialog in area.dialogs]
        if dialogs:
            router.message.register(not_allowed_dialog, StateFilter(*dialogs), lacks)
    return router


@per_locale
def not_linked_keyboard(i18n: Translator) -> InlineKeyboardMarkup:
    """A way to link right there, and the menu."""
    return InlineKeyboardMarkup(inline_keyboard=[[link_button(i18n)], [back_to_menu_button(i18n)]])


def _answer(i18n: Translator, refusal: str | None) -> tuple[str, InlineKeyboardMarkup]:
    """ "Not linked" with a way to link; or, for a user who has an account but not the one the
    update is for (``refusal``: access lost, or a plain button of a user with several), why."""
    if refusal is None:
        return i18n("not-linked"), not_linked_keyboard(i18n)
    return i18n(refusal), back_to_menu(i18n)


async def not_linked_screen(
    event: Message | CallbackQuery, i18n: Translator, refusal: str | None = None
) -> None:
    await show(event, *_answer(i18n, refusal))


async def not_linked_below(
    query: CallbackQuery, bot: Bot, i18n: Translator, refusal: str | None = None
) -> None:
    """Taps whose screen comes as a new message (the root password; a server card opened from a
    notice the watcher keeps editing) get the answer the same way: the tapped message stays."""
    text, markup = _answer(i18n, refusal)
    await bot.send_message(query.from_user.id, text, reply_markup=markup)


async def not_linked_dialog(
    message: Message, state: FSMContext, i18n: Translator, refusal: str | None = None
) -> None:
    """A message to a dialog of an area behind the gate, whose account has gone meanwhile: the
    dialog cannot go on."""
    await state.clear()
    await not_linked_screen(message, i18n, refusal)


def create_not_linked_router(*areas: LinkedArea) -> Router:
    """The "not linked" answer to whatever the ``areas`` behind the gate would have taken."""
    router = Router(name=f"{__name__}.not_linked")
    router.callback_query.filter(NotLinked(), DataPrefix.any_of(area.taps for area in areas))
    router.message.filter(NotLinked())
    router.callback_query.register(
        not_linked_below, ServerCb.filter(F.action == ServerAction.NEW_MESSAGE)
    )
    router.callback_query.register(not_linked_below, ShowPasswordCb.filter())
    router.callback_query.register(not_linked_screen)
    # A command answers without ending an open dialog, as in the linking steps: the key sent
    # next still goes where it belongs.
    commands = [command for area in areas for command in area.commands]
    if commands:
        router.message.register(not_linked_screen, Command(*commands))
    dialogs = [dialog for area in areas for dialog in area.dialogs]
    if dialogs:
        router.message.register(not_linked_dialog, StateFilter(*dialogs))
    return router
