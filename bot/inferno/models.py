"""Typed views of the provider's answers.

The provider documents few answer shapes, so every parser here accepts each plausible form that
``inferno-api.md`` lists (ids as strings or numbers, collections as lists or as objects keyed by id,
alternative field names) and turns anything else into :class:`UnreadableAnswer` instead of letting
a ``KeyError``/``TypeError`` escape. Each model keeps what it was built from in ``.raw``.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.inferno.errors import UnreadableAnswer
from bot.masking import SECRET_NAME_PARTS, is_secret_name, mask_key

__all__ = [
    "SECRET_TEXT_RE",
    "ActionResult",
    "Balance",
    "Catalog",
    "CreatedOrder",
    "Credentials",
    "InstallResult",
    "Order",
    "PowerState",
    "Product",
    "ServerInfo",
    "Service",
    "SshKey",
    "Template",
    "failure_of",
]

# Secret-looking fields inside text (JSON, form or print_r style): group 1 is the name and the
# separator, group 2 the value to mask. The log filter uses it too. A name is matched from its
# start only and taken whole (possessively), which keeps the search linear in a long word.
SECRET_TEXT_RE = re.compile(
    rf"(?i)(?<![\w-])([\"']?\[?(?=[\w-]*?(?:{SECRET_NAME_PARTS}))[\w-]++\]?[\"']?"
    r"\s*(?:=>|[:=])\s*)(\"[^\"]*\"|'[^']*'|[^\s,&}\]]+)"
)

_ENVELOPE_FIELDS = frozenset({"result", "message", "msg", "error", "error_code", "code", "method"})
_FAIL_RESULTS = frozenset({"fail", "failed", "failure", "error"})
_TRUE_WORDS = frozenset({"1", "true", "yes", "on", "online", "y"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off", "offline", "n", ""})

_T = TypeVar("_T")

RUNNING_STATE = "Включен"
STOPPED_STATE = "Выключен"
# "Устанавливается" does not contain "установ", hence the second stem.
_INSTALLING_MARKERS = ("установ", "устанавл", "созда", "install", "creat", "queue")


# --------------------------------------------------------------------------- small helpers


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _pick(data: dict[str, Any], *names: str) -> Any:
    """First non-empty value among ``names``; the provider mixes case (orderStatus).

    Empty strings count as missing: the provider fills unknown fields with "" (``dedicatedip``),
    which must not hide a later alternative.
    """
    for name in names:
        value = data.get(name)
        if _present(value):
            return value
    lowered = {str(k).lower(): v for k, v in data.items()}
    for name in names:
        value = lowered.get(name.lower())
        if _present(value):
            return value
    return None


def _text(value: Any) -> str | None:
    """A displayable string, or None for missing/empty/structured values."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return None


def _money(value: Any) -> str | None:
    if isinstance(value, float):
        return f"{value:.2f}"
    return _text(value)


_CURRENCY_FIELDS = ("currency", "currencycode", "currency_code")
# Billing systems such as WHMCS write "no date" as a zero date.
_NO_DATES = frozenset({"0000-00-00", "0000-00-00 00:00:00"})


def _currency(value: Any) -> str | None:
    """A currency code, also from a WHMCS-like currency object ({"code": "USD", ...})."""
    if isinstance(value, dict):
        value = _pick(value, "code", "currencycode", "suffix", "prefix")
    return _text(value)


def _date(value: Any) -> str | None:
    text = _text(value)
    return None if text is None or text in _NO_DATES else text


def _id(value: Any) -> str | None:
    """Ids arrive as strings or numbers; both become the same string."""
    text = _text(value)
    if text is None:
        return None
    # "47000.0" from a float-happy JSON encoder is still order 47000.
    if text.endswith(".0") and text[:-2].isdigit():
        return text[:-2]
    return text


def _int(value: Any) -> int | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            return None
        return int(number) if number.is_integer() else None


