"""The fake Bot API server must answer like Telegram, as seen through a real aiogram Bot."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import aiohttp.web
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.methods import GetUpdates
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)

from tests.fakes.telegram import (
    E_BLOCKED,
    E_BUTTON_DATA,
    E_CANT_DELETE,
    E_CANT_EDIT,
    E_CHAT_NOT_FOUND,
    E_CONFLICT,
    E_DELETE_NOT_FOUND,
    E_EDIT_NOT_FOUND,
    E_INLINE_EXPECTED,
    E_MARKUP_TOO_LONG,
    E_NOT_MODIFIED,
    E_QUERY_TOO_OLD,
    E_SECRET_CHARS,
    E_SECRET_LONG,
    E_TEXT_BUTTONS,
    E_TEXT_EMPTY,
    E_TOO_LONG,
    E_WEBHOOK_ACTIVE,
    E_WEBHOOK_HOST,
    E_WEBHOOK_HTTPS,
    E_WEBHOOK_PORT,
    FakeTelegram,
    make_bot,
    run_polling,
    running_fake_telegram,
)
from tests.fakes.tg_html import HTMLParseError, parse_html

USER = 1001
OTHER = 1002


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with running_fake_telegram() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    bot = make_bot(fake)
    yield bot
    await bot.session.close()


def kb(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data) for text, data in row]
            for row in rows
        ]
    )


async def raw_call(fake: FakeTelegram, method: str, **data: Any) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{fake.base_url}/bot{fake.token}/{method}", data=data) as resp,
    ):
        return resp.status, await resp.json()


async def bad_request(call: Any) -> str:
    with pytest.raises(TelegramBadRequest) as info:
        await call
    return info.value.message


# --------------------------------------------------------------------------- transport


async def test_get_me_and_error_mapping(fake: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (fake.bot_id, "inferno_test_bot", True)

    stranger = Bot("999:WRONG", session=make_bot(fake).session)
    with pytest.raises(TelegramUnauthorizedError) as unauthorized:
        await stranger.get_me()
    assert unauthorized.value.message == "Unauthorized"
    await stranger.session.close()

    # aiogram knows sendDocument, the fake does not: a loud 5xx, never a fake success.
    await fake.send_text(USER, "hi")
    with pytest.raises(TelegramServerError):
        await bot.send_document(USER, BufferedInputFile(b"x", "x.txt"))

    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{fake.base_url}/bot{fake.token}/noSuchMethod", data={"a": "1"}) as resp,
    ):
        assert resp.status == 404
        assert await resp.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found: method not found",
        }


async def test_unknown_method_maps_to_not_found(fake: FakeTelegram, bot: Bot) -> None:
    class Nonsense(GetUpdates):
        __api_method__ = "getNonsense"

    with pytest.raises(TelegramNotFound) as info:
        await bot(Nonsense())
    assert info.value.message == "Not Found: method not found"


async def test_requests_are_recorded_with_json_fields_parsed(fake: FakeTelegram, bot: Bot) -> None:
    await fake.send_text(USER, "hi")
    await bot.send_message(USER, "menu", reply_markup=kb([("A", "a")]), protect_content=True)
    sent = fake.calls("sendMessage")[-1]
    assert sent.ok and sent.params["parse_mode"] == "HTML"
    assert sent.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "A", "callback_data": "a"}]]
    }
    assert sent.params["protect_content"] == "true"
    assert fake.last_bot_message(USER).protect_content
    assert fake.errors == []


# --------------------------------------------------------------------------- getUpdates


async def test_offset_confirms_updates_below_it(fake: FakeTelegram, bot: Bot) -> None:
    for text in ("one", "two", "three"):
        await fake.send_text(USER, text)

    first = await bot.get_updates(timeout=0)
    assert [u.message.text for u in first if u.message] == ["one", "two", "three"]
    # Without a confirming offset the same updates come again.
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [u.update_id for u in first]

    assert [
        u.message.text
        for u in await bot.get_updates(offset=first[1].update_id, timeout=0)
        if u.message
    ] == ["two", "three"]
    assert len(await bot.get_updates(offset=first[0].update_id, timeout=0)) == 2  # confirmed
    limited = await bot.get_updates(offset=first[1].update_id, limit=1, timeout=0)
    assert [u.update_id for u in limited] == [first[1].update_id]
    assert await bot.get_updates(offset=first[2].update_id + 1, timeout=0) == []
    assert all(u.handed_out_at is not None for u in fake.updates)


async def test_negative_offset_keeps_only_the_last_updates(fake: FakeTelegram, bot: Bot) -> None:
    for text in ("one", "two", "three"):
        await fake.send_text(USER, text)
    last = await bot.get_updates(offset=-1, timeout=0)
    assert [u.message.text for u in last if u.message] == ["three"]
    assert len(await bot.get_updates(timeout=0)) == 1


async def test_long_poll_waits_for_an_update_and_times_out_empty(
    fake: FakeTelegram, bot: Bot
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await fake.wait_for(lambda: fake.polling_active, message="long poll")
    await fake.send_text(USER, "wake up")
    updates = await asyncio.wait_for(poll, 3)
    assert [u.message.text for u in updates if u.message] == ["wake up"]

    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=1) == []


async def test_second_poller_terminates_the_first_with_conflict(fake: FakeTelegram) -> None:
    first_bot, second_bot = make_bot(fake), make_bot(fake)
    try:
        first = asyncio.create_task(first_bot.get_updates(timeout=10))
        await fake.wait_for(lambda: fake.polling_active, message="first poll")
        second = asyncio.create_task(second_bot.get_updates(timeout=10))
        with pytest.raises(TelegramConflictError) as info:
            await asyncio.wait_for(first, 3)
        assert info.value.message == E_CONFLICT
        await fake.send_text(USER, "for the survivor")
        assert len(await asyncio.wait_for(second, 3)) == 1
    finally:
        await first_bot.session.close()
        await second_bot.session.close()


async def test_allowed_updates_drops_other_types(fake: FakeTelegram, bot: Bot) -> None:
    await fake.send_text(USER, "hi")
    await bot.send_message(USER, "menu", reply_markup=kb([("A", "a")]))
    await fake.tap(USER, fake.last_bot_message(USER).message_id, "a")
    updates = await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
    assert [u.callback_query.data for u in updates if u.callback_query] == ["a"]
    assert [u.type for u in fake.updates if u.dropped] == ["message"]


# --------------------------------------------------------------------------- polling flows


def demo_router() -> Router:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer(
            "Hello <b>world</b> &amp; <tg-spoiler>secret</tg-spoiler>",
            reply_markup=kb([("Go on", "go"), ("Stop", "stop")]),
        )

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    @router.callback_query(F.data == "go")
    async def go(callback: CallbackQuery) -> None:
        await callback.answer("ok")
        assert isinstance(callback.message, Message)
        await callback.message.edit_text("Done")

    @router.callback_query(F.data == "twice")
    async def twice(callback: CallbackQuery) -> None:
        await callback.answer()
        with pytest.raises(TelegramBadRequest) as info:
            await callback.answer("again")
        assert info.value.message == E_QUERY_TOO_OLD
        await callback.bot.send_message(callback.from_user.id, "checked")  # type: ignore[union-attr]

    return router


async def test_polling_receives_messages_and_taps(fake: FakeTelegram, bot: Bot) -> None:
    dp = Dispatcher()
    dp.include_router(demo_router())
    async with run_polling(fake, dp, bot):
        sent = await fake.send_command(USER, "/start")
        reply = await fake.wait_for_bot_message(USER, after=sent.message_id)
        assert reply.text == "Hello world & secret"
        assert reply.html is not None and reply.html.startswith("Hello <b>")
        assert reply.entity_texts("bold") == ["world"]
        assert reply.has_spoiler
        assert [b.text for b in reply.buttons()] == ["Go on", "Stop"]

        query_id = await fake.tap_button(USER, "go")
        edited = await fake.wait_for_bot_message(USER, lambda m: m.text == "Done")
        assert edited.message_id == reply.message_id
        assert edited.edit_count == 1 and edited.reply_markup is None  # keyboard removed
        assert edited.edited_at is not None

        await fake.send_text(USER, "ping")
        await fake.wait_for_bot_message(USER, lambda m: m.text == "echo: ping")
        await fake.wait_idle()

    assert fake.callback_answers[query_id].text == "ok"
    assert fake.unanswered_callbacks() == []
    assert [m.from_bot for m in fake.chat(USER)] == [False, True, False, True]
    assert [m.message_id for m in fake.chat(USER)] == [1, 2, 3, 4]
    assert all(u.handed_out_at is not None for u in fake.updates)
    assert fake.errors == []


async def test_polling_can_stop_and_restart_without_losing_updates(
    fake: FakeTelegram, bot: Bot
) -> None:
    dp = Dispatcher()
    dp.include_router(demo_router())
    async with run_polling(fake, dp, bot):
        await fake.wait_for(lambda: fake.polling_active, message="long poll")
    # The dropped long poll must not hand this update to nobody.
    await fake.send_text(USER, "while down")
    assert not fake.polling_active
    assert fake.updates[-1].handed_out_at is None
    async with run_polling(fake, dp, make_bot(fake)):
        await fake.wait_for_bot_message(USER, lambda m: m.text == "echo: while down")
        await fake.wait_idle()
    assert fake.errors == []
    assert any(r.cancelled for r in fake.calls("getUpdates"))


async def test_callback_answered_twice_is_rejected(fake: FakeTelegram, bot: Bot) -> None:
    dp = Dispatcher()
    dp.include_router(demo_router())
    await fake.send_text(USER, "hi")
    await bot.send_message(USER, "menu", reply_markup=kb([("Twice", "twice")]))
    async with run_polling(fake, dp, bot):
        await fake.tap_button(USER, "twice")
        await fake.wait_for_bot_message(USER, lambda m: m.text == "checked")
        await fake.wait_idle()
    assert [e.description for e in fake.errors] == [E_QUERY_TOO_OLD]


@pytest.mark.parametrize("waited_in_queue", [False, True])
async def test_callback_answered_too_late_is_rejected(waited_in_queue: bool) -> None:
    async with running_fake_telegram(callback_answer_timeout=0.2) as fake:
        bot = make_bot(fake)
        await fake.send_text(USER, "hi")
        menu = await bot.send_message(USER, "menu", reply_markup=kb([("A", "a")]))
        query_id = await fake.tap(USER, menu.message_id, "a")
        if waited_in_queue:
            # Telegram's clock starts at the tap: the bot was busy and fetched it late.
            await asyncio.sleep(0.3)
        await bot.get_updates(timeout=0)
        assert fake.unanswered_callbacks() == [query_id]
        if not waited_in_queue:
            await asyncio.sleep(0.3)
        assert await bad_request(bot.answer_callback_query(query_id)) == E_QUERY_TOO_OLD
        assert await bad_request(bot.answer_callback_query("12345")) == E_QUERY_TOO_OLD
        await bot.session.close()


async def test_callback_answer_text_limit(fake: FakeTelegram, bot: Bot) -> None:
    await fake.send_text(USER, "hi")
    menu = await bot.send_message(USER, "menu", reply_markup=kb([("A", "a")]))
    query_id = await fake.tap(USER, menu.message_id, "a")
    await bad_request(bot.answer_callback_query(query_id, text="x" * 201))
    assert await bot.answer_callback_query(query_id, text="x" * 200, show_alert=True)
    assert fake.callback_answers[query_id].show_alert


async def test_tap_requires_the_button_on_the_current_keyboard(
    fake: FakeTelegram, bot: Bot
) -> None:
    await fake.send_text(USER, "hi")
    menu = await bot.send_message(
        USER, "menu", reply_markup=kb([("Yes", "y"), ("Yes, sure", "ys")])
    )
    with pytest.raises(AssertionError, match="no button with callback_data"):
        await fake.tap(USER, menu.message_id, "forged")
    assert await fake.tap(USER, menu.message_id, "forged", verify=False)
    assert fake.message(USER, menu.message_id).button("yes").callback_data == "y"  # exact wins
    with pytest.raises(AssertionError, match="2 buttons contain"):
        fake.message(USER, menu.message_id).button("ye")

    await bot.edit_message_reply_markup(
        chat_id=USER, message_id=menu.message_id, reply_markup=kb([("No", "n")])
    )
    with pytest.raises(AssertionError):
        await fake.tap(USER, menu.message_id, "y")
    with pytest.raises(AssertionError, match="no button containing"):
        await fake.tap_button(USER, "yes")
    await fake.tap_button(USER, "NO")
    assert [q.data for q in fake.callback_queries.values()] == ["forged", "n"]


# --------------------------------------------------------------------------- sendMessage rules


async def test_message_length_limits(fake: FakeTelegram, bot: Bot) -> None:
    await fake.send_text(USER, "hi")
    assert (await bot.send_message(USER, "я" * 4096)).text == "я" * 4096
    assert await bad_request(bot.send_message(USER, "я" * 4097)) == E_TOO_LONG
    # The limit applies to the text after parsing: markup does not count.
    await bot.send_message(USER, "<b>" + "x" * 4096 + "</b>")
    assert await bad_request(bot.send_message(USER, "<b>" + "x" * 4097 + "</b>")) == E_TOO_LONG
    # Counted in UTF-16 code units: an astral-plane emoji is two, an entity reference one.
    await bot.send_message(USER, "🔑" * 2048)
    assert await bad_request(bot.send_message(USER, "🔑" * 2048 + "x")) == E_TOO_LONG
    assert await bad_request(bot.send_message(USER, "&#128273;" * 2049)) == E_TOO_LONG
    await bot.send_message(USER, "<b>" + "&lt;" * 4096 + "</b>")

    assert await bad_request(bot.send_message(USER, "")) == E_TEXT_EMPTY
    assert await bad_request(bot.send_message(USER, "<b></b>")) == E_TEXT_EMPTY
    assert await bad_request(bot.send_message(USER, " \n ")) == E_TEXT_EMPTY


async def test_text_is_trimmed_like_telegram(fake: FakeTelegram, bot: Bot) -> None:
    await fake.send_text(USER, "hi")
    sent = await bot.send_message(USER, "\n  <b>bold</b> tail \n")
    assert sent.text == "bold tail"
    assert fake.last_bot_message(USER).entities == [{"type": "bold", "offset": 0, "length": 4}]


async def test_unknown_chat(fake: FakeTelegram, bot: Bot) -> None:
    assert await bad_request(bot.send_message(OTHER, "hello")) == E_CHAT_NOT_FOUND
    assert await bad_request(bot.send_message("@someone", "hello")) == E_CHAT_NOT_FOUND


async def test_a_group_the_bot_was_added_to_can_be_left_once(fake: FakeTelegram, bot: Bot) -> None:
    fake.add_bot_to_group(USER, -100555)
    (update,) = await bot.get_updates(timeout=0)
    assert update.my_chat_member is not None
    assert update.my_chat_member.chat.id == -100555
    assert update.my_chat_member.new_chat_member.status == "member"
    assert await bot.leave_chat(-100555) is True
    assert await bad_request(bot.leave_chat(-100555)) == E_CHAT_NOT_FOUND


async def test_html_errors_are_reported_like_telegram(fake: FakeTelegram, bot: Bot) -> None:
    await fake.send_text(USER, "hi")
    prefix = "Bad Request: can't parse entities: "
    cases = {
        "<p>x</p>": 'Unsupported start tag "p" at byte offset 0',
        # Byte offsets: "Цена" is 8 bytes of UTF-8.
        "Цена <x>": 'Unsupported start tag "x" at byte offset 9',
        "a < b": 'Unsupported start tag "" at byte offset 2',
        "<b>bold": 'Can\'t find end tag corresponding to start tag "b"',
        "text <b": "Unclosed start tag at byte offset 5",
        "<b>x</i>": 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"',
        "x</b>": "Unexpected end tag at byte offset 1",
        "<span>x</span>": 'Tag "span" must have class "tg-spoiler" at byte offset 0',
    }
    for html, reason in cases.items():
        assert await bad_request(bot.send_message(USER, html)) == prefix + reason, html
    assert [m.text for m in fake.bot_messages(USER)] == []
    # Without parse_mode the same text is fine.
    assert (await bot.send_message(USER, "a < b", parse_mode=None)).text == "a < b"


async def test_html_entities_with_utf16_offsets(fake: FakeTelegram, bot: Bot) -> None:
    await fake.send_text(USER, "hi")
    html = (
        '🔥 <b>Server <i>"web-1"</i></b> &lt;ok&gt; &nbsp; &#x41;\n'
        '<pre><code class="language-bash">ssh root@host</code></pre>'
        '<a href="https://example.com/x">link</a> <span class="tg-spoiler">pw</span>'
        "<blockquote expandable>q</blockquote>"
    )
    sent = await bot.send_message(USER, html)
    msg = fake.last_bot_message(USER)
    assert msg.text == sent.text == '🔥 Server "web-1" <ok> &nbsp; A\nssh root@hostlink pwq'
    assert msg.html == html
    by_type = {e["type"]: e for e in msg.entities}
    # 🔥 is two UTF-16 code units, so "Server" starts at 3.
    assert by_type["bold"] == {"type": "bold", "offset": 3, "length": 14}
    assert by_type["italic"] == {"type": "italic", "offset": 10, "length": 7}
    assert by_type["pre"]["language"] == "bash"
    assert by_type["text_link"]["url"] == "https://example.com/x"
    assert msg.entity_texts("text_link") == ["link"]
    assert msg.entity_texts("spoiler") == ["pw"] and msg.has_spoiler
    assert msg.entity_texts("expandable_blockquote") == ["q"]
    assert sent.entities is not None and len(sent.entities) == len(msg.entities)


async def test_keyboard_rules(fake: FakeTelegram, bot: Bot) -> None:
    await fake.send_text(USER, "hi")
    ok_64 = "x" * 64
    await bot.send_message(USER, "ok", reply_markup=kb([("A", ok_64)]))
    # 33 Cyrillic letters are 66 bytes: the limit is in bytes, not characters.
    too_long = "я" * 33
    assert await bad_request(bot.send_message(USER, "x", reply_markup=kb([("A", too_long)]))) == (
        E_BUTTON_DATA
    )
    no_action = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="A")]])
    assert await bad_request(bot.send_message(USER, "x", reply_markup=no_action)) == (
        E_TEXT_BUTTONS
    )
    empty_data = kb([("A", "")])
    assert await bad_request(bot.send_message(USER, "x", reply_markup=empty_data)) == (
        E_TEXT_BUTTONS
    )
    both = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="A", callback_data="a", url="https://x.io")]]
    )
    assert "exactly one" in await bad_request(bot.send_message(USER, "x", reply_markup=both))

    nine_in_row = kb([(str(i), str(i)) for i in range(9)])
    assert await bad_request(bot.send_message(USER, "x", reply_markup=nine_in_row)) == (
        E_MARKUP_TOO_LONG
    )
    hundred = kb(*[[(f"{r}{c}", f"{r}{c}") for c in range(5)] for r in range(20)])
    await bot.send_message(USER, "x", reply_markup=hundred)
    hundred_one = kb(*[[(f"{r}{c}", f"{r}{c}") for c in range(5)] for r in range(20)], [("z", "z")])
    assert await bad_request(bot.send_message(USER, "x", reply_markup=hundred_one)) == (
        E_MARKUP_TOO_LONG
    )
    url_button = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Site", url="https://inferno.example")]]
    )
    await bot.send_message(USER, "x", reply_markup=url_button)
    assert fake.last_bot_message(USER).button("site").url == "https://inferno.example"
    with pytest.raises(AssertionError, match="not a callback button"):
        await fake.tap_button(USER, "site")
    reply_kb = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Menu")]])
    await bot.send_message(USER, "x", reply_markup=reply_kb)


# --------------------------------------------------------------------------- edits


async def test_edit_rules(fake: FakeTelegram, bot: Bot) -> None:
    user_msg = await fake.send_text(USER, "hi")
    menu = await bot.send_message(USER, "<b>Menu</b>", reply_markup=kb([("A", "a")]))
    mid = menu.message_id

    same = bot.edit_message_text(
        "<b>Menu</b>", chat_id=USER, message_id=mid, reply_markup=kb([("A", "a")])
    )
    assert await bad_request(same) == E_NOT_MODIFIED
    same_markup = bot.edit_message_reply_markup(
        chat_id=USER, message_id=mid, reply_markup=kb([("A", "a")])
    )
    assert await bad_request(same_markup) == E_NOT_MODIFIED
    # Same plain text but different entities is a modification.
    await bot.edit_message_text("Menu", chat_id=USER, message_id=mid, reply_markup=kb([("A", "a")]))
    assert fake.message(USER, mid).entities == []

    await bot.edit_message_reply_markup(chat_id=USER, message_id=mid, reply_markup=kb([("B", "b")]))
    await bot.edit_message_text("Menu 2", chat_id=USER, message_id=mid)
    msg = fake.message(USER, mid)
    assert (msg.text, msg.reply_markup, msg.edit_count) == ("Menu 2", None, 3)
    assert len(msg.history) == 3 and len(msg.edit_times) == 3

    missing = bot.edit_message_text("x", chat_id=USER, message_id=999)
    assert await bad_request(missing) == E_EDIT_NOT_FOUND
    users = bot.edit_message_text("x", chat_id=USER, message_id=user_msg.message_id)
    assert await bad_request(users) == E_CANT_EDIT
    # aiogram itself refuses a reply keyboard here, so send the raw request.
    reply_kb = json.dumps({"keyboard": [[{"text": "Menu"}]]})
    status, body = await raw_call(
        fake, "editMessageText", chat_id=USER, message_id=mid, text="x", reply_markup=reply_kb
    )
    assert (status, body["description"]) == (400, E_INLINE_EXPECTED)
    too_long = bot.edit_message_text("x" * 4097, chat_id=USER, message_id=mid)
    assert await bad_request(too_long) == E_TOO_LONG
    emoji = bot.edit_message_text("😀" * 2049, chat_id=USER, message_id=mid)
    assert await bad_request(emoji) == E_TOO_LONG
    bad_html = bot.edit_message_text("<b>x", chat_id=USER, message_id=mid)
    assert "Can't find end tag" in await bad_request(bad_html)

    await bot.delete_message(USER, mid)
    deleted = bot.edit_message_text("x", chat_id=USER, message_id=mid)
    assert await bad_request(deleted) == E_EDIT_NOT_FOUND


# --------------------------------------------------------------------------- deletes


async def test_delete_rules(fake: FakeTelegram, bot: Bot) -> None:
    user_msg = await fake.send_text(USER, "hi")
    first = await bot.send_message(USER, "one")
    second = await bot.send_message(USER, "two")

    assert await bot.delete_message(USER, first.message_id)
    assert fake.message(USER, first.message_id).deleted
    assert [m.text for m in fake.bot_messages(USER)] == ["two"]
    assert len(fake.bot_messages(USER, include_deleted=True)) == 2
    assert await bad_request(bot.delete_message(USER, first.message_id)) == E_DELETE_NOT_FOUND
    assert await bad_request(bot.delete_message(USER, 999)) == E_DELETE_NOT_FOUND

    fake.age_message(USER, second.message_id, 48 * 3600 + 1)
    assert await bad_request(bot.delete_message(USER, second.message_id)) == E_CANT_DELETE

    # In private chats the bot may delete the user's messages too.
    assert await bot.delete_message(USER, user_msg.message_id)

    third = await bot.send_message(USER, "three")
    fake.fail_delete(USER)
    assert await bad_request(bot.delete_message(USER, third.message_id)) == E_CANT_DELETE
    assert await bot.delete_message(USER, third.message_id)

    fourth = await bot.send_message(USER, "four")
    assert await bot.delete_messages(USER, [fourth.message_id, 999])
    assert fake.message(USER, fourth.message_id).deleted


# --------------------------------------------------------------------------- faults


async def test_server_errors_before_or_after_the_work(fake: FakeTelegram, bot: Bot) -> None:
    await fake.send_text(USER, "hi")
    first = await bot.send_message(USER, "one")
    fake.server_error("deleteMessage", times=2)
    for _ in range(2):
        with pytest.raises(TelegramServerError) as info:
            await bot.delete_message(USER, first.message_id)
        assert info.value.message == "Internal Server Error"
    assert not fake.message(USER, first.message_id).deleted
    assert await bot.delete_message(USER, first.message_id)

    # The work done, the answer lost: a second try finds nothing left to delete.
    second = await bot.send_message(USER, "two")
    fake.server_error("deletemessage", code=502, description="Bad Gateway", applied=True)
    with pytest.raises(TelegramServerError):
        await bot.delete_message(USER, second.message_id)
    assert fake.message(USER, second.message_id).deleted
    assert await bad_request(bot.delete_message(USER, second.message_id)) == E_DELETE_NOT_FOUND
    assert [e.status for e in fake.errors] == [500, 500, 502, 400]
    # Other methods are not touched.
    assert (await bot.send_message(USER, "three")).text == "three"


async def test_a_user_edit_arrives_as_an_edited_message(fake: FakeTelegram, bot: Bot) -> None:
    sent = await fake.send_text(USER, "hello")
    reply = await bot.send_message(USER, "menu")
    edited = await fake.edit_text(sent, "hello again")
    assert fake.message(USER, sent.message_id) is edited
    assert (edited.text, edited.edit_count, edited.history[0][0]) == ("hello again", 1, "hello")
    updates = await bot.get_updates(timeout=0)
    assert [u.event_type for u in updates] == ["message", "edited_message"]
    update = updates[1].edited_message
    assert update is not None and update.text == "hello again"
    assert update.message_id == sent.message_id and update.edit_date is not None
    with pytest.raises(AssertionError):
        await fake.edit_text(fake.message(USER, reply.message_id), "not the user's")
    # Without edited_message among the allowed updates, Telegram never sends one.
    await fake.edit_text(sent, "third")
    assert (
        await bot.get_updates(
            offset=updates[-1].update_id + 1, timeout=0, allowed_updates=["message"]
        )
        == []
    )
    assert fake.updates[-1].dropped


async def test_blocked_user(fake: FakeTelegram, bot: Bot) -> None:
    await fake.send_text(USER, "hi")
    menu = await bot.send_message(USER, "menu")
    fake.block(USER)
    for call in (
        bot.send_message(USER, "x"),
        bot.edit_message_text("y", chat_id=USER, message_id=menu.message_id),
        bot.send_chat_action(USER, "typing"),
    ):
        with pytest.raises(TelegramForbiddenError) as info:
            await call
        assert info.value.message == E_BLOCKED
    # Writing to the bot again unblocks it.
    await fake.send_text(USER, "/start")
    await bot.send_message(USER, "welcome back")


async def test_rate_limit(fake: FakeTelegram, bot: Bot) -> None:
    await fake.send_text(USER, "hi")
    fake.rate_limit(USER, retry_after=7, times=2)
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as info:
            await bot.send_message(USER, "x")
        assert info.value.retry_after == 7
        assert info.value.message.endswith("Original description: Too Many Requests: retry after 7")
    await bot.send_message(USER, "finally")

    fake.rate_limit(USER, retry_after=3)
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{fake.base_url}/bot{fake.token}/sendMessage", data={"chat_id": USER, "text": "x"}
        ) as resp,
    ):
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "3"
        assert await resp.json() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 3",
            "parameters": {"retry_after": 3},
        }


async def test_flood_limit_allows_a_burst_then_429() -> None:
    async with running_fake_telegram() as fake:  # flood control is on by default
        bot = make_bot(fake)
        await fake.send_text(USER, "hi")
        outcomes = []
        for i in range(26):
            try:
                await bot.send_message(USER, f"m{i}")
                outcomes.append("ok")
            except TelegramRetryAfter as exc:
                assert exc.retry_after >= 1
                outcomes.append("429")
        assert outcomes[:20] == ["ok"] * 20
        assert "429" in outcomes
        # Other chats have their own budget.
        await fake.send_text(OTHER, "hi")
        await bot.send_message(OTHER, "fine")
        await bot.session.close()


# --------------------------------------------------------------------------- misc methods


async def test_commands_descriptions_chat(fake: FakeTelegram, bot: Bot) -> None:
    await fake.send_text(USER, "hi")
    commands = [
        BotCommand(command="start", description="Start"),
        BotCommand(command="help", description="Help"),
    ]
    await bot.set_my_commands(commands)
    await bot.set_my_commands(
        commands[:1], scope=BotCommandScopeAllPrivateChats(), language_code="ru"
    )
    await bot.set_my_commands(commands[1:], scope=BotCommandScopeChat(chat_id=USER))
    assert fake.commands[("default", "")] == [c.model_dump(exclude_none=True) for c in commands]
    assert fake.commands[("all_private_chats", "ru")] == [
        {"command": "start", "description": "Start"}
    ]
    assert fake.commands[(f"chat:{USER}", "")] == [{"command": "help", "description": "Help"}]
    got = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="ru")
    assert [c.command for c in got] == ["start"]
    await bot.delete_my_commands()
    assert ("default", "") not in fake.commands
    bad = [BotCommand(command="Bad-Command", description="x")]
    assert await bad_request(bot.set_my_commands(bad)) == "Bad Request: BOT_COMMAND_INVALID"

    await bot.set_my_description("Buy servers", language_code="en")
    await bot.set_my_short_description("VPS bot")
    assert fake.descriptions == {"en": "Buy servers"}
    assert fake.short_descriptions == {"": "VPS bot"}

    chat = await bot.get_chat(USER)
    assert (chat.id, chat.type) == (USER, "private")
    assert await bad_request(bot.get_chat(OTHER)) == E_CHAT_NOT_FOUND
    assert await bot.send_chat_action(USER, "typing")
    assert await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""


async def test_wait_helpers_fail_with_a_request_dump(fake: FakeTelegram, bot: Bot) -> None:
    await fake.send_text(USER, "hi")
    await bot.send_message(USER, "something")
    with pytest.raises(AssertionError, match=r"(?s)never.*sendMessage"):
        await fake.wait_for(lambda: False, timeout=0.05, message="never")
    with pytest.raises(AssertionError):
        await fake.wait_for_bot_message(USER, lambda m: m.text == "other", timeout=0.05)
    # Nobody polls, so the queued update is never fetched.
    with pytest.raises(AssertionError, match="go idle"):
        await fake.wait_idle(timeout=0.1)
    found = await fake.wait_for_bot_message(USER, timeout=0.1)
    assert found.text == "something"


async def test_fixture_helper_and_language(fake: FakeTelegram) -> None:
    fake.add_user(OTHER, language_code="ru", first_name="Иван", username="ivan")
    msg = await fake.send_text(OTHER, "привет", language_code="ru")
    payload = fake.updates[-1].payload["message"]
    assert payload["from"]["language_code"] == "ru"
    assert payload["from"]["username"] == "ivan"
    assert payload["chat"] == {
        "id": OTHER,
        "type": "private",
        "first_name": "Иван",
        "username": "ivan",
    }
    assert fake.message(OTHER, msg.message_id).text == "привет"
    cmd = await fake.send_command(OTHER, "/start promo")
    assert cmd.entities == [{"type": "bot_command", "offset": 0, "length": 6}]


# --------------------------------------------------------------------------- parser units


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("🏟 🏟&lt;<abacaba", "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;<abac aba>", 'Unsupported start tag "abac" at byte offset 13'),
        ("🏟 🏟&lt;<i   =aba>", 'Empty attribute name in the tag "i" at byte offset 13'),
        ("🏟 🏟&lt;<i    aba>", 'Can\'t find end tag corresponding to start tag "i"'),
        ("🏟 🏟&lt;<i    aba  =  ", 'Unclosed start tag "i" at byte offset 13'),
        ("🏟 🏟&lt;<i    aba  =  190azAz-.,", "Unexpected end of name token at byte offset 27"),
        ('🏟 🏟&lt;<i    aba  =  "&lt;&gt;&quot;>', "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;</", "Unexpected end tag at byte offset 13"),
        ("🏟 🏟&lt;<b></b></", "Unexpected end tag at byte offset 20"),
        ("🏟 🏟&lt;<i>a</i   ", "Unclosed end tag at byte offset 17"),
        (
            "🏟 🏟&lt;<i>a</em   >",
            'Unmatched end tag at byte offset 17, expected "</i>", found "</em>"',
        ),
        ('<tg-emoji emoji-id="x">y</tg-emoji>', "Invalid custom emoji identifier specified"),
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ("1 <2", "Unclosed start tag at byte offset 2"),
        (
            "&#xDFDF;",
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units",
        ),
    ],
)
def test_parser_errors(source: str, reason: str) -> None:
    with pytest.raises(HTMLParseError) as info:
        parse_html(source)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    ("source", "text", "entities"),
    [
        ("", "", []),
        ("&ge;&lt;&gt;&amp;&quot;&laquo;&#12345678;", '&ge;<>&"&laquo;&#12345678;', []),
        ("&lt&amp x &#65;&#x42;", "<& x AB", []),
        ("<b></b>x", "x", []),
        (
            "🏟 🏟<i>🏟 &gt;<b aba   =   caba>&lt🏟</b></i>",
            "🏟 🏟🏟 ><🏟",
            [
                {"type": "italic", "offset": 5, "length": 7},
                {"type": "bold", "offset": 9, "length": 3},
            ],
        ),
        ("<B>x</>", "x", [{"type": "bold", "offset": 0, "length": 1}]),
        (
            "<s>a</s><strike>b</strike><del>c</del><u>d</u><ins>e</ins><em>f</em><strong>g</strong>",
            "abcdefg",
            [
                {"type": "strikethrough", "offset": 0, "length": 1},
                {"type": "strikethrough", "offset": 1, "length": 1},
                {"type": "strikethrough", "offset": 2, "length": 1},
                {"type": "underline", "offset": 3, "length": 1},
                {"type": "underline", "offset": 4, "length": 1},
                {"type": "italic", "offset": 5, "length": 1},
                {"type": "bold", "offset": 6, "length": 1},
            ],
        ),
        (
            '<pre><code class="language-py">x</code></pre><code>y</code><pre>z</pre>',
            "xyz",
            [
                {"type": "pre", "offset": 0, "length": 1, "language": "py"},
                {"type": "code", "offset": 1, "length": 1},
                {"type": "pre", "offset": 2, "length": 1},
            ],
        ),
        (
            "<a href=telegram.org>t</a>",
            "t",
            [{"type": "text_link", "offset": 0, "length": 1, "url": "http://telegram.org/"}],
        ),
        ("<a href='javascript:alert(1)'>t</a>", "t", []),
        (
            "<a>https://x.org/a?b#c</a>",
            "https://x.org/a?b#c",
            [{"type": "text_link", "offset": 0, "length": 19, "url": "https://x.org/a?b#c"}],
        ),
        (
            '<a href="tg://user?id=42">u</a>',
            "u",
            [
                {
                    "type": "text_mention",
                    "offset": 0,
                    "length": 1,
                    "user": {"id": 42, "is_bot": False, "first_name": ""},
                }
            ],
        ),
        (
            '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
            "👍",
            [
                {
                    "type": "custom_emoji",
                    "offset": 0,
                    "length": 2,
                    "custom_emoji_id": "5368324170671202286",
                }
            ],
        ),
        (
            "<blockquote>q</blockquote><blockquote expandable>r</blockquote>",
            "qr",
            [
                {"type": "blockquote", "offset": 0, "length": 1},
                {"type": "expandable_blockquote", "offset": 1, "length": 1},
            ],
        ),
        (
            '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>',
            "st",
            [
                {"type": "spoiler", "offset": 0, "length": 1},
                {"type": "spoiler", "offset": 1, "length": 1},
            ],
        ),
    ],
)
def test_parser_results(source: str, text: str, entities: list[dict[str, Any]]) -> None:
    assert parse_html(source) == (text, entities)


# --------------------------------------------------------------------------- webhook delivery


class Receiver:
    """A webhook endpoint for the fake to deliver to: records each request and answers with
    the next queued status (200 once the queue is empty); ``hold`` keeps the next request's
    answer until released."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.statuses: list[int] = []
        self.hold: asyncio.Event | None = None
        self._runner: aiohttp.web.AppRunner | None = None
        self.url = ""

    async def _handle(self, request: aiohttp.web.Request) -> aiohttp.web.Response:
        self.requests.append((dict(request.headers), await request.json()))
        hold, self.hold = self.hold, None
        if hold is not None:
            await hold.wait()
        status = self.statuses.pop(0) if self.statuses else 200
        return aiohttp.web.json_response({}, status=status)

    async def __aenter__(self) -> Receiver:
        app = aiohttp.web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = aiohttp.web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = aiohttp.web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def update_ids(self) -> list[int]:
        return [body["update_id"] for _headers, body in self.requests]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as server:
        yield server


