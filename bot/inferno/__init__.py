"""The Inferno VPS provider: API client, answer models, errors and the print_r parser."""

from bot.inferno.client import InfernoClient, mask_secrets
from bot.inferno.errors import (
    AccessDenied,
    InfernoError,
    InvalidCredentials,
    ProviderFail,
    ProviderUnavailable,
    UnreadableAnswer,
)
from bot.inferno.models import (
    ActionResult,
    Balance,
    Catalog,
    CreatedOrder,
    Credentials,
    InstallResult,
    Order,
    PowerState,
    Product,
    ServerInfo,
    Service,
    SshKey,
    Template,
)
from bot.inferno.printr import PrintRError, parse_print_r

__all__ = [
    "AccessDenied",
    "ActionResult",
    "Balance",
    "Catalog",
    "CreatedOrder",
    "Credentials",
    "InfernoClient",
    "InfernoError",
    "InstallResult",
    "InvalidCredentials",
    "Order",
    "PowerState",
    "PrintRError",
    "Product",
    "ProviderFail",
    "ProviderUnavailable",
    "ServerInfo",
    "Service",
    "SshKey",
    "Template",
    "UnreadableAnswer",
    "mask_secrets",
    "parse_print_r",
]
