"""A local name for a server (operators and up): shown to every member of the account instead
of the provider's ``vps_name``, on every screen and push. Up to 32 characters; escaped like
any other text wherever it is shown."""

from __future__ import annotations

import logging

from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.handlers.callbacks import ServerCb, ServerNameCb
from bot.handlers.common import button, own_order
from bot.handlers.filters import DataPrefix, NotCommand
from bot.handlers.linked import LinkedArea, linked_area
from bot.handlers.servers import card_view, not_found_view
from bot.i18n import Translator
from bot.inferno.client import InfernoClient
from bot.inferno.errors import InfernoError
from bot.inferno.models import Credentials
from bot.storage import Database
from bot.storage.accounts import Access, Role
from bot.storage.server_names import NAME_MAX
from bot.ui import provider_error_text, show

log = logging.getLogger(__name__)

# Sent instead of a name: back to the provider's.
CLEAR = "-"


class ServerNameForm(StatesGroup):
    name = State()


async def _own(inferno: InfernoClient, account: Credentials, order_id: str) -> str | None:
    """None when the order is the account's own, else the locale key of why not."""
    try:
        found = await own_order(inferno, account, order_id)
    except InfernoError:
        return "provider"
    return None if found is not None else "not-found"


async def name_asked(
    query: CallbackQuery,
    callback_data: ServerNameCb,
    state: FSMContext,
    i18n: Translator,
    inferno: InfernoClient,
    account: Credentials,
) -> None:
    order_id = callback_data.order_id
    problem = await _own(inferno, account, order_id)
    if problem is not None:
        view = not_found_view(i18n)
        await show(query, view.text, view.markup)
        return
    await state.set_state(ServerNameForm.name)
    await state.update_data({"order_id": order_id})
    cancel = button(i18n("btn-cancel"), ServerCb(order_id=order_id))
    await show(
        query,
        i18n("servers-ask-name", order=order_id, clear=CLEAR),
        InlineKeyboardMarkup(inline_keyboard=[[cancel]]),
    )


async def name_entered(
    message: Message,
    state: FSMContext,
    i18n: Translator,
    db: Database,
    inferno: InfernoClient,
    account: Credentials,
    scope: Access,
) -> None:
    order_id = str((await state.get_data()).get("order_id") or "")
    text = (message.text or "").strip()
    if text != CLEAR and (not text or len(text) > NAME_MAX or "\n" in text):
        await show(message, i18n("servers-name-bad", clear=CLEAR))
        return
    try:
        found = await own_order(inferno, account, order_id)
    except InfernoError as exc:
        await show(message, provider_error_text(i18n, exc))
        return
    await state.clear()
    if found is None:
        view = not_found_view(i18n)
        await show(message, view.text, view.markup)
        return
    await db.server_names.set(scope.account.id, order_id, None if text == CLEAR else text)
    log.info(
        "user=%s action=server-name account=%s order=%s", scope.user_id, scope.account.id, order_id
    )
    view = await card_view(
        i18n=i18n,
        creds=account,
        order_id=order_id,
        user_id=scope.user_id,
        db=db,
        inferno=inferno,
        notice=i18n("servers-name-saved"),
    )
    await show(message, view.text, view.markup)


def create_linked_area() -> LinkedArea:
    area = linked_area(
        __name__, DataPrefix(ServerNameCb), dialogs=[ServerNameForm], role=Role.OPERATOR
    )
    area.router.callback_query.register(name_asked, ServerNameCb.filter())
    area.router.message.register(name_entered, StateFilter(ServerNameForm.name), NotCommand())
    return area
