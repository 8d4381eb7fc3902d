"""A stateful local simulator of the Inferno client API (see docs/inferno-api.md, "The simulator").

The real API cannot be reached from our machines, so the tests and the bot's demo mode talk HTTP
to this server instead. It reproduces the documented shapes (including the PHP ``print_r`` answers
of ``install``), per-customer isolation, money and order states, installs that take time, and
switchable faults. It is standalone on purpose (aiohttp + stdlib): it must not share parsing code
with the client it is used to test.

Run it by hand with ``python -m bot.inferno.simulator --port 8088``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import datetime as _dt
import hashlib
import hmac
import json
import logging
import random
import re
import string
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import Any, Final

from aiohttp import web

__all__ = [
    "DEMO_CID",
    "DEMO_EMAIL",
    "DEMO_KEY",
    "DEMO_PASSWORD",
    "Customer",
    "Faults",
    "Order",
    "Product",
    "Reply",
    "Request",
    "Server",
    "Simulator",
    "SimulatorServer",
    "SshKey",
    "main",
    "run_simulator",
]

log = logging.getLogger(__name__)

API_PATH: Final = "/api_client.php"
# How many of the latest calls ``Simulator.requests`` keeps.
REQUEST_LOG_LIMIT: Final = 10_000

DEMO_EMAIL: Final = "demo@example.com"
DEMO_PASSWORD: Final = "demo"
DEMO_CID: Final = 777
DEMO_KEY: Final = "demo-key-0000000000000000000000000"
DEMO_IP: Final = "37.1.0.111"

STATE_RUNNING: Final = "Включен"
STATE_STOPPED: Final = "Выключен"
STATE_INSTALLING: Final = "Создается"

# Error codes of the install/reinstall answers. 904 is documented; the others are ours, chosen
# next to it so a client that only knows "fail + code" handles them the same way.
ERR_ORDER_NOT_FOUND: Final = 901
ERR_ORDER_NOT_ACTIVE: Final = 902
ERR_VPS_NOT_FOUND: Final = 903
ERR_VPS_EXISTS: Final = 904
ERR_UNKNOWN_TEMPLATE: Final = 905
ERR_UNKNOWN_SSHKEY: Final = 906
ERR_VPS_BUSY: Final = 907

# Long enough to outlast any client timeout, short enough that a forgotten task cannot live forever.
_HANG_SECONDS: Final = 3600.0

_CLOUDFLARE_PAGE: Final = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
    '<div id="cf-wrapper"><h1>Checking your browser before accessing cp.inferno.name</h1>'
    '<form id="challenge-form" action="/api_client.php?__cf_chl_f_tk=abc" method="POST">'
    '<input type="hidden" name="cf-chl" value="0"></form></div></body></html>'
)
_WHITELIST_PAGE: Final = (
    "<!DOCTYPE html><html><head><title>403 Forbidden</title></head><body>"
    "<h1>Forbidden</h1><p>Access denied: your IP address is not in the whitelist</p>"
    "</body></html>"
)
_HTTP_500_PAGE: Final = (
    "<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head><body>"
    "<h1>Internal Server Error</h1></body></html>"
)
_MALFORMED_JSON: Final = '{"result":"success","balance":"12'
# What PHP prints before the answer when a notice is not silenced: the call has been carried out.
_PHP_WARNING: Final = (
    '<br />\n<b>Warning</b>:  Undefined array key "lang" in <b>/var/www/cp/api_client.php</b>'
    " on line <b>42</b><br />\n"
)

_KEY_ALPHABET: Final = string.ascii_letters + string.digits + "-_"
_PASSWORD_ALPHABET: Final = string.ascii_letters + string.digits

_SSH_KEY_RE: Final = re.compile(
    r"^(?P<type>ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp(?:256|384|521)"
    r"|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)"
    r"\s+(?P<body>[A-Za-z0-9+/]+={0,2})(?:\s+(?P<comment>.*))?$"
)

_BASE_TEMPLATES: Final[dict[str, str | None]] = {
    "debian12": "Debian 12",
    "debian11": "Debian 11",
    "ubuntu2204": "Ubuntu 22.04",
    "ubuntu2404": "Ubuntu 24.04",
    "centos7-64-default": "CentOS 7",
    "almalinux9": "AlmaLinux 9",
    "rockylinux9": "Rocky Linux 9",
    "alpine319": "Alpine 3.19",
}


def _many_templates() -> dict[str, str | None]:
    """45 templates: enough to need paging in a keyboard, with awkward names and missing titles."""
    templates = dict(_BASE_TEMPLATES)
    templates.update(
        {
            "ubuntu2204-docker-ce-portainer-and-traefik-reverse-proxy-preinstalled": (
                "Ubuntu 22.04 with Docker CE, Portainer and Traefik reverse proxy preinstalled"
            ),
            "debian12-lamp-apache2-mariadb-php83-phpmyadmin-letsencrypt-certbot": (
                "Debian 12 LAMP (Apache 2, MariaDB, PHP 8.3, phpMyAdmin, Let's Encrypt certbot)"
            ),
            "windows-server-2022-datacenter-evaluation-english-64bit-rdp-enabled": None,
            "freebsd14": None,
            "archlinux-latest": None,
            "gentoo-stage3": None,
        }
    )
    distros = [
        ("debian", "Debian", ["10", "13"]),
        ("ubuntu", "Ubuntu", ["2004", "2410", "2504"]),
        ("centos", "CentOS Stream", ["8", "9", "10"]),
        ("almalinux", "AlmaLinux", ["8", "10"]),
        ("rockylinux", "Rocky Linux", ["8", "10"]),
        ("oraclelinux", "Oracle Linux", ["8", "9"]),
        ("fedora", "Fedora", ["40", "41", "42"]),
        ("opensuse", "openSUSE Leap", ["155", "156"]),
        ("alpine", "Alpine", ["318", "320", "321"]),
    ]
    for slug, title, versions in distros:
        for version in versions:
            templates[f"{slug}{version}"] = f"{title} {version}"
    for extra in ("debian12-docker", "ubuntu2404-docker", "ubuntu2404-lemp", "debian12-minimal"):
        templates[extra] = extra.replace("-", " ").title()
    templates["ubuntu2404-gitlab"] = None
    templates["debian12-wireguard"] = None
    templates["ubuntu2204-outline-vpn"] = None
    templates["debian12-nextcloud-hub-with-collabora-online-office-and-redis-cache"] = None
    templates["rockylinux9-cpanel-whm"] = "Rocky Linux 9 + cPanel/WHM"
    assert len(templates) == 45, len(templates)
    return templates


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    price: Decimal
    description: str


_PRODUCTS: Final = (
    Product("101", "VPS Start", Decimal("5.00"), "1 vCPU, 1 GB RAM, 20 GB NVMe"),
    Product("102", "VPS Pro", Decimal("12.00"), "2 vCPU, 4 GB RAM, 60 GB NVMe"),
    Product("103", "Dedicated XL", Decimal("500.00"), "2x Xeon Gold, 256 GB RAM, 4x 3.84 TB NVMe"),
)


@dataclass
class Faults:
    """Fault switches, checked at the start of every request in the order of the fields."""

    whitelist_denied: bool = False
    http_500_next: int = 0
    timeout_next: int = 0
    html_next: int = 0
    malformed_next: int = 0
    # Unlike the faults above, the call is carried out, and then a PHP warning page comes
    # before its answer: an answer that cannot be read for work that was done.
    warning_next: int = 0
    # When set, the faults above hit only this action ("create", say); other calls go through.
    only_action: str | None = None
    latency: float = 0.0
    # Each call waits latency × (1 ± up to this fraction). A real network never answers calls
    # sent together at the same instant; without jitter they come back in lockstep.
    latency_jitter: float = 0.0
    # Not a transport fault: a provider bug in which ``getinfo`` by IP finds the server among
    # every customer's, not only the caller's. The bot must not show what such an answer names.
    ip_lookup_any_account: bool = False
    # The answers of this action wait, after the call was carried out, until release_held()
    # (or the server stops): a provider that did the work but whose answer is late.
    hold_action: str | None = None
    released: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def clear(self) -> None:
        self.whitelist_denied = False
        self.http_500_next = self.timeout_next = self.html_next = self.malformed_next = 0
        self.warning_next = 0
        self.latency = self.latency_jitter = 0.0
        self.only_action = None
        self.ip_lookup_any_account = False
        self.release_held()

    def hold(self, action: str) -> None:
        """Hold the answers of ``action`` from now on (see ``hold_action``)."""
        self.hold_action = action
        self.released.clear()

    def release_held(self) -> None:
        """Let every held answer go, and hold no more."""
        self.hold_action = None
        self.released.set()

    def delay(self, rng: random.Random) -> float:
        if self.latency <= 0:
            return 0.0
        spread = min(max(self.latency_jitter, 0.0), 1.0)
        return self.latency * (1 + rng.uniform(-spread, spread)) if spread else self.latency


@dataclass
class SshKey:
    id: int
    name: str
    key_type: str
    public_key: str = field(repr=False)
    fingerprint: str


@dataclass
class Server:
    """The VPS of an order. ``ip`` stays empty until the first install finishes."""

    main_id: int
    template: str
    ssh_key_ids: list[int]
    ready_at: float
    ip: str = ""
    password: str = field(default="", repr=False)
    powered: bool = False
    installing: bool = True

    @property
    def visible_ip(self) -> str:
        # While (re)installing the panel has no running VPS to report an address for.
        return "" if self.installing else self.ip

    @property
    def real_state(self) -> str:
        if self.installing:
            return STATE_INSTALLING
        return STATE_RUNNING if self.powered else STATE_STOPPED

    @property
    def online(self) -> bool:
        return not self.installing and self.powered

    @property
    def vps_name(self) -> str:
        return self.visible_ip.replace(".", "-")


@dataclass
class Order:
    id: int
    ordernum: str
    amount: Decimal
    invoice_id: int
    service_id: int
    product_id: str
    product_name: str
    status: str
    date: datetime
    server: Server | None = None
    # More fields for this order's service in services/getService answers (what a real
    # billing panel may add: custom fields, a VNC password…); they override the standard ones.
    service_extra: dict[str, Any] = field(default_factory=dict)
    # The service's billing, which a test may move: the next due date (None: 30 days after the
    # order), the billing cycle, and its status (None: the order's).
    next_due: _dt.date | None = None
    billing_cycle: str = "Monthly"
    service_status: str | None = None
    # False: the orders answer gives no date for it (some panels leave it out), so the bot
    # can only count from when it first saw the order.
    date_shown: bool = True


@dataclass
class Customer:
    cid: int
    email: str
    password: str = field(repr=False)
    key: str = field(repr=False)
    balance: Decimal
    orders: list[Order] = field(default_factory=list)
    ssh_keys: list[SshKey] = field(default_factory=list)

    def order(self, order_id: int | str) -> Order | None:
        wanted = _as_int(order_id)
        return next((o for o in self.orders if o.id == wanted), None)

    def ssh_key(self, key_id: int | str) -> SshKey | None:
        wanted = _as_int(key_id)
        return next((k for k in self.ssh_keys if k.id == wanted), None)


@dataclass(frozen=True)
class Request:
    """One call as the simulator received it: the action and its parameters, the key left out
    (it may come as a ``key`` parameter too)."""

    action: str
    params: Mapping[str, str]

    def names(self, value: str) -> bool:
        """Whether any parameter is exactly ``value`` (an order id, an IP address…)."""
        return value in self.params.values()


class _Rejected(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Reply:
    body: str
    status: int = 200
    content_type: str = "application/json"


def _as_int(value: object) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):f}"


def _json(payload: Mapping[str, Any]) -> Reply:
    # PHP's json_encode escapes non-ASCII by default; clients must decode \uXXXX either way.
    return Reply(json.dumps(payload))


def _fail(message: str, code: int | None = None) -> Reply:
    payload: dict[str, Any] = {"result": "fail", "message": message}
    if code is not None:
        payload["error_code"] = code
    return _json(payload)


def _ok(message: str | None = None, **extra: Any) -> Reply:
    payload: dict[str, Any] = {"result": "success"}
    if message is not None:
        payload["message"] = message
    payload.update(extra)
    return _json(payload)


def _print_r(text: str) -> Reply:
    return Reply(text, content_type="text/html")


def _print_r_fail(message: str, code: int) -> Reply:
    return _print_r(
        f"Array ( [method] => createVPS [result] => fail [msg] => {message} "
        f"[error_code] => {code} )"
    )


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _param_text(value: Any) -> str:
    """Flatten a JSON value the way PHP code reading ``$_REQUEST`` strings would see it."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ",".join(_param_text(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _fingerprint(blob: bytes) -> str:
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def make_public_key(seed: int | str, key_type: str = "ssh-ed25519", comment: str = "") -> str:
    """A syntactically valid OpenSSH public key line (for demo data and tests)."""
    type_bytes = key_type.encode()
    material = hashlib.sha256(f"{key_type}:{seed}".encode()).digest()
    blob = (
        len(type_bytes).to_bytes(4, "big")
        + type_bytes
        + len(material).to_bytes(4, "big")
        + material
    )
    line = f"{key_type} {base64.b64encode(blob).decode()}"
    return f"{line} {comment}" if comment else line


