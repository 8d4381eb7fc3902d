"""Async client of the Inferno client API (``api_client.php``).

Every call is ``POST {base_url}?action=NAME`` with a JSON body; the API key travels only in the
``X-Key`` header so that it never lands in proxy or access logs. Answers are turned into the models
of :mod:`bot.inferno.models` or into the errors of :mod:`bot.inferno.errors`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import re
import ssl
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from types import TracebackType
from typing import Any, TypeVar, cast

import aiohttp
import certifi
from yarl import URL

from bot.inferno.errors import (
    AccessDenied,
    InfernoError,
    InvalidCredentials,
    ProviderFail,
    ProviderUnavailable,
    UnreadableAnswer,
)
from bot.inferno.models import (
    SECRET_TEXT_RE,
    ActionResult,
    Balance,
    Catalog,
    CreatedOrder,
    Credentials,
    InstallResult,
    Order,
    ServerInfo,
    Service,
    SshKey,
    failure_of,
    mask_secrets,
)
from bot.inferno.printr import PrintRError, parse_print_r

__all__ = ["READ_ACTIONS", "InfernoClient", "mask_secrets"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

# Only these are safe to repeat: a retried create could buy a second server, a retried
# reinstall could wipe one twice.
READ_ACTIONS = frozenset(
    {"list", "balance", "orders", "getinfo", "sshkey.list", "services", "getService"}
)

_MASK = "***"
# A fail envelope about the caller's address means the same as a 403: whitelist the server IP.
_ACCESS_RE = re.compile(
    r"white[ -]?list"
    r"|\bip\b.*\b(?:not allowed|denied|blocked|forbidden|not permitted)"
    r"|(?:not allowed|denied|blocked|forbidden)\b.*\bip\b",
    re.IGNORECASE,
)
_AUTH_RE = re.compile(
    r"auth|api[ _-]?key|invalid key|wrong key|bad key|email or password|login or password"
    r"|invalid (?:login|credentials|password|email)|wrong (?:login|password|email)",
    re.IGNORECASE,
)
_CLOUDFLARE_MARKERS = ("just a moment", "cf-chl", "cf_chl", "challenge-platform")
_LOG_LIMIT = 4000
# A read is tried again only while this share of the timeout is left: a provider that has just
# used up most of the budget is not going to answer a retry in the rest of it.
_RETRY_SHARE = 0.25


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, _MASK)
    return text


def _mask_text(text: str, secrets: Sequence[str]) -> str:
    text = SECRET_TEXT_RE.sub(lambda m: m.group(1) + _MASK, text)
    return _scrub(text, secrets)[:_LOG_LIMIT]


def _is_html(text: str) -> bool:
    lowered = text.lstrip().lower()
    return lowered.startswith("<") or "<html" in lowered or _is_cloudflare(lowered)


def _is_cloudflare(text: str) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in _CLOUDFLARE_MARKERS)


def _wire_id(value: str | int) -> str | int:
    # Ids go out as numbers when they are numbers, as the provider's docs show them. ASCII
    # digits only: "²" passes isdigit() and int() refuses it.
    text = value.strip() if isinstance(value, str) else None
    if text and text.isascii() and text.isdigit():
        return int(text)
    return value


# Accounts, each holding at most its orders and services (the catalog is one more).
_CACHE_LIMIT = 5_000


def _session(max_connections: int, connect_timeout: float) -> aiohttp.ClientSession:
    """aiohttp's client, which aiogram brings anyway: one stack for Telegram and the provider.

    Through httpx (even over this same pool) a provider call cost twice the CPU: 0.41–0.43
    against 0.21–0.22 ms (``bench/RESULTS.md``, "Round 5: what a served bot keeps"). All
    connections the pool may open are kept alive.
    """
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=max_connections, ssl=trusted_authorities()),
        # sock_connect, not connect: aiohttp counts the wait for a free pooled connection in
        # "connect", and a burst of slow calls would fail long before the whole-request limit.
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout),
        # Every call is a POST with a JSON body.
        headers={"Accept": "application/json, text/plain, */*", "Content-Type": "application/json"},
        # One session serves every customer: no cookie the provider (or a proxy in front of
        # it) set for one customer may ride along on another customer's request.
        cookie_jar=aiohttp.DummyCookieJar(),
        # Not trust_env: aiohttp would then read ~/.netrc in a thread on every request. The
        # proxy variables are looked up once instead (env_proxy).
    )


def trusted_authorities() -> ssl.SSLContext:
    """certifi's bundle, which aiogram trusts for Telegram, unless SSL_CERT_FILE or SSL_CERT_DIR
    name others (a hoster's private or intercepting CA), as OpenSSL and httpx honour them."""
    return _trust_store(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=4)
def _trust_store(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    # Loading a CA bundle costs about 40 ms of CPU; a context serves any number of sessions,
    # so every client built in one process (tests, the demo) shares it.
    if cafile and os.path.isfile(cafile):
        return ssl.create_default_context(cafile=cafile)
    if capath and os.path.isdir(capath):
        return ssl.create_default_context(capath=capath)
    return ssl.create_default_context(cafile=certifi.where())


def _text_of(body: bytes, charset: str | None) -> str:
    """The body as text: UTF-8 (what the API sends) unless the answer names another charset
    that Python can decode text with (not "base64", "rot13" or a name it does not know)."""
    if charset:
        try:
            return body.decode(charset, errors="replace")
        except (LookupError, UnicodeError):
            pass
    return body.decode("utf-8", errors="replace")


_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


def env_proxy(url: str) -> str | None:
    """The proxy that HTTPS_PROXY / HTTP_PROXY / ALL_PROXY (less NO_PROXY) set for ``url``;
    never one for this machine itself (the simulator), which no proxy could reach."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname
    if host is None or host in _LOOPBACK or urllib.request.proxy_bypass(host):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(parts.scheme) or proxies.get("all") or None


# (action, result): result is "ok" or the class name of the InfernoError the call ended with.
CallObserver = Callable[[str, str], None]


class InfernoClient:
    """One shared connection pool for every user; credentials are passed per call."""

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float = 5.0,
        timeout: float = 20.0,
        max_connections: int = 16,
        read_retries: int = 2,
        backoff: float = 0.3,
        cache_ttl: float = 0.0,
        observer: CallObserver | None = None,
    ) -> None:
        # Told of every call that reached for the provider (not cache hits): its action and
        # "ok" or the error's class name. The metrics count them; the client knows no more.
        self._observer = observer
        # Checked by the settings (bot.config) before a deployment gets here.
        self._base = URL(base_url)
        # One URL per action, built once rather than parsed again on every request.
        self._urls: dict[str, URL] = {}
        # Menus re-read the same lists on every tap; a few seconds of reuse saves most of the
        # provider calls. Only parameterless list reads are cached, and any write by an account
        # drops that account's entries, so the bot never shows a list older than its own action.
        self._cache_ttl = max(0.0, cache_ttl)
        # By account (None: the catalog), so a write drops its account's lists in one step;
        # then by action and key, so a list read with one key is never shown for another.
        self._cache: dict[int | None, dict[tuple[str, str | None], tuple[float, Any]]] = {}
        # forget() calls so far, per account (None: any account's, which the catalog follows).
        self._writes: Counter[int | None] = Counter()
        # Each account's currency as its last balance answer named it (None: named none); it
        # does not change, so every screen with an amount asks for it at most once.
        self._currencies: dict[int, str | None] = {}
        self._timeout = timeout
        self._read_retries = max(0, read_retries)
        self._backoff = max(0.0, backoff)
        proxy = env_proxy(base_url)
        self._proxy = URL(proxy) if proxy else None  # parsed once, not on every request
        self._max_connections = max_connections
        self._connect_timeout = min(connect_timeout, timeout)
        # Made on the first call: an aiohttp session belongs to the event loop it is made in.
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()

    def _http(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("the provider client is closed")
        if self._session is None:
            self._session = _session(self._max_connections, self._connect_timeout)
        return self._session

    async def __aenter__(self) -> InfernoClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ actions

    async def get_api_key(
        self, email: str, password: str, *, generate: bool = False
    ) -> Credentials:
        params = {"email": email, "pass": password, "generate": int(generate)}
        payload = await self._call("getApiKey", None, params, secrets=(password,))
        return self._parse("getApiKey", payload, Credentials.from_raw, (password,))

    async def list_catalog(self, *, fresh: bool = False) -> Catalog:
        """The plans and templates; ``fresh`` asks the provider even if a cached copy is there
        (before spending money at a price the user saw)."""
        if fresh:
            self._cache.get(None, {}).pop(("list", None), None)
        return await self._cached_read("list", None, Catalog.from_raw)

    async def balance(self, creds: Credentials) -> Balance:
        balance = await self._request("balance", creds, {}, Balance.from_raw)
        self._remember_currency(creds, balance.currency)
        return balance

    async def account_currency(self, creds: Credentials) -> str | None:
        """The currency the account's balance is kept in, for amounts whose answer names none:
        learnt from any balance answer, or asked for once. None when the provider names none
        or cannot be asked now (an amount is still worth showing without it)."""
        if creds.cid in self._currencies:
            return self._currencies[creds.cid]
        try:
            return (await self.balance(creds)).currency
        except InfernoError as exc:
            log.debug("inferno balance: no currency for cid=%s: %s", creds.cid, exc)
            return None

    def _remember_currency(self, creds: Credentials, currency: str | None) -> None:
        if currency is None and self._currencies.get(creds.cid) is not None:
            return  # an answer without the field does not forget a currency once named
        if creds.cid not in self._currencies and len(self._currencies) >= _CACHE_LIMIT:
            self._currencies.clear()
        # The alerts' pass reads every account's balance: each answer brings its own copy of
        # the same few codes, and thousands of them would stay here (about 50 bytes each).
        self._currencies[creds.cid] = None if currency is None else sys.intern(currency)

    async def create(self, creds: Credentials, product_id: str) -> CreatedOrder:
        params = {"pid": _wire_id(product_id)}
        return await self._request("create", creds, params, CreatedOrder.from_raw)

    async def orders(self, creds: Credentials, *, cache: bool = True) -> list[Order]:
        """``cache=False`` (background checks) asks the provider and keeps nothing: a pass over
        every account would otherwise fill the cache with lists no tap is going to read."""
        return list(await self._cached_read("orders", creds, Order.list_from_raw, cache=cache))

    async def cancel(self, creds: Credentials, order_id: str | int) -> ActionResult:
        return await self._action("cancel", creds, {"orderid": _wire_id(order_id)})

    async def install(
        self,
        creds: Credentials,
        order_id: str | int,
        template: str,
        sshkey_ids: Sequence[str | int] | str,
        *,
        run: bool,
    ) -> InstallResult:
        return await self._install("install", creds, order_id, template, sshkey_ids, run=run)

    async def reinstall(
        self,
        creds: Credentials,
        order_id: str | int,
        template: str,
        sshkey_ids: Sequence[str | int] | str,
        *,
        run: bool,
    ) -> InstallResult:
        return await self._install("reinstall", creds, order_id, template, sshkey_ids, run=run)

    async def get_info(self, creds: Credentials, order_id: str | int) -> ServerInfo:
        parse = partial(ServerInfo.from_raw, order_id=str(order_id))
        return await self._request("getinfo", creds, {"orderid": _wire_id(order_id)}, parse)

    async def get_info_by_ip(self, creds: Credentials, ip: str) -> ServerInfo:
        params = {"orderid": 0, "ip": ip}
        return await self._request("getinfo", creds, params, ServerInfo.from_raw)

    async def reboot(self, creds: Credentials, order_id: str | int) -> ActionResult:
        return await self._action("reboot", creds, {"orderid": _wire_id(order_id)})

    async def stop(self, creds: Credentials, order_id: str | int) -> ActionResult:
        return await self._action("stop", creds, {"orderid": _wire_id(order_id)})

    async def boot(self, creds: Credentials, order_id: str | int) -> ActionResult:
        return await self._action("boot", creds, {"orderid": _wire_id(order_id)})

    async def sshkey_add(
        self, creds: Credentials, public_key: str, name: str | None = None
    ) -> ActionResult:
        params: dict[str, Any] = {"sshkey": public_key.strip()}
        if name:
            params["name"] = name
        return await self._action("sshkey.add", creds, params)

    async def sshkey_list(self, creds: Credentials) -> list[SshKey]:
        return await self._request("sshkey.list", creds, {}, SshKey.list_from_raw)

    async def sshkey_remove(self, creds: Credentials, key_id: str | int) -> ActionResult:
        return await self._action("sshkey.remove", creds, {"id": _wire_id(key_id)})

    async def orders_and_services(self, creds: Credentials) -> tuple[list[Order], list[Service]]:
        """The two lists the server screens need: fetched side by side, or, when both are
        cached, read without starting a task for each."""
        if self.has_fresh("orders", creds) and self.has_fresh("services", creds):
            return await self.orders(creds), await self.services(creds)
        orders, services = await asyncio.gather(self.orders(creds), self.services(creds))
        return orders, services

    async def services(self, creds: Credentials, *, cache: bool = True) -> list[Service]:
        """``cache=False`` as for :meth:`orders`."""
        return list(await self._cached_read("services", creds, Service.list_from_raw, cache=cache))

    async def get_service(self, creds: Credentials, service_id: str | int) -> Service:
        parse = partial(Service.from_raw, service_id=str(service_id))
        return await self._request("getService", creds, {"serviceid": _wire_id(service_id)}, parse)

    # ------------------------------------------------------------------ plumbing

    async def _request(
        self, action: str, creds: Credentials, params: dict[str, Any], parser: Callable[[Any], _T]
    ) -> _T:
        """One call for an account, its answer read by ``parser``; the one place that makes sure
        the account's key is scrubbed from whatever an unreadable answer logs."""
        payload = await self._call(action, creds, params)
        return self._parse(action, payload, parser, (creds.key,))

    async def _action(
        self, action: str, creds: Credentials, params: dict[str, Any]
    ) -> ActionResult:
        return await self._request(action, creds, params, ActionResult.from_raw)

    async def _install(
        self,
        action: str,
        creds: Credentials,
        order_id: str | int,
        template: str,
        sshkey_ids: Sequence[str | int] | str,
        *,
        run: bool,
    ) -> InstallResult:
        ids = (
            sshkey_ids
            if isinstance(sshkey_ids, str)
            else ",".join(str(key_id).strip() for key_id in sshkey_ids)
        )
        params = {
            "orderid": _wire_id(order_id),
            "ostpl": template,
            "sshkey_ids": ids,
            "run": int(run),
        }
        return await self._request(action, creds, params, partial(InstallResult.from_raw, run=run))

    async def _call(
        self,
        action: str,
        creds: Credentials | None,
        params: dict[str, Any],
        *,
        secrets: Sequence[str] = (),
    ) -> Any:
        if self._cache_ttl and creds is not None and action not in READ_ACTIONS:
            self.forget(creds.cid)
            try:
                return await self._call_provider(action, creds, params, secrets)
            finally:
                # Also after: a read that overlapped the write may have cached the old state.
                self.forget(creds.cid)
        return await self._call_provider(action, creds, params, secrets)

    async def _cached_read(
        self,
        action: str,
        creds: Credentials | None,
        parser: Callable[[Any], _T],
        *,
        cache: bool = True,
    ) -> _T:
        """A parameterless list read, reused for ``cache_ttl`` seconds. The parsed models are
        kept (frozen dataclasses; callers get their own list), so an answer that could not be
        read is never kept and a cache hit costs no parsing. ``cache=False``: a plain read."""
        fresh = self._fresh(action, creds) if cache else None
        if fresh is not None:
            return cast(_T, fresh[1])
        secrets = (creds.key,) if creds is not None else ()
        account = creds.cid if creds is not None else None
        writes_before = self._writes[account]
        payload = await self._call_provider(action, creds, {}, secrets)
        value = self._parse(action, payload, parser, secrets)
        # A write while this read was out may have changed what it got: not worth keeping.
        if cache and self._cache_ttl and writes_before == self._writes[account]:
            self._remember(action, creds, value)
        return value

    def has_fresh(self, action: str, creds: Credentials | None) -> bool:
        """Whether a parameterless read of ``action`` would be answered from the cache now."""
        return self._fresh(action, creds) is not None

    def forget(self, cid: int) -> None:
        """Drops the cached lists of one account, and the shared catalog (after a write: a
        refused template or plan is the sign that the catalog changed)."""
        self._writes[cid] += 1
        self._writes[None] += 1
        self._cache.pop(cid, None)
        self._cache.pop(None, None)

    def _fresh(self, action: str, creds: Credentials | None) -> tuple[float, Any] | None:
        entries = self._cache.get(creds.cid if creds else None)
        cached = entries.get((action, creds.key if creds else None)) if entries else None
        return cached if cached is not None and cached[0] > time.monotonic() else None

    def _remember(self, action: str, creds: Credentials | None, value: Any) -> None:
        now = time.monotonic()
        cid = creds.cid if creds else None
        if cid not in self._cache and len(self._cache) >= _CACHE_LIMIT:
            for stale in [
                account
                for account, entries in self._cache.items()
                if all(until <= now for until, _ in entries.values())
            ]:
                del self._cache[stale]
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
        entries = self._cache.setdefault(cid, {})
        entries[(action, creds.key if creds else None)] = (now + self._cache_ttl, value)

    async def _call_provider(
        self,
        action: str,
        creds: Credentials | None,
        params: dict[str, Any],
        secrets: Sequence[str],
    ) -> Any:
        if self._observer is None:
            return await self._call_with_retries(action, creds, params, secrets)
        try:
            payload = await self._call_with_retries(action, creds, params, secrets)
        except InfernoError as exc:
            self._observer(action, type(exc).__name__)
            raise
        self._observer(action, "ok")
        return payload

    async def _call_with_retries(
        self,
        action: str,
        creds: Credentials | None,
        params: dict[str, Any],
        secrets: Sequence[str],
    ) -> Any:
        body: dict[str, Any] = dict(params)
        headers: dict[str, str] = {}
        known_secrets = list(secrets)
        if creds is not None:
            body = {"cid": creds.cid, **params}
            headers["X-Key"] = creds.key
            known_secrets.append(creds.key)
        content = json.dumps(body, separators=(",", ":")).encode()  # once, for every attempt
        attempts = 1 + (self._read_retries if action in READ_ACTIONS else 0)
        # One budget for the call and all of its retries: a dead provider costs the user
        # ``timeout``, not ``timeout`` per attempt.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        for attempt in range(attempts):
            try:
                return await self._attempt(action, creds, content, headers, known_secrets, deadline)
            except ProviderUnavailable as exc:
                if not exc.retryable or attempt + 1 >= attempts:
                    raise
                delay = self._backoff * 2**attempt
                left = deadline - loop.time() - delay
                if left < self._timeout * _RETRY_SHARE:
                    log.debug(
                        "inferno %s: no retry, %.2fs of the budget left after: %s",
                        action,
                        max(left, 0.0),
                        exc,
                    )
                    raise
                log.debug(
                    "inferno %s: retry %d in %.2fs after: %s", action, attempt + 1, delay, exc
                )
                await asyncio.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _url(self, action: str) -> URL:
        url = self._urls.get(action)
        if url is None:
            url = self._urls[action] = self._base.update_query(action=action)
        return url

    async def _attempt(
        self,
        action: str,
        creds: Credentials | None,
        content: bytes,
        headers: dict[str, str],
        secrets: Sequence[str],
        deadline: float,
    ) -> Any:
        started = time.monotonic()
        status: str = "-"
        try:
            # Connecting has its own, shorter limit (the session's); the call's budget (event
            # loop time) bounds everything.
            async with (
                asyncio.timeout_at(deadline),
                self._http().post(
                    self._url(action),
                    data=content,
                    headers=headers,
                    proxy=self._proxy,
                    # A redirect from the API is a login or challenge page, never the answer.
                    allow_redirects=False,
                ) as response,
            ):
                answer = await response.read()
                status_code, charset = response.status, response.charset
            status = str(status_code)
        except aiohttp.ServerTimeoutError:  # also a TimeoutError: the connect limit (sock_connect)
            status = "connect-timeout"
            raise ProviderUnavailable(
                f"no connection within {self._connect_timeout:g}s", action=action
            ) from None
        except TimeoutError as exc:
            status = "timeout"
            raise ProviderUnavailable(
                f"no answer within {self._timeout:g}s", action=action
            ) from exc
        except aiohttp.ClientError as exc:
            # Refused, reset, cut short or not HTTP at all: network trouble all the same. Not
            # chained: aiohttp's error carries the request's headers, the key among them.
            status = type(exc).__name__
            raise ProviderUnavailable(
                f"network error ({type(exc).__name__})", action=action
            ) from None
        finally:
            log.debug(
                "inferno %s cid=%s status=%s %.3fs",
                action,
                creds.cid if creds is not None else "-",
                status,
                time.monotonic() - started,
            )
        return self._interpret(action, status_code, _text_of(answer, charset), secrets)

    def _interpret(self, action: str, status: int, text: str, secrets: Sequence[str]) -> Any:
        if status in (401, 403):
            raise AccessDenied(action=action, status=status, reason="http")
        payload = self._decode(action, status, text, secrets)
        if status >= 500:
            raise ProviderUnavailable(f"HTTP {status}", action=action, status=status)
        if status == 429:
            raise ProviderUnavailable("rate limited (HTTP 429)", action=action, status=status)
        self._raise_for_fail(action, payload, secrets)
        if not 200 <= status < 300:
            raise UnreadableAnswer(f"unexpected HTTP status {status}", action=action)
        return payload

    def _decode(self, action: str, status: int, text: str, secrets: Sequence[str]) -> Any:
        stripped = text.strip().lstrip("\ufeff")
        try:
            return json.loads(stripped)
        except (ValueError, RecursionError):  # a hostile answer can nest beyond the stack
            pass
        if _is_cloudflare(stripped):
            raise AccessDenied(action=action, status=status, reason="cloudflare")
        # Busy or broken whatever the body says: a plain-text or HTML 429/5xx page alike.
        if status >= 500:
            raise ProviderUnavailable(f"HTTP {status}", action=action, status=status)
        if status == 429:
            raise ProviderUnavailable("rate limited (HTTP 429)", action=action, status=status)
        if _is_html(stripped):
            # On a write, a page (a PHP warning, say) may come after the work was done: its
            # outcome is unknown, never "refused", so nobody is led to do it again.
            if 200 <= status < 300 and action in READ_ACTIONS:
                raise AccessDenied(action=action, status=status, reason="html")
            raise UnreadableAnswer(f"HTML page with HTTP {status}", action=action)
        try:
            return parse_print_r(stripped)
        except (PrintRError, RecursionError):
            pass
        log.debug(
            "inferno %s: unreadable answer (HTTP %s): %r",
            action,
            status,
            _mask_text(stripped, secrets),
        )
        raise UnreadableAnswer("answer is neither JSON nor print_r", action=action)

    def _raise_for_fail(self, action: str, payload: Any, secrets: Sequence[str]) -> None:
        failure = failure_of(payload)
        if failure is None:
            return
        raw_message, code = failure
        message = _scrub(raw_message, secrets)
        if _ACCESS_RE.search(message):
            raise AccessDenied(
                f"the provider refused this server's IP address: {message}",
                action=action,
                reason="message",
            )
        if _AUTH_RE.search(message):
            raise InvalidCredentials(message or "invalid credentials", action=action)
        raise ProviderFail(message or "the provider reported a failure", code, action=action)

    def _parse(
        self,
        action: str,
        payload: Any,
        parser: Callable[[Any], _T],
        secrets: Sequence[str] = (),
    ) -> _T:
        try:
            return parser(payload)
        except InfernoError as exc:
            exc.action = exc.action or action
            self._log_shape(action, payload, secrets)
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as exc:
            self._log_shape(action, payload, secrets)
            raise UnreadableAnswer(
                f"cannot read the answer ({type(exc).__name__})", action=action
            ) from None

    @staticmethod
    def _log_shape(action: str, payload: Any, secrets: Sequence[str]) -> None:
        if log.isEnabledFor(logging.DEBUG):
            try:
                shown = _scrub(repr(mask_secrets(payload)), secrets)[:_LOG_LIMIT]
            except RecursionError:
                shown = "(nested too deep to show)"
            log.debug("inferno %s: unexpected answer shape: %s", action, shown)