def _bool(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    return None


def _require_dict(raw: Any, what: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise UnreadableAnswer(f"{what}: expected an object, got {type(raw).__name__}")
    return raw


def _is_fail(data: dict[str, Any]) -> bool:
    result = _text(_pick(data, "result"))
    return result is not None and result.lower() in _FAIL_RESULTS


def _entries(container: Any, what: str) -> list[tuple[str | None, Any]]:
    if isinstance(container, list | tuple):
        return [(None, item) for item in container]
    if isinstance(container, dict):
        return [(str(key), item) for key, item in container.items()]
    # PHP serialises an empty collection in several ways.
    if container is None or container is False or container == "":
        return []
    raise UnreadableAnswer(f"{what}: expected a list or an object, got {type(container).__name__}")


def _looks_like_single(item: dict[str, Any], id_names: Iterable[str]) -> bool:
    return any(_text(_pick(item, name)) is not None for name in id_names)


def _collection(
    raw: Any, names: tuple[str, ...], id_names: tuple[str, ...], what: str
) -> list[tuple[str | None, Any]]:
    """Items of a collection that may sit under one of ``names`` or at the top level."""
    if isinstance(raw, list):
        return _entries(raw, what)
    data = _require_dict(raw, what)
    lowered = {str(k).lower(): v for k, v in data.items()}
    for name in names:
        # Present but null is PHP's way of saying "none", not a missing field.
        if name.lower() in lowered:
            return _unwrap(lowered[name.lower()], names, id_names, what)
    rest = {k: v for k, v in data.items() if str(k).lower() not in _ENVELOPE_FIELDS}
    if not rest:
        return []
    if all(isinstance(v, dict) for v in rest.values()):
        return _entries(rest, what)
    if _looks_like_single(rest, id_names):
        return [(None, rest)]
    raise UnreadableAnswer(f"{what}: no collection found")


def _unwrap(
    value: Any, names: tuple[str, ...], id_names: tuple[str, ...], what: str
) -> list[tuple[str | None, Any]]:
    if isinstance(value, dict):
        # WHMCS-style {"products": {"product": [...]}}.
        if len(value) == 1:
            (only_key, inner), *_ = value.items()
            if str(only_key).lower() in names and isinstance(inner, list | dict):
                return _unwrap(inner, names, id_names, what)
        if _looks_like_single(value, id_names) and not all(
            isinstance(v, dict) for v in value.values()
        ):
            return [(None, value)]
    return _entries(value, what)


def _parse_items(
    entries: list[tuple[str | None, Any]],
    build: Callable[[str | None, Any], _T | None],
    what: str,
) -> list[_T]:
    """Builds each entry, skipping broken ones, but refuses an answer where nothing made sense."""
    items: list[_T] = []
    for key, value in entries:
        item = build(key, value)
        if item is not None:
            items.append(item)
    if entries and not items:
        raise UnreadableAnswer(f"{what}: none of {len(entries)} entries could be read")
    return items


def mask_secrets(obj: Any, *, secret: bool = False) -> Any:
    """A copy of ``obj`` with every value under a secret-looking name (:func:`is_secret_name`)
    replaced, at any depth. Under such a name a list or object keeps its shape (what a log of
    an unexpected answer is for) but all of its values are masked."""
    if isinstance(obj, dict):
        return {
            key: mask_secrets(value, secret=secret or is_secret_name(key))
            for key, value in obj.items()
        }
    if isinstance(obj, list | tuple):
        return [mask_secrets(item, secret=secret) for item in obj]
    return "***" if secret else obj


# --------------------------------------------------------------------------- credentials


@dataclass(frozen=True, repr=False)
class Credentials:
    cid: int
    key: str
    # getApiKey's answer with the key masked: the unmasked one would defeat the masked repr.
    raw: Any = field(default_factory=dict, compare=False)

    @property
    def masked_key(self) -> str:
        return mask_key(self.key)

    def __repr__(self) -> str:
        return f"Credentials(cid={self.cid}, key={self.masked_key!r})"

    __str__ = __repr__

    @classmethod
    def from_raw(cls, raw: Any) -> Credentials:
        data = _require_dict(raw, "getApiKey")
        nested = _pick(data, "data", "client")
        sources = [data, nested] if isinstance(nested, dict) else [data]
        for source in sources:
            cid = _int(_pick(source, "cid", "clientid", "client_id", "userid"))
            key = _pick(source, "key", "apikey", "api_key", "token")
            if cid is not None and isinstance(key, str) and key.strip():
                return cls(cid=cid, key=key.strip(), raw=mask_secrets(data))
        raise UnreadableAnswer("getApiKey: no cid and key in the answer")


# --------------------------------------------------------------------------- catalog


@dataclass(frozen=True)
class Template:
    name: str
    title: str | None
    raw: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_entry(cls, key: str | None, value: Any) -> Template | None:
        # A key made of digits is a list index (PHP arrays), not a template name.
        keyed = key is not None and not key.isdigit()
        if isinstance(value, str):
            if keyed:
                return cls(name=str(key), title=_text(value), raw=value)
            name = _text(value)
            return cls(name=name, title=None, raw=value) if name else None
        if value is None or isinstance(value, bool | int | float):
            return cls(name=str(key), title=None, raw=value) if keyed else None
        if isinstance(value, dict):
            explicit = _text(_pick(value, "name", "ostpl", "template", "tpl", "id"))
            name = str(key) if keyed else explicit
            if not name:
                return None
            title = _text(_pick(value, "title", "description", "label", "os"))
            if title is None and explicit and explicit != name:
                title = explicit
            return cls(name=name, title=title, raw=value)
        return None


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    price: str | None
    description: str | None
    # When the answer names one: a currency field, or the key of WHMCS-like pricing.
    currency: str | None = None
    raw: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_entry(cls, key: str | None, value: Any) -> Product | None:
        if isinstance(value, str):
            name = _text(value)
            return (
                cls(id=key, name=name, price=None, description=None, raw=value)
                if (key and name)
                else None
            )
        if not isinstance(value, dict):
            return None
        product_id = _id(_pick(value, "id", "pid", "productid", "product_id")) or key
        if not product_id:
            return None
        name = _text(_pick(value, "name", "title", "groupname", "product")) or product_id
        priced = _pick(value, "price", "amount", "cost", "pricing", "monthly")
        description = _text(_pick(value, "description", "desc"))
        currency = _currency(_pick(value, *_CURRENCY_FIELDS)) or _pricing_currency(priced)
        return cls(
            id=product_id,
            name=name,
            price=_price(priced),
            description=description,
            currency=currency,
            raw=value,
        )


_PRICE_KEYS = ("monthly", "month", "price", "amount", "cost", "value")


def _price(value: Any, depth: int = 0) -> str | None:
    """A price, possibly inside WHMCS-like pricing ({"RUB": {"monthly": "5.00", ...}})."""
    if depth > 4:
        return None
    if isinstance(value, dict):
        for name in _PRICE_KEYS:
            found = _pick(value, name)
            if found is not None:
                return _price(found, depth + 1)
        for inner in value.values():
            if isinstance(inner, dict | list):
                found_price = _price(inner, depth + 1)
                if found_price is not None:
                    return found_price
        return None
    if isinstance(value, list):
        return _price(value[0], depth + 1) if value else None
    return _money(value)


_CURRENCY_CODE = re.compile(r"[A-Z]{3}")


def _pricing_currency(value: Any) -> str | None:
    """The currency code that WHMCS-like pricing keys its price by ({"RUB": {"monthly": ...}}),
    when the price is read from under one."""
    if not isinstance(value, dict) or any(_pick(value, name) is not None for name in _PRICE_KEYS):
        return None
    for key, inner in value.items():
        if isinstance(inner, dict | list) and _price(inner) is not None:
            return str(key) if _CURRENCY_CODE.fullmatch(str(key)) else None
    return None


@dataclass(frozen=True)
class Catalog:
    templates: list[Template]
    products: list[Product]
    raw: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any) -> Catalog:
        data = _require_dict(raw, "list")
        ostpls = _pick(data, "ostpls", "ostpl", "templates")
        products = _pick(data, "products", "plans")
        if ostpls is None and products is None:
            raise UnreadableAnswer("list: neither ostpls nor products in the answer")
        templates: list[Template] = _parse_items(
            _entries(ostpls, "list.ostpls"), Template.from_entry, "list.ostpls"
        )
        product_entries = (
            _unwrap(products, ("products", "product"), ("id", "pid"), "list.products")
            if products is not None
            else []
        )
        plans: list[Product] = _parse_items(product_entries, Product.from_entry, "list.products")
        return cls(templates=templates, products=plans, raw=raw)


# --------------------------------------------------------------------------- money and orders


@dataclass(frozen=True)
class Balance:
    amount: str
    currency: str | None
    raw: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any) -> Balance:
        data = _require_dict(raw, "balance")
        value = _pick(data, "balance", "credit", "amount", "funds")
        currency: Any = _pick(data, *_CURRENCY_FIELDS)
        if isinstance(value, dict):
            currency = currency or _pick(value, *_CURRENCY_FIELDS, "code")
            value = _pick(value, "amount", "balance", "credit", "value")
        amount = _money(value)
        if amount is None:
            raise UnreadableAnswer("balance: no amount in the answer")
        return cls(amount=amount, currency=_currency(currency), raw=raw)


