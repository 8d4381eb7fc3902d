"""Reboot, stop and boot: confirmed where it matters, and sent once per confirmed tap."""

from __future__ import annotations

import logging
from functools import partial

from aiogram import F
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup

from bot.handlers.callbacks import ServerCb
from bot.handlers.common import server_name
from bot.handlers.filters import DataPrefix
from bot.handlers.linked import LinkedArea, linked_area
from bot.handlers.servers import (
    POWER_CONFIRMATION_TTL,
    PowerCb,
    PowerOp,
    PowerStep,
    View,
    boot_button,
    card_view,
    for_own_order,
    render_card,
    service_id_of_order,
)
from bot.i18n import Translator
from bot.inferno.client import InfernoClient
from bot.inferno.errors import InfernoError, ProviderUnavailable, UnreadableAnswer
from bot.inferno.models import ActionResult, Credentials
from bot.middlewares.user_lock import USER_LOCK
from bot.services.locks import UserLocks
from bot.storage import Database
from bot.storage.accounts import Role
from bot.ui import provider_error_text, show

log = logging.getLogger(__name__)


_BY_ACTION = {op.action: op for op in PowerOp}


async def _send(
    inferno: InfernoClient, creds: Credentials, op: PowerOp, order_id: str
) -> ActionResult:
    if op is PowerOp.REBOOT:
        return await inferno.reboot(creds, order_id)
    if op is PowerOp.STOP:
        return await inferno.stop(creds, order_id)
    return await inferno.boot(creds, order_id)


def _done_text(i18n: Translator, op: PowerOp) -> str:
    if op is PowerOp.REBOOT:
        return i18n("power-done-reboot")
    if op is PowerOp.STOP:
        return i18n("power-done-stop")
    return i18n("power-done-boot")


async def ask(
    query: CallbackQuery,
    callback_data: PowerCb,
    i18n: Translator,
    account: Credentials,
    db: Database,
    inferno: InfernoClient,
) -> None:
    view = await _ask_view(
        query.from_user.id, callback_data.op, callback_data.order_id, i18n, account, db, inferno
    )
    await show(query, view.text, view.markup)


async def _ask_view(
    user_id: int,
    op: PowerOp,
    order_id: str,
    i18n: Translator,
    creds: Credentials,
    db: Database,
    inferno: InfernoClient,
) -> View:
    # The order id came from a button: it must be one of this user's servers.
    info = await for_own_order(
        i18n,
        user_id,
        order_id,
        partial(inferno.get_info, creds),
        inferno=inferno,
        creds=creds,
        action=op.action,
        retry=PowerCb(step=PowerStep.ASK, op=op, order_id=order_id),
    )
    if isinstance(info, View):
        return info
    if not (info.vps_ok and info.ip):
        # Nothing to power yet (unpaid, being installed, no server): the card says why.
        return await render_card(
            i18n=i18n,
            info=info,
            order_id=order_id,
            service_id=await service_id_of_order(inferno, creds, order_id),
            user_id=user_id,
            db=db,
        )
    token = await db.confirmations.issue(
        user_id, op.action, {"order_id": order_id}, ttl=POWER_CONFIRMATION_TTL
    )
    name = await server_name(db, order_id, info.name) or i18n("servers-unnamed", order=order_id)
    if op is PowerOp.REBOOT:
        text = i18n("power-confirm-reboot", name=name, ip=info.ip)
        yes = i18n("power-btn-confirm-reboot")
    else:
        text = i18n("power-confirm-stop", name=name, ip=info.ip)
        yes = i18n("power-btn-confirm-stop")
    confirm = PowerCb(step=PowerStep.DO, op=op, order_id=order_id, token=token)
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=yes, callback_data=confirm.pack()),
                InlineKeyboardButton(
                    text=i18n("btn-no"), callback_data=ServerCb(order_id=order_id).pack()
                ),
            ]
        ]
    )
    return View(text, markup)


async def do(
    query: CallbackQuery,
    callback_data: PowerCb,
    i18n: Translator,
    account: Credentials,
    db: Database,
    inferno: InfernoClient,
    locks: UserLocks,
) -> None:
    user_id = query.from_user.id
    # The lock also covers redrawing the card, so a second tap's "already done" screen
    # comes after (and shows the outcome of) the first tap's action. The order is checked
    # before the confirmation is spent: a Retry after a failed check taps the same button.
    async with locks.hold(user_id):
        view = await for_own_order(
            i18n,
            user_id,
            callback_data.order_id,
            partial(_confirmed, user_id, callback_data.token, i18n, account, db, inferno),
            inferno=inferno,
            creds=account,
            action="power",
            retry=callback_data,
        )
        await show(query, view.text, view.markup)


