"""Callback data that crosses areas: the entry points one screen offers into another.

Area-private callback data lives in the area's own module. Every class here keeps only short
ids in the data, so a packed button stays far below Telegram's 64-byte limit.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.ui import Page


class ServerAction(StrEnum):
    CARD = "c"
    REFRESH = "r"
    # From a notice (install progress, "ready"): the card comes as a new message, so the notice
    # stays as it is and the watcher's progress edits never land on a screen the user moved to.
    NEW_MESSAGE = "n"


class ServerCb(CallbackData, prefix="s"):
    """Open (or refresh) the card of the server behind an order."""

    action: ServerAction = ServerAction.CARD
    order_id: str


class InstallMode(StrEnum):
    INSTALL = "i"
    REINSTALL = "r"


class InstallStartCb(CallbackData, prefix="is"):
    """Start the install/reinstall wizard for a paid order."""

    order_id: str
    mode: InstallMode = InstallMode.INSTALL


class ServiceCb(CallbackData, prefix="sv"):
    """Open a service's detail card (``getService``)."""

    service_id: str


class OrdersPageCb(CallbackData, prefix="op"):
    page: Page = 0


class ShowPasswordCb(CallbackData, prefix="pw"):
    """Send the root password of an order's server as a self-deleting spoiler."""

    order_id: str


class LinkAction(StrEnum):
    OPTIONS = "o"
    KEY = "k"
    EMAIL = "e"
    NEW_KEY = "n"
    DEMO = "d"


class LinkCb(CallbackData, prefix="ln"):
    """The ways of linking an account (``start.py``); offered wherever one is missing."""

    action: LinkAction


class MonitorCb(CallbackData, prefix="al"):
    """The server card's "alert me if it goes down" toggle: ``on`` is the state asked for."""

    order_id: str
    on: bool


class AccountsAction(StrEnum):
    LIST = "l"
    OPEN = "o"
    SWITCH = "s"


class AccountsCb(CallbackData, prefix="ac"):
    """The user's accounts (``accounts.py``): the list, one account's card, making one active.
    Names the account in its data; such a tap always opens the user's own view, whatever
    account the button was drawn for."""

    action: AccountsAction = AccountsAction.LIST
    account: int = 0


class AccountAction(StrEnum):
    RENAME = "n"


class AccountCb(CallbackData, prefix="aa"):
    """Changing the account a card was drawn for (its name)."""

    action: AccountAction


class MembersAction(StrEnum):
    LIST = "l"
    INVITE = "i"
    CREATE = "c"
    MEMBER = "m"
    ROLE = "r"
    REVOKE_ASK = "q"
    REVOKE = "x"
    REVOKE_INVITE = "y"


class MembersCb(CallbackData, prefix="mm"):
    """The members of the account the screen was drawn for (its owner only): inviting,
    changing a role, revoking."""

    action: MembersAction = MembersAction.LIST
    user: int = 0
    role: str = ""
    invite: int = 0


class JoinAction(StrEnum):
    ACCEPT = "a"
    DECLINE = "d"


class JoinCb(CallbackData, prefix="jn"):
    """Accepting or declining an invite; carries the invite's token (the one in its link)."""

    action: JoinAction
    token: str


class ServerNameCb(CallbackData, prefix="sn"):
    """Give a server a local name (``server_names.py``; operators and up)."""

    order_id: str
