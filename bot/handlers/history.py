"""📜 History: what was done on the account the screen is drawn for, by anyone, through the bot —
when, who, what, on which server or order, and how it went; newest first, a page at a time.
Owners and admins see all of it; operators and viewers see the actions on servers."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery

from bot.config import Settings
from bot.formatting import format_date
from bot.handlers.common import account_name, paged_keyboard
from bot.handlers.filters import DataPrefix
from bot.handlers.linked import LinkedArea, linked_area
from bot.i18n import Html, Translator
from bot.storage import Database
from bot.storage.accounts import Access, Role
from bot.storage.history import SERVER_ACTIONS, Entry
from bot.ui import PAGE_SIZE, Page, page_bounds, show

# What each recorded action is called on the screen; anything else shows as recorded.
ACTION_KEYS = {
    "create": "history-buy",
    "cancel": "history-cancel",
    "install": "history-install",
    "reinstall": "history-reinstall",
    "reboot": "history-reboot",
    "stop": "history-stop",
    "boot": "history-boot",
    "sshkey-add": "history-sshkey-add",
    "sshkey-remove": "history-sshkey-remove",
    "show-password": "history-password",
    "newkey": "history-newkey",
    "unlink": "history-unlink",
    "member-invite": "history-member-invite",
    "member-join": "history-member-join",
    "member-role": "history-member-role",
    "member-revoke": "history-member-revoke",
}


class HistoryCb(CallbackData, prefix="hy"):
    page: Page = 0


def outcome(result: str) -> str:
    """done, refused (by the provider), failed, or pending (the outcome is not known yet)."""
    if result.startswith("ok") or result == "queued":
        return "done" if result != "queued" else "pending"
    if result.startswith("fail:") or "ProviderFail" in result or result == "fail":
        return "refused"
    if result.startswith("unknown"):
        return "pending"
    return "failed"


def _when(i18n: Translator, timestamp: float, zone: ZoneInfo) -> str:
    moment = dt.datetime.fromtimestamp(timestamp, zone)
    return f"{format_date(i18n, moment.date())} {moment:%H:%M}"


def _line(i18n: Translator, entry: Entry, zone: ZoneInfo) -> str:
    key = ACTION_KEYS.get(entry.action)
    what = i18n(key) if key is not None else entry.action
    # Members' actions carry their subject after "ok:" (a role, a member's name).
    detail = entry.result.split(":", 1)[1] if entry.action.startswith("member-") else ""
    return i18n(
        "history-line",
        when=_when(i18n, entry.created_at, zone),
        who=entry.actor or i18n("member-unnamed", id=str(entry.user_id)),
        what=what,
        detail=detail.replace(":", " · ") or "none",
        order=entry.order_id or "none",
        outcome=Html(i18n(f"history-{outcome(entry.result)}")),
    )


async def history_screen(
    query: CallbackQuery,
    callback_data: HistoryCb,
    i18n: Translator,
    db: Database,
    scope: Access,
    settings: Settings,
) -> None:
    # Owners and admins see everything; the others the actions on servers.
    only = None if scope.role.allows(Role.ADMIN) else SERVER_ACTIONS
    total, _ = await db.history.page(scope.account.id, 0, 0, only)
    page, pages, first = page_bounds(total, callback_data.page)
    _, entries = await db.history.page(scope.account.id, first, PAGE_SIZE, only)
    zone = ZoneInfo(settings.timezone)
    lines = [
        i18n("history-title", account=account_name(i18n, scope.account), zone=settings.timezone)
    ]
    if not entries:
        lines.append(i18n("history-empty"))
    lines += [_line(i18n, entry, zone) for entry in entries]
    markup = paged_keyboard(i18n, [], page, pages, lambda p: HistoryCb(page=p))
    await show(query, "\n".join(lines), markup)


def create_linked_area() -> LinkedArea:
    area = linked_area(__name__, DataPrefix(HistoryCb))
    area.router.callback_query.register(history_screen, HistoryCb.filter())
    return area