def _id_list(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [i for i in (_id(v) for v in value) if i]
    text = _text(value)
    if text is None:
        return []
    return [part.strip() for part in text.split(",") if part.strip()]


@dataclass(frozen=True)
class CreatedOrder:
    order_id: str
    invoice_id: str | None
    product_ids: list[str]
    raw: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any) -> CreatedOrder:
        data = _require_dict(raw, "create")
        order_id = _id(_pick(data, "orderid", "order_id", "id"))
        if order_id is None:
            raise UnreadableAnswer("create: no orderid in the answer")
        return cls(
            order_id=order_id,
            invoice_id=_id(_pick(data, "invoiceid", "invoice_id")),
            product_ids=_id_list(_pick(data, "productids", "productid", "serviceids", "serviceid")),
            raw=raw,
        )


@dataclass(frozen=True)
class Order:
    id: str
    ordernum: str | None
    amount: str | None
    invoice_id: str | None
    status: str | None
    date: str | None
    product_name: str | None
    # The currency of ``amount`` when the answer names one.
    currency: str | None = None
    raw: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_entry(cls, key: str | None, value: Any) -> Order | None:
        if not isinstance(value, dict):
            return None
        order_id = _id(_pick(value, "id", "orderid", "order_id")) or key
        if not order_id:
            return None
        return cls(
            id=order_id,
            ordernum=_id(_pick(value, "ordernum", "order_num", "ordernumber")),
            amount=_money(_pick(value, "amount", "total", "price")),
            invoice_id=_id(_pick(value, "invoiceid", "invoice_id")),
            status=_text(_pick(value, "status", "orderstatus", "order_status")),
            date=_text(_pick(value, "date", "orderdate", "created", "created_at")),
            product_name=_text(
                _pick(value, "product_name", "productname", "product", "name", "groupname")
            ),
            currency=_currency(_pick(value, *_CURRENCY_FIELDS)),
            raw=value,
        )

    @classmethod
    def list_from_raw(cls, raw: Any) -> list[Order]:
        entries = _collection(raw, ("orders", "order"), ("id", "orderid"), "orders")
        return _parse_items(entries, cls.from_entry, "orders")


