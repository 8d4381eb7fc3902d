"""AreaRouter turns away what it cannot handle before aiogram's machinery, and nothing else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message, TelegramObject, Update, User

from bot.handlers import AREA_ROUTERS
from bot.handlers.area import AreaRouter
from bot.handlers.filters import DataPrefix, NotLinked

BOT = Bot("42:TEST")
USER = User(id=1, is_bot=False, first_name="T")


def _tap(data: str) -> Update:
    update = Update(
        update_id=1,
        callback_query=CallbackQuery(id="1", from_user=USER, chat_instance="c", data=data),
    )
    return Update.model_validate(update.model_dump(), context={"bot": BOT})


def _text(text: str) -> Update:
    message = Message.model_validate(
        {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": text}
    )
    return Update.model_validate(
        Update(update_id=2, message=message).model_dump(), context={"bot": BOT}
    )


class _Seen(BaseMiddleware):
    def __init__(self) -> None:
        self.seen = 0

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        self.seen += 1
        return await handler(event, data)


def _world(*areas: AreaRouter, **data: Any) -> Dispatcher:
    dp = Dispatcher(**data)
    dp.include_routers(*areas)
    return dp


class _Counting(Filter):
    """A root filter that lets everything in and counts how often aiogram asked it."""

    def __init__(self) -> None:
        self.asked = 0

    async def __call__(self, event: TelegramObject) -> bool:
        self.asked += 1
        return True


async def test_a_guard_turns_away_other_areas_taps_before_aiogram_looks() -> None:
    area, asked = AreaRouter(name="a"), _Counting()
    area.guard_taps(DataPrefix("a"))
    area.callback_query.filter(asked)
    area.callback_query()(_answer("a"))
    other = AreaRouter(name="b")
    other.callback_query()(_answer("b"))
    dp = _world(area, other)
    assert await dp.feed_update(BOT, _tap("b:1")) == "b"
    assert asked.asked == 0
    assert await dp.feed_update(BOT, _tap("a:1")) == "a"
    assert asked.asked == 1


def _gate() -> AreaRouter:
    gate = AreaRouter(name="gate")
    gate.guard_taps(NotLinked(), DataPrefix(exact=["m:srv"]))
    gate.callback_query()(_answer("gate"))
    return gate


async def test_every_guard_must_admit() -> None:
    assert await _world(_gate(), creds=object()).feed_update(BOT, _tap("m:srv")) is UNHANDLED
    unlinked = _world(_gate())
    assert await unlinked.feed_update(BOT, _tap("m:srv")) == "gate"
    assert await unlinked.feed_update(BOT, _tap("m:main")) is UNHANDLED


async def test_guards_do_not_touch_messages() -> None:
    area = AreaRouter(name="a")
    area.guard_taps(DataPrefix("a"))
    area.message()(_answer("text"))
    assert await _world(area).feed_update(BOT, _text("hello")) == "text"


async def test_a_router_without_handlers_for_the_update_is_skipped() -> None:
    texts_only, asked = AreaRouter(name="texts"), _Counting()
    texts_only.callback_query.filter(asked)
    texts_only.message()(_answer("text"))
    taps = AreaRouter(name="taps")
    taps.callback_query()(_answer("tap"))
    dp = _world(texts_only, taps)
    assert await dp.feed_update(BOT, _tap("x")) == "tap"
    assert asked.asked == 0
    assert await dp.feed_update(BOT, _text("hi")) == "text"


async def test_outer_middlewares_and_sub_routers_keep_a_router_from_being_skipped() -> None:
    with_outer, seen = AreaRouter(name="outer"), _Seen()
    with_outer.callback_query.outer_middleware(seen)
    parent = AreaRouter(name="parent")
    child = AreaRouter(name="child")
    child.callback_query()(_answer("child"))
    parent.include_router(child)
    dp = _world(with_outer, parent)
    assert await dp.feed_update(BOT, _tap("x")) == "child"
    assert seen.seen == 1


def test_every_area_is_an_area_router() -> None:
    assert all(isinstance(router, AreaRouter) for router in AREA_ROUTERS)


def _answer(result: str) -> Callable[..., Awaitable[str]]:
    async def handler(event: TelegramObject) -> str:
        return result

    return handler
