"""Every keyboard of the install wizard, so a step's handler only chooses which one to show."""

from __future__ import annotations

from collections.abc import Callable

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.handlers import sshkeys
from bot.handlers.callbacks import InstallMode, InstallStartCb, ServerCb
from bot.handlers.common import plain
from bot.handlers.install.wizard import WizAction, Wizard, WizCb, template_ref
from bot.handlers.navigation import back_to_menu_button
from bot.i18n import Translator
from bot.inferno.models import SshKey, Template
from bot.ui import clip, cyclic_pager_row

LABEL_MAX = 48


def wiz_button(text: str, action: WizAction, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=WizCb(action=action, value=value).pack())


def keyboard(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=list(rows))


def page_of(action: WizAction) -> Callable[[int], WizCb]:
    return lambda page: WizCb(action=action, value=str(page))


def cancel_button(i18n: Translator) -> InlineKeyboardButton:
    return wiz_button(i18n("install-btn-cancel"), WizAction.CANCEL)


def server_button(i18n: Translator, order_id: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=i18n("install-btn-server"), callback_data=ServerCb(order_id=order_id).pack()
    )


def only_cancel(i18n: Translator) -> InlineKeyboardMarkup:
    return keyboard([cancel_button(i18n)])


def fix_buttons(i18n: Translator) -> list[list[InlineKeyboardButton]]:
    """Back to the template or the keys step, or leave."""
    return [
        [
            wiz_button(i18n("install-btn-change-os"), WizAction.TEMPLATES),
            wiz_button(i18n("install-btn-change-keys"), WizAction.KEYS),
        ],
        [cancel_button(i18n)],
    ]


# --------------------------------------------------------------------------- entry and exit


def reinstall_instead(i18n: Translator, order_id: str) -> InlineKeyboardMarkup:
    """ "Install" on an order that already has a server."""
    reinstall = InlineKeyboardButton(
        text=i18n("install-btn-reinstall-instead"),
        callback_data=InstallStartCb(order_id=order_id, mode=InstallMode.REINSTALL).pack(),
    )
    return keyboard([reinstall], [back_to_menu_button(i18n)])


def server_then_menu(i18n: Translator, order_id: str) -> InlineKeyboardMarkup:
    return keyboard([server_button(i18n, order_id)], [back_to_menu_button(i18n)])


def cancelled(i18n: Translator, order_id: str | None) -> InlineKeyboardMarkup:
    rows = [[back_to_menu_button(i18n)]]
    if order_id is not None:
        rows.insert(0, [server_button(i18n, order_id)])
    return keyboard(*rows)


# --------------------------------------------------------------------------- step 1: template


def templates(
    i18n: Translator,
    shown: list[tuple[int, Template]],
    page: int,
    pages: int,
    *,
    filtered: bool,
) -> InlineKeyboardMarkup:
    rows = [
        [
            wiz_button(
                clip(template.title or template.name, LABEL_MAX),
                WizAction.PICK,
                template_ref(index, template.name),
            )
        ]
        for index, template in shown
    ]
    if pages > 1:
        rows.append(cyclic_pager_row(i18n, page, pages, page_of(WizAction.PAGE)))
    if filtered:
        rows.append([wiz_button(i18n("install-btn-clear-filter"), WizAction.CLEAR_FILTER)])
    rows.append([cancel_button(i18n)])
    return keyboard(*rows)


# --------------------------------------------------------------------------- step 2: keys


def keys(
    i18n: Translator, wizard: Wizard, shown: list[SshKey], page: int, pages: int
) -> InlineKeyboardMarkup:
    selected = set(wizard.keys)
    rows = [
        [
            wiz_button(
                plain(
                    i18n(
                        "install-btn-key-on" if key.id in selected else "install-btn-key-off",
                        name=sshkeys.key_label(key),
                    )
                ),
                WizAction.TOGGLE,
                key.id,
            )
        ]
        for key in shown
    ]
    if pages > 1:
        rows.append(cyclic_pager_row(i18n, page, pages, page_of(WizAction.KEYS)))
    rows.append([wiz_button(i18n("install-btn-add-key"), WizAction.ADD_KEY)])
    go = (
        i18n("install-btn-continue-keys", count=len(wizard.keys))
        if wizard.keys
        else i18n("install-btn-continue-no-key")
    )
    rows.append([wiz_button(go, WizAction.SUMMARY)])
    rows.append(
        [wiz_button(i18n("install-btn-change-os"), WizAction.TEMPLATES), cancel_button(i18n)]
    )
    return keyboard(*rows)


def key_flow_buttons(i18n: Translator) -> sshkeys.KeyFlowButtons:
    """The buttons of the add-key steps, which come back to the wizard's keys step."""
    return sshkeys.KeyFlowButtons(
        back=wiz_button(i18n("install-btn-back-to-keys"), WizAction.KEYS),
        skip=wiz_button(i18n("sshkeys-btn-skip-name"), WizAction.SKIP_NAME),
        retry=wiz_button(i18n("btn-retry"), WizAction.SAVE_KEY),
        again=wiz_button(i18n("sshkeys-btn-other-key"), WizAction.ADD_KEY),
    )


# --------------------------------------------------------------------------- step 3: summary


def check_failed(i18n: Translator) -> InlineKeyboardMarkup:
    return keyboard([wiz_button(i18n("btn-retry"), WizAction.SUMMARY)], *fix_buttons(i18n))


def summary(i18n: Translator, wizard: Wizard) -> InlineKeyboardMarkup:
    """After a passed dry run: an install is confirmed here (the button carries the token); a
    reinstall goes on to the erase warning first."""
    if wizard.mode is InstallMode.INSTALL:
        go = wiz_button(i18n("install-btn-install"), WizAction.CONFIRM, wizard.token or "")
    else:
        go = wiz_button(i18n("install-btn-reinstall"), WizAction.WARN)
    return keyboard([go], *fix_buttons(i18n))


def check_needed(i18n: Translator) -> InlineKeyboardMarkup:
    return keyboard(
        [wiz_button(i18n("install-btn-check"), WizAction.SUMMARY)], [cancel_button(i18n)]
    )


def erase_warning(i18n: Translator, ip: str, token: str) -> InlineKeyboardMarkup:
    erase = wiz_button(plain(i18n("install-btn-erase", ip=ip)), WizAction.CONFIRM, token)
    keep = wiz_button(i18n("install-btn-keep"), WizAction.CANCEL)
    return keyboard([erase], [keep])


# --------------------------------------------------------------------------- sending


def run_failed(i18n: Translator) -> InlineKeyboardMarkup:
    return keyboard(*fix_buttons(i18n))
