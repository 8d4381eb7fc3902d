"""Sharing an account: the owner's Members screen (invite by role, change a role, revoke) and a
teammate opening an invite link (accept or decline; the owner is told either way).

An invite is a one-time link ``https://t.me/<bot>?start=i<token>``: the token is random, only
its hash is stored, it offers a role and never carries a key; it is used up when accepted or
declined, and the owner can revoke it before. The members' screens sit behind the owner's
role gate (bot/handlers/linked.py); acting on a member never goes through them.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.account_scope import drawing_for
from bot.formatting import format_date
from bot.handlers.callbacks import (
    AccountsAction,
    AccountsCb,
    JoinAction,
    JoinCb,
    MembersAction,
    MembersCb,
)
from bot.handlers.common import account_name, button, role_name
from bot.handlers.filters import DataPrefix
from bot.handlers.linked import LinkedArea, linked_area
from bot.handlers.menu import draw_menu
from bot.handlers.navigation import back_to_menu, back_to_menu_button
from bot.i18n import Translator, TranslatorHub
from bot.storage import Database
from bot.storage.accounts import Access, Membership, Role
from bot.ui import show

log = logging.getLogger(__name__)

# What a /start payload of an invite looks like: "i" and the token.
INVITE_PREFIX = "i"
INVITE_PAYLOAD = re.compile(r"i[A-Za-z0-9_-]{32}")
OFFERED = (Role.VIEWER, Role.OPERATOR, Role.ADMIN)


def _date(i18n: Translator, timestamp: float) -> str:
    return format_date(i18n, dt.datetime.fromtimestamp(timestamp, dt.UTC).date())


def _who(i18n: Translator, member: Membership) -> str:
    return member.name or i18n("member-unnamed", id=str(member.user_id))


def _role(value: str) -> Role | None:
    try:
        role = Role(value)
    except ValueError:
        return None
    return role if role in OFFERED else None


# --- the owner's screens ------------------------------------------------------------------------


async def members_screen(
    query: CallbackQuery, i18n: Translator, db: Database, scope: Access
) -> None:
    await _draw_members(query, i18n, db, scope)


async def _draw_members(
    event: CallbackQuery, i18n: Translator, db: Database, scope: Access, note: str = ""
) -> None:
    account = scope.account
    members = await db.accounts.members(account.id)
    invites = await db.invites.pending(account.id)
    lines = [i18n("members-title", account=account_name(i18n, account))]
    rows: list[list[InlineKeyboardButton]] = []
    for member in members:
        lines.append(
            i18n(
                "members-line",
                name=_who(i18n, member),
                role=role_name(i18n, member.role),
                date=_date(i18n, member.joined_at),
            )
        )
        if member.role != Role.OWNER:
            rows.append(
                [
                    button(
                        f"{_who(i18n, member)} · {role_name(i18n, member.role)}",
                        MembersCb(action=MembersAction.MEMBER, user=member.user_id),
                    )
                ]
            )
    if invites:
        lines.append(i18n("members-invites", count=len(invites)))
    for invite in invites:
        rows.append(
            [
                button(
                    i18n("members-btn-revoke-invite", role=role_name(i18n, invite.role)),
                    MembersCb(action=MembersAction.REVOKE_INVITE, invite=invite.id),
                )
            ]
        )
    rows.append([button(i18n("members-btn-invite"), MembersCb(action=MembersAction.INVITE))])
    rows.append(
        [
            button(i18n("btn-back"), AccountsCb(action=AccountsAction.OPEN, account=account.id)),
            back_to_menu_button(i18n),
        ]
    )
    text = "\n".join(lines)
    await show(
        event, f"{note}\n\n{text}" if note else text, InlineKeyboardMarkup(inline_keyboard=rows)
    )


async def invite_roles(query: CallbackQuery, i18n: Translator, scope: Access) -> None:
    rows = [
        [
            button(
                i18n("members-btn-role", role=role_name(i18n, role)),
                MembersCb(action=MembersAction.CREATE, role=role.value),
            )
        ]
        for role in OFFERED
    ]
    rows.append([button(i18n("btn-back"), MembersCb())])
    await show(
        query,
        i18n("members-pick-role", account=account_name(i18n, scope.account)),
        InlineKeyboardMarkup(inline_keyboard=rows),
    )


async def create_invite(
    query: CallbackQuery,
    callback_data: MembersCb,
    i18n: Translator,
    db: Database,
    bot: Bot,
    scope: Access,
) -> None:
    role = _role(callback_data.role)
    if role is None:
        await show(query, i18n("expired"), back_to_menu(i18n))
        return
    # The owner's name as the teammates will see it (the invite, the members, the history).
    await db.accounts.set_name(scope.account.id, scope.user_id, query.from_user.full_name)
    invite_id, token = await db.invites.create(scope.account.id, role, query.from_user.full_name)
    me = await bot.me()
    link = f"https://t.me/{me.username}?start={INVITE_PREFIX}{token}"
    await db.actions.record(scope.user_id, "member-invite", None, f"ok:{role.value}")
    log.info(
        "user=%s action=invite account=%s role=%s", scope.user_id, scope.account.id, role.value
    )
    await show(
        query,
        i18n(
            "members-invite-link",
            account=account_name(i18n, scope.account),
            role=role_name(i18n, role),
            link=link,
        ),
        InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    button(
                        i18n("members-btn-revoke-invite", role=role_name(i18n, role)),
                        MembersCb(action=MembersAction.REVOKE_INVITE, invite=invite_id),
                    )
                ],
                [button(i18n("members-btn-back"), MembersCb())],
            ]
        ),
    )


async def revoke_invite(
    query: CallbackQuery, callback_data: MembersCb, i18n: Translator, db: Database, scope: Access
) -> None:
    revoked = await db.invites.revoke(scope.account.id, callback_data.invite)
    note = i18n("members-invite-revoked") if revoked else i18n("members-invite-gone")
    await _draw_members(query, i18n, db, scope, note)


async def _other_member(
    query: CallbackQuery, callback_data: MembersCb, i18n: Translator, db: Database, scope: Access
) -> Membership | None:
    """The member the button names, or None (the list drawn again, saying so) when they are gone
    or are the owner, whom no button may change."""
    member = await db.accounts.member(scope.account.id, callback_data.user)
    if member is None or member.role == Role.OWNER:
        await _draw_members(query, i18n, db, scope, i18n("members-gone"))
        return None
    return member


async def member_card(
    query: CallbackQuery, callback_data: MembersCb, i18n: Translator, db: Database, scope: Access
) -> None:
    member = await _other_member(query, callback_data, i18n, db, scope)
    if member is None:
        return
    rows = [
        [
            button(
                i18n("members-btn-make", role=role_name(i18n, role)),
                MembersCb(action=MembersAction.ROLE, user=member.user_id, role=role.value),
            )
        ]
        for role in OFFERED
        if role != member.role
    ]
    rows.append(
        [
            button(
                i18n("members-btn-revoke"),
                MembersCb(action=MembersAction.REVOKE_ASK, user=member.user_id),
            )
        ]
    )
    rows.append([button(i18n("members-btn-back"), MembersCb())])
    await show(
        query,
        i18n(
            "members-card",
            name=_who(i18n, member),
            role=role_name(i18n, member.role),
            date=_date(i18n, member.joined_at),
        ),
        InlineKeyboardMarkup(inline_keyboard=rows),
    )


async def change_role(
    query: CallbackQuery, callback_data: MembersCb, i18n: Translator, db: Database, scope: Access
) -> None:
    role = _role(callback_data.role)
    if role is None or not await db.accounts.set_role(scope.account.id, callback_data.user, role):
        await _draw_members(query, i18n, db, scope, i18n("members-gone"))
        return
    member = await db.accounts.member(scope.account.id, callback_data.user)
    who = _who(i18n, member) if member is not None else str(callback_data.user)
    await db.actions.record(scope.user_id, "member-role", None, f"ok:{role.value}:{who}")
    log.info(
        "user=%s action=role account=%s member=%s role=%s",
        scope.user_id,
        scope.account.id,
        callback_data.user,
        role.value,
    )
    await member_card(query, callback_data, i18n, db, scope)


async def revoke_asked(
    query: CallbackQuery, callback_data: MembersCb, i18n: Translator, db: Database, scope: Access
) -> None:
    member = await _other_member(query, callback_data, i18n, db, scope)
    if member is None:
        return
    await show(
        query,
        i18n(
            "members-revoke-confirm",
            name=_who(i18n, member),
            account=account_name(i18n, scope.account),
        ),
        InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    button(
                        i18n("members-btn-revoke-confirm"),
                        MembersCb(action=MembersAction.REVOKE, user=member.user_id),
                    )
                ],
                [
                    button(
                        i18n("btn-no"),
                        MembersCb(action=MembersAction.MEMBER, user=member.user_id),
                    )
                ],
            ]
        ),
    )


async def revoke_member(
    query: CallbackQuery, callback_data: MembersCb, i18n: Translator, db: Database, scope: Access
) -> None:
    member = await db.accounts.member(scope.account.id, callback_data.user)
    if member is None or not await db.accounts.revoke(scope.account.id, callback_data.user):
        await _draw_members(query, i18n, db, scope, i18n("members-gone"))
        return
    await db.actions.record(scope.user_id, "member-revoke", None, f"ok:{_who(i18n, member)}")
    log.info(
        "user=%s action=revoke account=%s member=%s",
        scope.user_id,
        scope.account.id,
        callback_data.user,
    )
    await _draw_members(query, i18n, db, scope, i18n("members-revoked", name=_who(i18n, member)))


# --- the teammate: opening a link, accepting or declining --------------------------------------


async def invite_opened(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    i18n: Translator,
    db: Database,
) -> None:
    await state.clear()
    token = (command.args or "")[len(INVITE_PREFIX) :]
    invite = await db.invites.peek(token)
    account = await db.accounts.info(invite.account_id) if invite is not None else None
    if invite is None or account is None:
        await show(message, i18n("invite-invalid"), back_to_menu(i18n))
        return
    if message.from_user is not None and message.from_user.id == account.owner_id:
        await show(message, i18n("invite-own"), back_to_menu(i18n))
        return
    await show(
        message,
        i18n(
            "invite-offer",
            owner=invite.owner_name or "?",
            account=account_name(i18n, account),
            role=role_name(i18n, invite.role),
            can=i18n(f"role-can-{invite.role.value}"),
        ),
        InlineKeyboardMarkup(
            inline_keyboard=[
                [button(i18n("invite-btn-accept"), JoinCb(action=JoinAction.ACCEPT, token=token))],
                [
                    button(
                        i18n("invite-btn-decline"), JoinCb(action=JoinAction.DECLINE, token=token)
                    )
                ],
            ]
        ),
    )


async def invite_answered(
    query: CallbackQuery,
    callback_data: JoinCb,
    i18n: Translator,
    db: Database,
    hub: TranslatorHub,
    bot: Bot,
) -> None:
    user = query.from_user
    offered = await db.invites.peek(callback_data.token)
    account = await db.accounts.info(offered.account_id) if offered is not None else None
    if offered is None or account is None:
        await show(query, i18n("invite-invalid"), back_to_menu(i18n))
        return
    if user.id == account.owner_id:
        await show(query, i18n("invite-own"), back_to_menu(i18n))
        return
    # Used up here, once: a second tap (or the other button) finds nothing.
    invite = await db.invites.take(callback_data.token)
    if invite is None:
        await show(query, i18n("invite-invalid"), back_to_menu(i18n))
        return
    accepted = callback_data.action == JoinAction.ACCEPT
    if accepted and not await db.accounts.join(user.id, account.id, invite.role, user.full_name):
        await show(query, i18n("invite-invalid"), back_to_menu(i18n))
        return
    if accepted:
        await db.actions.record(
            user.id, "member-join", None, f"ok:{invite.role.value}", account_id=account.id
        )
    log.info(
        "user=%s action=invite-%s account=%s role=%s",
        user.id,
        "accepted" if accepted else "declined",
        account.id,
        invite.role.value,
    )
    await _tell_owner(
        bot, db, hub, account.owner_id, account.id, user.full_name, invite.role, accepted
    )
    if not accepted:
        await show(query, i18n("invite-declined"), back_to_menu(i18n))
        return
    access = await db.accounts.access(user.id, account.id)
    note = i18n(
        "invite-joined",
        account=account_name(i18n, account),
        role=role_name(i18n, invite.role),
    )
    await draw_menu(query, i18n, access, note=note)


async def _tell_owner(
    bot: Bot,
    db: Database,
    hub: TranslatorHub,
    owner_id: int,
    account_id: int,
    name: str,
    role: Role,
    accepted: bool,
) -> None:
    language = (await db.users.languages([owner_id])).get(owner_id)
    i18n = hub.get(language)
    info = await db.accounts.info(account_id)
    if info is None:
        return
    key = "invite-owner-accepted" if accepted else "invite-owner-declined"
    text = i18n(key, name=name, account=account_name(i18n, info), role=role_name(i18n, role))
    several = bool(await db.accounts.with_several([owner_id]))
    try:
        # The owner's buttons act on that account.
        with drawing_for(account_id if several else None):
            await bot.send_message(owner_id, text, reply_markup=back_to_menu(i18n))
    except TelegramAPIError as exc:
        # The teammate's answer stands either way.
        log.info("user=%s owner not told of the invite answer: %s", owner_id, exc.message)


def create_router() -> Router:
    """Answering an invite (the link itself is opened by /start, see start.py)."""
    router = Router(name=__name__)
    router.callback_query.filter(DataPrefix(JoinCb))
    router.callback_query.register(invite_answered, JoinCb.filter())
    return router


def create_linked_area() -> LinkedArea:
    """The owner's members screens."""
    area = linked_area(f"{__name__}.manage", DataPrefix(MembersCb), role=Role.OWNER)
    router = area.router
    router.callback_query.register(members_screen, MembersCb.filter(F.action == MembersAction.LIST))
    router.callback_query.register(invite_roles, MembersCb.filter(F.action == MembersAction.INVITE))
    router.callback_query.register(
        create_invite, MembersCb.filter(F.action == MembersAction.CREATE)
    )
    router.callback_query.register(member_card, MembersCb.filter(F.action == MembersAction.MEMBER))
    router.callback_query.register(change_role, MembersCb.filter(F.action == MembersAction.ROLE))
    router.callback_query.register(
        revoke_asked, MembersCb.filter(F.action == MembersAction.REVOKE_ASK)
    )
    router.callback_query.register(
        revoke_member, MembersCb.filter(F.action == MembersAction.REVOKE)
    )
    router.callback_query.register(
        revoke_invite, MembersCb.filter(F.action == MembersAction.REVOKE_INVITE)
    )
    return area