async def test_webhook_delivers_updates_with_the_secret(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    assert await bot.set_webhook(
        receiver.url,
        secret_token="s3cret_-X",
        allowed_updates=["message", "callback_query"],
        drop_pending_updates=False,
    )
    sent = await fake.send_text(USER, "hello")
    await fake.wait_for(lambda: len(receiver.requests) == 1, message="a delivery")
    headers, body = receiver.requests[0]
    assert headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cret_-X"
    assert body["message"]["text"] == "hello"
    assert body["message"]["message_id"] == sent.message_id
    await fake.wait_idle()
    info = await bot.get_webhook_info()
    assert info.url == receiver.url
    assert info.pending_update_count == 0
    assert info.allowed_updates == ["callback_query", "message"]
    assert info.last_error_message is None
    assert [d.delivered for d in fake.deliveries] == [True]


async def test_get_updates_conflicts_while_a_webhook_is_set(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    waiting = asyncio.create_task(bot.get_updates(timeout=10))
    await fake.wait_for(lambda: fake.polling_active, message="a long poll")
    await bot.set_webhook(receiver.url)
    # A long poll that waits is ended too.
    with pytest.raises(TelegramConflictError) as info:
        await asyncio.wait_for(waiting, 3)
    assert info.value.message == E_WEBHOOK_ACTIVE
    with pytest.raises(TelegramConflictError) as info:
        await bot.get_updates(timeout=0)
    assert info.value.message == E_WEBHOOK_ACTIVE

    assert await bot.delete_webhook(drop_pending_updates=False)
    assert (await bot.get_webhook_info()).url == ""
    await fake.send_text(USER, "polled again")
    updates = await bot.get_updates(timeout=1)
    assert [u.message.text for u in updates if u.message] == ["polled again"]
    assert receiver.requests == []


async def test_webhook_retries_a_non_2xx_answer(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    receiver.statuses = [500, 401]
    await bot.set_webhook(receiver.url, secret_token="abc")
    await fake.send_text(USER, "again and again")
    await fake.wait_idle()
    assert len(receiver.requests) == 3
    assert len(set(receiver.update_ids())) == 1
    assert [(d.attempt, d.status, d.delivered) for d in fake.deliveries] == [
        (1, 500, False),
        (2, 401, False),
        (3, 200, True),
    ]
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 401 Unauthorized"


async def test_webhook_retries_an_answer_that_times_out(receiver: Receiver) -> None:
    async with running_fake_telegram(webhook_timeout=0.3) as fake:
        bot = make_bot(fake)
        try:
            receiver.hold = asyncio.Event()  # never set: the first answer never comes
            await bot.set_webhook(receiver.url)
            await fake.send_text(USER, "slow")
            await fake.wait_for(
                lambda: any(d.delivered for d in fake.deliveries), message="a second delivery"
            )
            assert [d.error for d in fake.deliveries] == ["Read timeout expired", None]
            assert len(receiver.requests) == 2
            assert len(set(receiver.update_ids())) == 1
        finally:
            await bot.session.close()


async def test_lost_webhook_answer_delivers_the_update_again(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    fake.lose_webhook_answer()
    await bot.set_webhook(receiver.url)
    await fake.send_text(USER, "once")
    await fake.wait_idle()
    assert len(receiver.requests) == 2
    assert receiver.update_ids()[0] == receiver.update_ids()[1]
    assert [d.error for d in fake.deliveries] == ["Read timeout expired", None]


async def test_webhook_keeps_to_allowed_updates(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    fake.add_user(USER)
    await bot.send_message(USER, "menu", reply_markup=kb([("A", "a")]))
    await bot.set_webhook(receiver.url, allowed_updates=["message"])
    await fake.tap(USER, fake.last_bot_message(USER).message_id, "a")
    await fake.send_text(USER, "text")
    await fake.wait_idle()
    assert [body["message"]["text"] for _h, body in receiver.requests] == ["text"]


async def test_webhook_waits_for_the_bot_and_drops_pending_on_request(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    await fake.send_text(USER, "before")
    await bot.set_webhook(receiver.url, drop_pending_updates=True)
    await fake.send_text(USER, "after")
    await fake.wait_idle()
    assert [body["message"]["text"] for _h, body in receiver.requests] == ["after"]


@pytest.mark.parametrize(
    ("url", "secret", "description"),
    [
        ("http://example.com/hook", None, E_WEBHOOK_HTTPS),
        ("https://example.com:8080/hook", None, E_WEBHOOK_PORT),
        ("https://example.com/hook", None, E_WEBHOOK_HOST),
        ("http://127.0.0.1:1/hook", "with space", E_SECRET_CHARS),
        ("http://127.0.0.1:1/hook", "x" * 257, E_SECRET_LONG),
    ],
)
async def test_set_webhook_refuses_what_telegram_refuses(
    fake: FakeTelegram, bot: Bot, url: str, secret: str | None, description: str
) -> None:
    with pytest.raises(TelegramBadRequest) as info:
        await bot.set_webhook(url, secret_token=secret)
    assert info.value.message == description
    assert fake.webhook is None
