"""Dates and amounts in the user's language, and the service fields they are read from."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.formatting import format_date, format_money, parse_date
from bot.handlers.services import cycle_label
from bot.i18n import TranslatorHub
from bot.inferno.models import Service


@pytest.fixture(scope="module")
def hub() -> TranslatorHub:
    return TranslatorHub(default_locale="en", strict=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-10", dt.date(2026, 12, 10)),
        ("2026-12-10 14:30:00", dt.date(2026, 12, 10)),
        ("2026-12-10T14:30:00+03:00", dt.date(2026, 12, 10)),
        (" 2026-1-5 ", dt.date(2026, 1, 5)),
        ("10.12.2026", dt.date(2026, 12, 10)),
        ("0000-00-00", None),
        ("2026-02-30", None),
        ("soon", None),
        ("2026-12-10junk", None),
        ("", None),
    ],
)
def test_parse_date(text: str, expected: dt.date | None) -> None:
    assert parse_date(text) == expected


def test_dates_in_english_and_russian(hub: TranslatorHub) -> None:
    en, ru = hub.get("en"), hub.get("ru")
    assert format_date(en, "2026-12-10") == "10 Dec 2026"
    assert format_date(ru, "2026-12-10") == "10 дек. 2026"
    assert format_date(en, dt.date(2027, 1, 5)) == "5 Jan 2027"
    assert format_date(ru, "2026-05-01 00:00:00") == "1 мая 2026"


def test_every_month_has_a_name_in_both_languages(hub: TranslatorHub) -> None:
    for locale in ("en", "ru"):
        names = {format_date(hub.get(locale), dt.date(2026, month, 1)) for month in range(1, 13)}
        assert len(names) == 12, (locale, names)
        assert not any("2026-" in name for name in names)


def test_text_that_is_no_date_comes_back_as_it_is(hub: TranslatorHub) -> None:
    # Unescaped: the translation it is passed to escapes it like any argument.
    assert format_date(hub.get("en"), " <b>soon</b> ") == "<b>soon</b>"


def test_money() -> None:
    assert format_money("5.00", "USD") == "5.00 USD"
    assert format_money("5.00", None) == "5.00"


def test_service_known_fields_from_a_billing_panel_answer() -> None:
    service = Service.from_raw(
        {
            "result": "success",
            "service": {
                "id": 49701,
                "productname": "VPS Start",
                "groupname": "VPS",
                "domain": "vps1.example.com",
                "dedicatedip": "37.1.0.2",
                "status": "Active",
                "billingcycle": "Semi-Annually",
                "regdate": "2026-11-10",
                "nextduedate": "0000-00-00",
                "recurringamount": 30.0,
                "firstpaymentamount": "35.00",
                "currency": {"id": 1, "code": "EUR", "prefix": "€"},
                "rootpass": "hunter2",
            },
        }
    )
    assert service.product == "VPS Start"
    assert service.domain == "vps1.example.com"
    assert service.ip == "37.1.0.2"
    assert service.billing_cycle == "Semi-Annually"
    assert service.registered == "2026-11-10"
    assert service.next_due is None, "a zero date is no date"
    assert service.amount == "30.00"
    assert service.currency == "EUR"
    assert "rootpass" not in service.fields


def test_service_without_the_optional_fields() -> None:
    service = Service.from_raw({"service": {"id": "7", "name": "x"}})
    assert (service.billing_cycle, service.registered, service.next_due) == (None, None, None)
    assert (service.amount, service.currency, service.domain) == (None, None, None)


@pytest.mark.parametrize(
    ("cycle", "en", "ru"),
    [
        ("Monthly", "monthly", "ежемесячно"),
        ("Semi-Annually", "every 6 months", "раз в полгода"),
        ("One Time", "one-time", "разовый платёж"),
        ("Free Account", "free", "бесплатно"),
        ("Fortnightly", "Fortnightly", "Fortnightly"),
    ],
)
def test_billing_cycles(hub: TranslatorHub, cycle: str, en: str, ru: str) -> None:
    assert cycle_label(hub.get("en"), cycle) == en
    assert cycle_label(hub.get("ru"), cycle) == ru