async def _confirmed(
    user_id: int,
    token: str,
    i18n: Translator,
    creds: Credentials,
    db: Database,
    inferno: InfernoClient,
    order_id: str,
) -> View:
    """Spends the confirmation behind the tap and acts on the user's own ``order_id``, if that
    is the order it was issued for; else the card says it was already done (or has expired)."""
    confirmation = await db.confirmations.consume(user_id, token, _BY_ACTION)
    if confirmation is None or str(confirmation.payload.get("order_id")) != order_id:
        log.info("user=%s action=power order=%s result=already-done-or-expired", user_id, order_id)
        return await card_view(
            i18n=i18n,
            creds=creds,
            order_id=order_id,
            user_id=user_id,
            db=db,
            inferno=inferno,
            notice=i18n("power-already-done"),
        )
    return await _act(user_id, _BY_ACTION[confirmation.action], order_id, i18n, creds, db, inferno)


async def _act(
    user_id: int,
    op: PowerOp,
    order_id: str,
    i18n: Translator,
    creds: Credentials,
    db: Database,
    inferno: InfernoClient,
) -> View:
    """Sends the command exactly once (writes are never retried) and logs the outcome."""
    try:
        await _send(inferno, creds, op, order_id)
    except InfernoError as exc:
        outcome = "unknown" if _outcome_unknown(exc) else "failed"
        result = f"{outcome}:{type(exc).__name__}"
        await db.actions.record(user_id, op.action, order_id, result)
        log.info("user=%s action=%s order=%s result=%s", user_id, op.action, order_id, result)
        return await _failure_view(user_id, op, order_id, exc, i18n, db)
    await db.actions.record(user_id, op.action, order_id, "ok")
    log.info("user=%s action=%s order=%s result=ok", user_id, op.action, order_id)
    return await card_view(
        i18n=i18n,
        creds=creds,
        order_id=order_id,
        user_id=user_id,
        db=db,
        inferno=inferno,
        notice=_done_text(i18n, op),
    )


def _outcome_unknown(exc: InfernoError) -> bool:
    """No answer, or one that cannot be read (a PHP warning page after the work was done, say):
    the command may or may not have been carried out."""
    return isinstance(exc, ProviderUnavailable | UnreadableAnswer)


async def _failure_view(
    user_id: int,
    op: PowerOp,
    order_id: str,
    exc: InfernoError,
    i18n: Translator,
    db: Database,
) -> View:
    if _outcome_unknown(exc):
        # The command may have been carried out: only the server's state tells, and a Retry
        # here could stop or reboot it a second time.
        check = InlineKeyboardButton(
            text=i18n("power-btn-check-server"), callback_data=ServerCb(order_id=order_id).pack()
        )
        return View(i18n("power-outcome-unknown"), InlineKeyboardMarkup(inline_keyboard=[[check]]))
    headline = i18n("power-failed")
    text = f"{headline}\n{provider_error_text(i18n, exc)}"
    # Retrying is a new, deliberate tap: reboot/stop ask again, boot gets a fresh token.
    if op is PowerOp.BOOT:
        retry = await boot_button(i18n, db, user_id, order_id, i18n("btn-retry"))
    else:
        retry = InlineKeyboardButton(
            text=i18n("btn-retry"),
            callback_data=PowerCb(step=PowerStep.ASK, op=op, order_id=order_id).pack(),
        )
    back = InlineKeyboardButton(
        text=i18n("btn-back"), callback_data=ServerCb(order_id=order_id).pack()
    )
    return View(
        text,
        InlineKeyboardMarkup(inline_keyboard=[[retry], [back]]),
    )


def create_linked_area() -> LinkedArea:
    """Reboot, stop and boot."""
    area = linked_area(__name__, DataPrefix(PowerCb), role=Role.OPERATOR)
    router = area.router
    # Boot is never asked about (its button carries a token already): a Boot "ask" is forged and
    # ends, like any unreadable tap, at the fallback's "expired".
    router.callback_query.register(
        ask,
        PowerCb.filter((F.step == PowerStep.ASK) & (F.op != PowerOp.BOOT)),
        flags={USER_LOCK: True},
    )
    router.callback_query.register(do, PowerCb.filter(F.step == PowerStep.DO))
    return area