Handler = Callable[[Customer, Mapping[str, str]], Reply]


class Simulator:
    """All state of the simulated provider. Not thread-safe: use it from one event loop."""

    def __init__(
        self, install_delay: float = 5.0, many_templates: bool = False, seed: int = 0
    ) -> None:
        self.install_delay = install_delay
        self.faults = Faults()
        self.calls: Counter[str] = Counter()
        # The latest calls with their parameters, for tests that must prove what the provider
        # was (not) asked; bounded so that a long demo run does not grow it without end.
        self.requests: deque[Request] = deque(maxlen=REQUEST_LOG_LIMIT)
        # Installs and reinstalls that really ran (``run=1``); ``calls`` counts dry runs too.
        self.runs: Counter[str] = Counter()
        self.in_flight = 0
        # Answers carried out and waiting for Faults.release_held().
        self.held = 0
        self.peak_in_flight = 0
        self.templates: dict[str, str | None] = (
            _many_templates() if many_templates else dict(_BASE_TEMPLATES)
        )
        self.products: dict[str, Product] = {p.id: p for p in _PRODUCTS}
        # Statuses the ``orders`` answer leaves out. The docs list only active and unpaid
        # orders there; a test can hide more (a suspended one, found only among the services).
        self.orders_hidden: set[str] = {"Cancelled", "Fraud", "Terminated"}
        # What balance answers name (None: no currency field, as the docs leave open).
        self.currency: str | None = "USD"
        # What plan, order and service answers name as their currency (None: none, as in the
        # docs' examples, so amounts take the balance's currency).
        self.answer_currency: str | None = None
        self.customers: dict[int, Customer] = {}
        self._rng = random.Random(seed)
        # Its own stream, so jitter does not change the keys and passwords a seed gives.
        self.latency_rng = random.Random(f"latency:{seed}")
        self._next_cid = 1001
        self._order_seq = 0
        # First key gets id 7, as in the documented sshkey.list example.
        self._ssh_key_seq = 6
        self._main_id_seq = 21967
        self._ip_seq = 111
        self._used_ips: set[str] = set()
        self._handlers: dict[str, Handler] = {
            "balance": self._balance,
            "create": self._create,
            "orders": self._orders,
            "cancel": self._cancel,
            "install": self._install,
            "reinstall": self._reinstall,
            "getinfo": self._getinfo,
            "reboot": self._reboot,
            "stop": self._stop,
            "boot": self._boot,
            "sshkey.add": self._sshkey_add,
            "sshkey.list": self._sshkey_list,
            "sshkey.remove": self._sshkey_remove,
            "services": self._services,
            "getService": self._get_service,
        }

    # ------------------------------------------------------------------ test and demo helpers

    def add_customer(
        self,
        email: str,
        password: str,
        *,
        balance: str = "100.00",
        cid: int | None = None,
        key: str | None = None,
    ) -> Customer:
        if cid is None:
            while self._next_cid in self.customers:
                self._next_cid += 1
            cid = self._next_cid
            self._next_cid += 1
        elif cid in self.customers:
            raise ValueError(f"customer {cid} already exists")
        customer = Customer(
            cid=cid,
            email=email,
            password=password,
            key=key if key is not None else self._new_api_key(),
            balance=Decimal(balance),
        )
        self.customers[cid] = customer
        return customer

    def demo(self) -> Customer:
        """The demo account: a running server, an unpaid order and one SSH key. Idempotent."""
        existing = self.customers.get(DEMO_CID)
        if existing is not None and existing.email == DEMO_EMAIL:
            return existing
        customer = self.add_customer(
            DEMO_EMAIL, DEMO_PASSWORD, balance="50.00", cid=DEMO_CID, key=DEMO_KEY
        )
        laptop = self._add_ssh_key(customer, make_public_key("demo-laptop", comment="demo@laptop"))
        laptop.name = "laptop"
        # The running server was "paid earlier": the demo balance stays at 50.00.
        active = self._new_order(customer, self.products["101"], "Active")
        server = self._new_server("debian12", [laptop.id], ready_at=0.0)
        server.ip = DEMO_IP
        self._used_ips.add(DEMO_IP)
        active.server = server
        self._settle(server)
        # Due in two days: the demo's first account check shows a renewal alert.
        active.next_due = _dt.date.today() + timedelta(days=2)
        self._new_order(customer, self.products["103"], "Pending")
        return customer

    def set_power(self, order_id: int | str, powered: bool) -> None:
        """Power a server off or on behind the bot's back (an outage, the panel)."""
        for customer in self.customers.values():
            order = customer.order(order_id)
            if order is not None and order.server is not None:
                self._settle(order.server)
                order.server.powered = powered
                return
        raise KeyError(f"no server for order {order_id}")

    def complete_installs(self) -> None:
        """Let every queued install or reinstall finish now."""
        for customer in self.customers.values():
            for order in customer.orders:
                if order.server is not None and order.server.installing:
                    order.server.ready_at = 0.0
                    self._settle(order.server)

    def add_funds(self, customer: Customer, amount: str, *, pay_pending: bool = True) -> None:
        """Top up a balance; like the provider's billing, unpaid orders are then paid if covered."""
        customer.balance += Decimal(amount)
        if not pay_pending:
            return
        for order in customer.orders:
            if order.status == "Pending" and customer.balance >= order.amount:
                customer.balance -= order.amount
                order.status = "Active"

    def reset_counters(self) -> None:
        self.calls.clear()
        self.requests.clear()
        self.runs.clear()
        self.peak_in_flight = self.in_flight

    # ------------------------------------------------------------------ request handling

    def handle(self, action: str, params: Mapping[str, str], key: str | None) -> Reply:
        """Answer one API call (faults are the HTTP layer's business, not this one's)."""
        if action == "list":
            return self._list()
        if action == "getApiKey":
            return self._get_api_key(params)
        handler = self._handlers.get(action)
        if handler is None:
            return _fail("Unknown action")
        customer = self._authenticate(params.get("cid"), key)
        if customer is None:
            return _fail("Invalid API key")
        return handler(customer, params)

    def _authenticate(self, cid: str | None, key: str | None) -> Customer | None:
        customer_id = _as_int(cid) if cid is not None else None
        if customer_id is None or not key:
            return None
        customer = self.customers.get(customer_id)
        if customer is None:
            return None
        # Constant-time comparison: the simulator should not model a key oracle.
        if not hmac.compare_digest(customer.key.encode(), key.encode()):
            return None
        return customer

    def _list(self) -> Reply:
        ostpls = {
            name: (None if title is None else {"title": title})
            for name, title in self.templates.items()
        }
        products = {
            p.id: {
                "name": p.name,
                "price": _money(p.price),
                "description": p.description,
                **self._named_currency(),
            }
            for p in self.products.values()
        }
        return _ok(ostpls=ostpls, products=products)

    def _get_api_key(self, params: Mapping[str, str]) -> Reply:
        email = params.get("email", "").strip().lower()
        password = params.get("pass", "")
        for customer in self.customers.values():
            if customer.email.lower() == email and hmac.compare_digest(
                customer.password.encode(), password.encode()
            ):
                if _truthy(params.get("generate")):
                    customer.key = self._new_api_key()
                return _ok(cid=customer.cid, key=customer.key)
        return _fail("Invalid email or password")

    def _balance(self, customer: Customer, params: Mapping[str, str]) -> Reply:
        if self.currency is None:
            return _ok(balance=_money(customer.balance))
        return _ok(balance=_money(customer.balance), currency=self.currency)

    def _create(self, customer: Customer, params: Mapping[str, str]) -> Reply:
        product = self.products.get(params.get("pid", "").strip())
        if product is None:
            return _fail("Product not found")
        if customer.balance >= product.price:
            customer.balance -= product.price
            status = "Active"
        else:
            status = "Pending"
        order = self._new_order(customer, product, status)
        log.info("simulator: customer %s created order %s (%s)", customer.cid, order.id, status)
        return _ok(orderid=order.id, invoiceid=order.invoice_id, productids=str(order.service_id))

    def _orders(self, customer: Customer, params: Mapping[str, str]) -> Reply:
        hidden = self.orders_hidden
        orders = {
            str(o.id): {
                "id": str(o.id),
                "ordernum": o.ordernum,
                "amount": _money(o.amount),
                "invoiceid": str(o.invoice_id),
                "status": o.status,
                "product": o.product_name,
                **({"date": o.date.strftime("%Y-%m-%d %H:%M:%S")} if o.date_shown else {}),
                **self._named_currency(),
            }
            for o in customer.orders
            if o.status not in hidden
        }
        return _ok(orders=orders)

    def _cancel(self, customer: Customer, params: Mapping[str, str]) -> Reply:
        order = customer.order(params.get("orderid", ""))
        if order is None or order.status != "Pending":
            return _fail("Order ID not found or Status not Pending")
        order.status = "Cancelled"
        return _ok()

    def _check_install(
        self, customer: Customer, params: Mapping[str, str]
    ) -> tuple[Order, str, list[int]]:
        """Validation shared by install and reinstall; raises :class:`_Rejected`."""
        order = customer.order(params.get("orderid", ""))
        if order is None:
            raise _Rejected("Order not found", ERR_ORDER_NOT_FOUND)
        if order.status != "Active":
            raise _Rejected("Order not active", ERR_ORDER_NOT_ACTIVE)
        template = params.get("ostpl", "").strip()
        if template not in self.templates:
            raise _Rejected("Unknown template", ERR_UNKNOWN_TEMPLATE)
        key_ids: list[int] = []
        for raw in params.get("sshkey_ids", "").split(","):
            if not raw.strip():
                continue
            key = customer.ssh_key(raw)
            if key is None:
                raise _Rejected(f"Unknown SSH key id: {raw.strip()}", ERR_UNKNOWN_SSHKEY)
            key_ids.append(key.id)
        return order, template, key_ids

    def _install(self, customer: Customer, params: Mapping[str, str]) -> Reply:
        order = customer.order(params.get("orderid", ""))
        if order is not None and order.status == "Active" and order.server is not None:
            return _print_r_fail(
                f"Vps exists with current main_id ({order.server.main_id}) , W:{order.id}",
                ERR_VPS_EXISTS,
            )
        try:
            order, template, key_ids = self._check_install(customer, params)
        except _Rejected as rejected:
            return _print_r_fail(rejected.message, rejected.code)
        if not _truthy(params.get("run")):
            return _print_r(
                "Array ( [method] => createVPS [result] => success [msg] => parameters OK "
                "[error_code] => 0 )"
            )
        order.server = self._new_server(template, key_ids, time.monotonic() + self.install_delay)
        self._settle(order.server)
        self.runs["install"] += 1
        log.info("simulator: install queued for order %s (%s)", order.id, template)
        # Verbatim the documented success dump, which (unlike the fail one) has no outer Array.
        return _print_r(
            "[method] => createVPS [result] => success [msg] => ok [retx] => Array ( "
            "[result] => success [msg] => VSCD: VPS added to queue [error_code] => 0 )"
        )

    def _reinstall(self, customer: Customer, params: Mapping[str, str]) -> Reply:
        try:
            order, template, key_ids = self._check_install(customer, params)
        except _Rejected as rejected:
            return _fail(rejected.message, rejected.code)
        server = order.server
        if server is None:
            return _fail("VPS not found", ERR_VPS_NOT_FOUND)
        self._settle(server)
        if server.installing:
            return _fail("VPS installation is in progress", ERR_VPS_BUSY)
        if not _truthy(params.get("run")):
            return _ok("parameters OK")
        server.template = template
        server.ssh_key_ids = key_ids
        server.installing = True
        server.powered = False
        server.password = ""
        server.ready_at = time.monotonic() + self.install_delay
        self._settle(server)
        self.runs["reinstall"] += 1
        log.info("simulator: reinstall queued for order %s (%s)", order.id, template)
        return _ok("VPS reinstall queued")

    def _getinfo(self, customer: Customer, params: Mapping[str, str]) -> Reply:
        raw_id = params.get("orderid", "").strip()
        ip = params.get("ip", "").strip()
        order: Order | None
        if raw_id in {"", "0"} and ip:
            searched = (
                list(self.customers.values()) if self.faults.ip_lookup_any_account else [customer]
            )
            order = next(
                (
                    o
                    for c in searched
                    for o in c.orders
                    if o.server is not None and o.server.ip == ip
                ),
                None,
            )
        else:
            order = customer.order(raw_id)
        if order is None:
            return _fail("Order not found")
        vps_info: dict[str, Any]
        server = order.server
        if server is None:
            vps_info = {"result": "fail", "message": "VPS not found"}
        else:
            self._settle(server)
            vps_info = {
                "result": "success",
                "message": "",
                "main_id": str(server.main_id),
                "vps_name": server.vps_name,
                "ip": server.visible_ip,
                "real_state": server.real_state,
                "vps_password": server.password,
                "online": server.online,
            }
        return _ok(
            orderid=order.id,
            orderStatus=order.status,
            productStatus=order.status,
            dedicatedip="",
            vps_info=vps_info,
        )

    def _reboot(self, customer: Customer, params: Mapping[str, str]) -> Reply:
        return self._power(customer, params, "reboot")

    def _stop(self, customer: Customer, params: Mapping[str, str]) -> Reply:
        return self._power(customer, params, "stop")

    def _boot(self, customer: Customer, params: Mapping[str, str]) -> Reply:
        return self._power(customer, params, "boot")

    def _power(self, customer: Customer, params: Mapping[str, str], action: str) -> Reply:
        order = customer.order(params.get("orderid", ""))
        if order is None:
            return _fail("Order not found")
        if order.status != "Active":
            return _fail("Order not active")
        server = order.server
        if server is None:
            return _fail("VPS not found")
        self._settle(server)
        if server.installing:
            return _fail("VPS installation is in progress")
        if action == "stop":
            server.powered = False
            return _ok("VPS stopped")
        server.powered = True
        return _ok("VPS rebooted" if action == "reboot" else "VPS started")

    def _sshkey_add(self, customer: Customer, params: Mapping[str, str]) -> Reply:
        line = " ".join(params.get("sshkey", "").split())
        if _parse_public_key(line) is None:
            return _fail("Invalid SSH key")
        key = self._add_ssh_key(customer, line)
        name = params.get("name", "").strip()
        if name:
            key.name = name
        return _ok("SSH key added")

    def _sshkey_list(self, customer: Customer, params: Mapping[str, str]) -> Reply:
        return _ok(
            list=[
                {"id": k.id, "name": k.name, "fingerprint": k.fingerprint, "type": k.key_type}
                for k in customer.ssh_keys
            ]
        )

    def _sshkey_remove(self, customer: Customer, params: Mapping[str, str]) -> Reply:
        key = customer.ssh_key(params.get("id", ""))
        if key is None:
            return _fail("SSH key not found")
        customer.ssh_keys.remove(key)
        return _ok("SSH key removed")

    def _service_view(self, order: Order) -> dict[str, Any]:
        ip = ""
        if order.server is not None:
            self._settle(order.server)
            ip = order.server.visible_ip
        return {
            "id": str(order.service_id),
            "name": order.product_name,
            "status": order.service_status or order.status,
            "ip": ip,
            "orderid": str(order.id),
            "regdate": order.date.strftime("%Y-%m-%d"),
            "nextduedate": (order.next_due or (order.date + timedelta(days=30)).date()).strftime(
                "%Y-%m-%d"
            ),
            "amount": _money(order.amount),
            "billingcycle": order.billing_cycle,
            **self._named_currency(),
            **order.service_extra,
        }

    def _services(self, customer: Customer, params: Mapping[str, str]) -> Reply:
        services = {str(o.service_id): self._service_view(o) for o in customer.orders}
        return _ok(services=services)

    def _get_service(self, customer: Customer, params: Mapping[str, str]) -> Reply:
        wanted = _as_int(params.get("serviceid", ""))
        order = next((o for o in customer.orders if o.service_id == wanted), None)
        if order is None:
            return _fail("Service not found")
        return _ok(service=self._service_view(order))

    # ------------------------------------------------------------------ internals

    def _named_currency(self) -> dict[str, str]:
        return {} if self.answer_currency is None else {"currency": self.answer_currency}

    def _new_api_key(self) -> str:
        taken = {c.key for c in self.customers.values()}
        while True:
            key = "".join(self._rng.choice(_KEY_ALPHABET) for _ in range(32))
            if key not in taken:
                return key

    def _new_vps_password(self) -> str:
        return "".join(self._rng.choice(_PASSWORD_ALPHABET) for _ in range(16))

    def _new_order(self, customer: Customer, product: Product, status: str) -> Order:
        self._order_seq += 1
        n = self._order_seq
        order = Order(
            id=47000 + n,
            ordernum=str(8634530000 + n),
            amount=product.price,
            invoice_id=366000 + n,
            service_id=49700 + n,
            product_id=product.id,
            product_name=product.name,
            status=status,
            date=datetime.now().replace(microsecond=0),
        )
        customer.orders.append(order)
        return order

    def _new_server(self, template: str, key_ids: list[int], ready_at: float) -> Server:
        self._main_id_seq += 1
        return Server(
            main_id=self._main_id_seq, template=template, ssh_key_ids=key_ids, ready_at=ready_at
        )

    def _new_ip(self) -> str:
        while True:
            self._ip_seq += 1
            high, low = divmod(self._ip_seq, 256)
            ip = f"37.1.{high % 256}.{low}"
            if low not in {0, 255} and ip not in self._used_ips:
                self._used_ips.add(ip)
                return ip

    def _add_ssh_key(self, customer: Customer, line: str) -> SshKey:
        parsed = _parse_public_key(line)
        assert parsed is not None
        key_type, blob, comment = parsed
        self._ssh_key_seq += 1
        key = SshKey(
            id=self._ssh_key_seq,
            name=comment or f"key-{self._ssh_key_seq}",
            key_type=key_type,
            public_key=line,
            fingerprint=_fingerprint(blob),
        )
        customer.ssh_keys.append(key)
        return key

    def _settle(self, server: Server) -> None:
        """Finish an install whose time has come; done lazily whenever a server is looked at."""
        if server.installing and time.monotonic() >= server.ready_at:
            server.installing = False
            server.powered = True
            server.password = self._new_vps_password()
            if not server.ip:
                server.ip = self._new_ip()