# --------------------------------------------------------------------------- action results


def failure_of(raw: Any) -> tuple[str, int | None] | None:
    """Message and code of a ``result: fail`` answer; None for any other answer."""
    if not isinstance(raw, dict):
        return None
    if _is_fail(raw):
        failed = raw
    # print_r install answers nest the panel's verdict: success outside, fail in retx.
    elif isinstance(retx := _pick(raw, "retx"), dict) and _is_fail(retx):
        failed = retx
    else:
        return None
    message = _pick(failed, "message", "msg", "error")
    code = _int(_pick(failed, "error_code", "code"))
    return (str(message).strip() if message is not None else "", code)


@dataclass(frozen=True)
class ActionResult:
    message: str | None
    raw: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any) -> ActionResult:
        if isinstance(raw, dict):
            return cls(message=_text(_pick(raw, "message", "msg")), raw=raw)
        # A bare "ok"/true is still a success the client already checked for fail.
        return cls(message=_text(raw), raw=raw)


@dataclass(frozen=True)
class InstallResult:
    run: bool
    message: str | None
    method: str | None
    code: int | None
    raw: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, *, run: bool) -> InstallResult:
        data = _require_dict(raw, "install")
        retx = _pick(data, "retx")
        inner = retx if isinstance(retx, dict) else {}
        # The nested answer is the virtualisation panel's own word, more telling than "ok".
        message = _text(_pick(inner, "msg", "message")) or _text(_pick(data, "msg", "message"))
        code = _int(_pick(inner, "error_code", "code"))
        if code is None:
            code = _int(_pick(data, "error_code", "code"))
        return cls(
            run=run, message=message, method=_text(_pick(data, "method")), code=code, raw=raw
        )


