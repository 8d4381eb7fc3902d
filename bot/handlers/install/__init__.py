"""The install / reinstall wizard: OS template → SSH keys → summary and dry run → confirm → queued.

``run=1`` is sent at most once per confirmation: the token is consumed under the user's lock and
must also be the wizard's current one, so a double tap or a button on an old summary says so
instead of installing again. A reinstall asks twice, the second time on a button naming the IP.

Where things are: :mod:`.wizard` (what the wizard remembers, what its buttons carry),
:mod:`.keyboards` (every keyboard), :mod:`.entry` (starting and leaving), :mod:`.templates`
(step 1), :mod:`.keys` (step 2), :mod:`.summary` (step 3 and the reinstall warning),
:mod:`.send` (the confirmed ``run=1``); the routing table is :func:`create_linked_area` below.
"""

from __future__ import annotations

from aiogram import F
from aiogram.filters import StateFilter

from bot.handlers.callbacks import InstallStartCb
from bot.handlers.filters import DataPrefix, NotCommand, NoText, TypedText
from bot.handlers.install.entry import cancelled, start_wizard, unreadable_button
from bot.handlers.install.keys import (
    add_key,
    key_named_or_skipped,
    key_pasted,
    key_toggled,
    keys_step,
    template_picked,
)
from bot.handlers.install.send import confirmed
from bot.handlers.install.summary import reinstall_warning, summary_step
from bot.handlers.install.templates import clear_filter, filter_typed, not_a_word, templates_page
from bot.handlers.install.wizard import InstallWizard, WizAction, WizCb
from bot.handlers.linked import LinkedArea, linked_area
from bot.middlewares.user_lock import USER_LOCK
from bot.storage.accounts import Role


def create_linked_area() -> LinkedArea:
    """The install / reinstall wizard."""
    area = linked_area(
        __name__, DataPrefix(InstallStartCb, WizCb), dialogs=[InstallWizard], role=Role.ADMIN
    )
    router = area.router
    router.callback_query.register(start_wizard, InstallStartCb.filter())
    router.callback_query.register(
        templates_page, WizCb.filter(F.action.in_({WizAction.PAGE, WizAction.TEMPLATES}))
    )
    router.callback_query.register(clear_filter, WizCb.filter(F.action == WizAction.CLEAR_FILTER))
    router.message.register(
        filter_typed,
        StateFilter(InstallWizard.template, InstallWizard.keys, InstallWizard.summary),
        TypedText(),
    )
    router.message.register(
        not_a_word,
        StateFilter(InstallWizard.template, InstallWizard.keys, InstallWizard.summary),
        NoText(),
    )
    router.callback_query.register(template_picked, WizCb.filter(F.action == WizAction.PICK))
    router.callback_query.register(keys_step, WizCb.filter(F.action == WizAction.KEYS))
    router.callback_query.register(key_toggled, WizCb.filter(F.action == WizAction.TOGGLE))
    router.callback_query.register(add_key, WizCb.filter(F.action == WizAction.ADD_KEY))
    # Commands pass through these steps (e.g. /keys, handled by a router further down).
    router.message.register(key_pasted, StateFilter(InstallWizard.key_paste), NotCommand())
    router.callback_query.register(
        key_named_or_skipped, WizCb.filter(F.action.in_({WizAction.SKIP_NAME, WizAction.SAVE_KEY}))
    )
    router.message.register(key_named_or_skipped, StateFilter(InstallWizard.key_name), NotCommand())
    # Under the user's lock, like the install itself: a slow second tap cannot draw a summary
    # (and save the wizard again) after the first one's confirmation has been carried out.
    router.callback_query.register(
        summary_step, WizCb.filter(F.action == WizAction.SUMMARY), flags={USER_LOCK: True}
    )
    router.callback_query.register(
        reinstall_warning, WizCb.filter(F.action == WizAction.WARN), flags={USER_LOCK: True}
    )
    router.callback_query.register(confirmed, WizCb.filter(F.action == WizAction.CONFIRM))
    router.callback_query.register(cancelled, WizCb.filter(F.action == WizAction.CANCEL))
    router.callback_query.register(unreadable_button, DataPrefix(WizCb, InstallStartCb))
    return area