def _parse_public_key(line: str) -> tuple[str, bytes, str] | None:
    match = _SSH_KEY_RE.match(line.strip())
    if match is None:
        return None
    try:
        blob = base64.b64decode(match["body"], validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(blob) < 16:
        return None
    return match["type"], blob, (match["comment"] or "").strip()


class SimulatorServer:
    """Serves a :class:`Simulator` over HTTP at ``/api_client.php``."""

    def __init__(self, sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()

    @property
    def url(self) -> str:
        if self._runner is None:
            raise RuntimeError("the simulator server is not started")
        return f"http://{self.host}:{self.port}{API_PATH}"

    async def start(self) -> None:
        if self._runner is not None:
            return
        app = web.Application()
        app.router.add_route("*", API_PATH, self._handle)
        # access_log=None: the access log would record query strings, which may hold a key.
        # handler_cancellation: a client that gave up on a hung call must free its handler.
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self.port = int(runner.addresses[0][1])
        self._closing.clear()
        self._runner = runner

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing.set()  # releases calls hung by the timeout fault
        await runner.cleanup()

    async def __aenter__(self) -> SimulatorServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        sim = self.sim
        sim.in_flight += 1
        sim.peak_in_flight = max(sim.peak_in_flight, sim.in_flight)
        try:
            params = await _read_params(request)
            action = request.query.get("action") or params.get("action", "")
            sim.calls[action] += 1
            sim.requests.append(
                Request(action, {name: v for name, v in params.items() if name != "key"})
            )
            delay = sim.faults.delay(sim.latency_rng)
            if delay > 0:
                await asyncio.sleep(delay)
            reply = await self._fault(action)
            if reply is None:
                key = request.headers.get("X-Key") or params.get("key")
                try:
                    reply = sim.handle(action, params, key)
                except Exception:
                    log.exception("simulator: action %s crashed", action)
                    reply = Reply(_HTTP_500_PAGE, status=500, content_type="text/html")
                reply = self._warned(action, reply)
                if sim.faults.hold_action == action:
                    await self._hold()
            return web.Response(
                text=reply.body, status=reply.status, content_type=reply.content_type
            )
        finally:
            sim.in_flight -= 1

    async def _hold(self) -> None:
        sim = self.sim
        sim.held += 1
        released = asyncio.ensure_future(sim.faults.released.wait())
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            await asyncio.wait(
                {released, closing}, timeout=_HANG_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            released.cancel()
            closing.cancel()
            sim.held -= 1

    async def _fault(self, action: str) -> Reply | None:
        faults = self.sim.faults
        if faults.only_action is not None and action != faults.only_action:
            return None
        if faults.whitelist_denied:
            return Reply(_WHITELIST_PAGE, status=403, content_type="text/html")
        if faults.http_500_next > 0:
            faults.http_500_next -= 1
            return Reply(_HTTP_500_PAGE, status=500, content_type="text/html")
        if faults.timeout_next > 0:
            faults.timeout_next -= 1
            log.info("simulator: hanging a %s call", action)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_HANG_SECONDS):
                    await self._closing.wait()
            return Reply(_HTTP_500_PAGE, status=504, content_type="text/html")
        if faults.html_next > 0:
            faults.html_next -= 1
            return Reply(_CLOUDFLARE_PAGE, content_type="text/html")
        if faults.malformed_next > 0:
            faults.malformed_next -= 1
            return Reply(_MALFORMED_JSON)
        return None

    def _warned(self, action: str, reply: Reply) -> Reply:
        faults = self.sim.faults
        if faults.warning_next <= 0 or faults.only_action not in (None, action):
            return reply
        faults.warning_next -= 1
        return Reply(_PHP_WARNING + reply.body, status=reply.status, content_type="text/html")


async def _read_params(request: web.Request) -> dict[str, str]:
    """Query string, then form fields, then a JSON object: later sources win."""
    params: dict[str, str] = dict(request.query)
    if request.method not in {"POST", "PUT", "PATCH"} or not request.can_read_body:
        return params
    if request.content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, str):
                params[name] = value
        return params
    body = await request.read()
    if not body.strip():
        return params
    try:
        data = json.loads(body)
    except ValueError:
        # PHP would simply see no parameters; the call then fails on its own terms.
        return params
    if isinstance(data, dict):
        params.update({str(k): _param_text(v) for k, v in data.items()})
    return params


async def run_simulator(
    host: str = "127.0.0.1",
    port: int = 8088,
    *,
    install_delay: float = 30.0,
    many_templates: bool = False,
) -> None:
    """Serve a simulator with the demo customer until cancelled."""
    sim = Simulator(install_delay=install_delay, many_templates=many_templates)
    demo = sim.demo()
    async with SimulatorServer(sim, host=host, port=port) as server:
        # Demo credentials are fake and meant to be pasted into the bot, hence printed.
        print(
            f"Inferno simulator on {server.url} | demo cid={demo.cid} key={demo.key} "
            f"email={demo.email} password={DEMO_PASSWORD}",
            flush=True,
        )
        await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bot.inferno.simulator", description="Local Inferno API simulator"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--install-delay", type=float, default=30.0)
    parser.add_argument("--many-templates", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            run_simulator(
                args.host,
                args.port,
                install_delay=args.install_delay,
                many_templates=args.many_templates,
            )
        )


if __name__ == "__main__":
    main()