# --------------------------------------------------------------------------- servers


class PowerState(enum.StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"
    INSTALLING = "installing"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ServerInfo:
    order_id: str | None
    order_status: str | None
    product_status: str | None
    ip: str | None
    name: str | None
    real_state: str | None
    online: bool | None
    main_id: str | None
    password: str | None = field(repr=False)
    vps_ok: bool
    message: str | None
    raw: Any = field(default=None, repr=False, compare=False)

    @property
    def power_state(self) -> PowerState:
        state = (self.real_state or "").strip().lower()
        if state == RUNNING_STATE.lower() or (not state and self.online is True):
            return PowerState.RUNNING
        if state == STOPPED_STATE.lower():
            return PowerState.STOPPED
        if any(marker in state for marker in _INSTALLING_MARKERS):
            return PowerState.INSTALLING
        if not self.vps_ok and (self.order_status or "").lower() == "active":
            return PowerState.INSTALLING
        return PowerState.UNKNOWN

    @property
    def is_ready(self) -> bool:
        """The spec's "install has finished": vps_info ok, an ip, and running (or online)."""
        # The same reading of the state word as power_state (case and spaces ignored).
        running = self.power_state is PowerState.RUNNING or self.online is True
        return self.vps_ok and bool(self.ip) and running

    @classmethod
    def from_raw(cls, raw: Any, *, order_id: str | None = None) -> ServerInfo:
        data = _require_dict(raw, "getinfo")
        vps_raw = _pick(data, "vps_info", "vpsinfo", "vps")
        if vps_raw is None and not any(
            _pick(data, name) is not None
            for name in ("orderid", "order_id", "orderStatus", "productStatus", "status")
        ):
            raise UnreadableAnswer("getinfo: neither order nor vps_info in the answer")
        # PHP turns an empty vps_info into [] rather than {}.
        vps = vps_raw if isinstance(vps_raw, dict) else {}
        vps_ok = bool(vps) and not _is_fail(vps)
        ip_value = _pick(vps, "ip", "ipaddress", "main_ip")
        if isinstance(ip_value, list):
            ip_value = ip_value[0] if ip_value else None
        online = _bool(_pick(vps, "online"))
        if online is None:
            online = _bool(_pick(data, "online"))
        return cls(
            order_id=_id(_pick(data, "orderid", "order_id", "id")) or order_id,
            order_status=_text(_pick(data, "orderStatus", "order_status", "status")),
            product_status=_text(_pick(data, "productStatus", "product_status", "domainstatus")),
            ip=_text(ip_value),
            name=_text(_pick(vps, "vps_name", "name", "hostname")),
            real_state=_text(_pick(vps, "real_state", "state")),
            online=online,
            main_id=_id(_pick(vps, "main_id", "mainid")),
            password=_text(_pick(vps, "vps_password", "password", "root_password")),
            vps_ok=vps_ok,
            message=_text(_pick(vps, "message", "msg")) or _text(_pick(data, "message", "msg")),
            raw=raw,
        )


# --------------------------------------------------------------------------- ssh keys


def _fingerprint(public_key: str) -> str | None:
    """OpenSSH-style SHA256 fingerprint of a public key line, when it is one."""
    parts = public_key.split()
    if len(parts) < 2:
        return None
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return None
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


@dataclass(frozen=True)
class SshKey:
    id: str
    name: str
    fingerprint: str | None
    key_type: str | None
    raw: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_entry(cls, key: str | None, value: Any) -> SshKey | None:
        if isinstance(value, str) and key:
            return cls(id=key, name=value.strip(), fingerprint=None, key_type=None, raw=value)
        if not isinstance(value, dict):
            return None
        key_id = _id(_pick(value, "id", "keyid", "key_id", "sshkey_id")) or key
        if not key_id:
            return None
        public = _text(_pick(value, "sshkey", "public_key", "pubkey", "key", "ssh_key")) or ""
        parts = public.split()
        name = _text(_pick(value, "name", "title", "comment", "label"))
        if name is None and len(parts) >= 3:
            name = " ".join(parts[2:])
        fingerprint = _text(_pick(value, "fingerprint", "fp", "hash"))
        if fingerprint is None and public:
            fingerprint = _fingerprint(public)
        key_type = _text(_pick(value, "type", "key_type", "algo", "algorithm"))
        if key_type is None and parts and parts[0].startswith(("ssh-", "ecdsa-", "sk-")):
            key_type = parts[0]
        return cls(
            id=key_id, name=name or "", fingerprint=fingerprint, key_type=key_type, raw=value
        )

    @classmethod
    def list_from_raw(cls, raw: Any) -> list[SshKey]:
        entries = _collection(
            raw, ("list", "keys", "sshkeys", "sshkey", "data"), ("id",), "sshkey.list"
        )
        return _parse_items(entries, cls.from_entry, "sshkey.list")


# --------------------------------------------------------------------------- services

_SERVICE_ID_FIELDS = ("id", "serviceid", "service_id", "sid")
_SERVICE_NAME_FIELDS = (
    "name",
    "productname",
    "product",
    "groupname",
    "domain",
    "title",
    "hostname",
)


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    status: str | None
    ip: str | None
    order_id: str | None
    # Scalar fields as text, secrets left out (they stay in raw): for debugging and tests, the
    # card shows only the known fields below.
    fields: dict[str, str]
    product: str | None = None
    domain: str | None = None
    billing_cycle: str | None = None
    # Dates as the provider wrote them ("2026-12-10"); the screens format them.
    registered: str | None = None
    next_due: str | None = None
    # What each billing cycle costs, in ``currency`` when the answer names one.
    amount: str | None = None
    currency: str | None = None
    raw: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_entry(
        cls, key: str | None, value: Any, *, fallback_id: str | None = None
    ) -> Service | None:
        if not isinstance(value, dict):
            return None
        service_id = _id(_pick(value, *_SERVICE_ID_FIELDS)) or key or fallback_id
        if not service_id:
            return None
        fields: dict[str, str] = {}
        for name, item in value.items():
            if is_secret_name(name) or isinstance(item, dict | list | type(None)):
                continue
            fields[str(name)] = str(item).lower() if isinstance(item, bool) else str(item)
        return cls(
            id=service_id,
            name=_text(_pick(value, *_SERVICE_NAME_FIELDS)) or "",
            status=_text(_pick(value, "status", "domainstatus", "state")),
            ip=_text(_pick(value, "dedicatedip", "ip", "ipaddress", "main_ip")),
            order_id=_id(_pick(value, "orderid", "order_id")),
            fields=fields,
            product=_text(_pick(value, "productname", "product", "name", "groupname")),
            domain=_text(_pick(value, "domain", "hostname")),
            billing_cycle=_text(_pick(value, "billingcycle", "billing_cycle", "cycle")),
            registered=_date(_pick(value, "regdate", "reg_date", "registrationdate", "created")),
            next_due=_date(
                _pick(value, "nextduedate", "next_due_date", "nextinvoicedate", "duedate")
            ),
            amount=_money(_pick(value, "recurringamount", "recurring_amount", "amount", "price")),
            currency=_currency(_pick(value, *_CURRENCY_FIELDS)),
            raw=value,
        )

    @classmethod
    def from_raw(cls, raw: Any, *, service_id: str | None = None) -> Service:
        data = _require_dict(raw, "getService")
        inner = _pick(data, "service", "services", "product")
        if isinstance(inner, list):
            inner = next((item for item in inner if isinstance(item, dict)), None)
        if isinstance(inner, dict) and len(inner) == 1:
            # {"service": {"123": {...}}}: keyed by id.
            (only_key, only_value), *_ = inner.items()
            if isinstance(only_value, dict):
                service = cls.from_entry(str(only_key), only_value, fallback_id=service_id)
                if service is not None:
                    return service
        if not isinstance(inner, dict):
            inner = {k: v for k, v in data.items() if str(k).lower() not in _ENVELOPE_FIELDS}
        service = cls.from_entry(None, inner, fallback_id=service_id) if inner else None
        if service is None:
            raise UnreadableAnswer("getService: no service in the answer")
        return service

    @classmethod
    def list_from_raw(cls, raw: Any) -> list[Service]:
        entries = _collection(
            raw,
            ("services", "service", "products", "product", "list", "data"),
            _SERVICE_ID_FIELDS,
            "services",
        )
        return _parse_items(entries, cls.from_entry, "services")
