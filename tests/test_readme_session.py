"""The README's sample session is what the demo really shows: the session is replayed against
the demo account, its "You:" lines as the user's actions and its "Bot:" lines checked against
what the bot showed (each text piece between "…" and "·", each [button])."""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Services
from bot.inferno.models import Credentials
from tests import harness
from tests.harness import BotEnv, Production, running_bot

UID = 541
README = Path(__file__).resolve().parent.parent / "README.md"
USER, BOT = ("You:", "Вы:"), ("Bot:", "Бот:")


def session() -> list[tuple[str, str]]:
    """(speaker, text) of every line of the README's sample session, continuations joined."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## What a session looks like", 1)[1].split("\n## ", 1)[0]
    entries: list[tuple[str, str]] = []
    for block in re.findall(r"```\n(.*?)```", section, re.DOTALL):
        for line in block.splitlines():
            speaker = next((s for s in USER + BOT if line.startswith(s)), None)
            if speaker is not None:
                entries.append((speaker, line.removeprefix(speaker).strip()))
            elif line.strip():
                speaker, previous = entries[-1]
                entries[-1] = (speaker, f"{previous} {line.strip()}")
    return entries


def normal(text: str) -> str:
    # Full stops and line breaks are where the README joins a message's lines.
    return " ".join(text.replace(".", " ").split())


def pieces(line: str) -> tuple[list[str], list[str]]:
    """A "Bot:" line's text pieces and button labels; a note in brackets first is skipped."""
    line = re.sub(r"^\([^)]*\)", "", line)
    buttons = re.findall(r"\[([^\]]+)\]", line)
    text = re.sub(r"\[[^\]]+\]", " ", line)
    return [normal(p) for p in re.split(r"…| · ", text) if normal(p)], buttons


def shown(env: BotEnv) -> tuple[str, set[str]]:
    """Every text and button label the bot has shown in the chat, edited-away ones included."""
    texts, labels = [], set()
    for msg in env.tg.bot_messages(UID, include_deleted=True):
        texts.append(msg.text)
        labels |= {b.text for b in msg.buttons()}
        for old_text, _html, _entities, markup in msg.history:
            texts.append(old_text)
            for row in (markup or {}).get("inline_keyboard", []):
                labels |= {button["text"] for button in row}
    return normal("\n".join(texts)), labels


async def tap(env: BotEnv, label: str) -> None:
    """Taps ``label`` on the newest message that shows such a button."""
    if label.startswith("/"):
        await env.command(UID, label)
        return
    for msg in reversed(env.tg.bot_messages(UID)):
        if any(label.casefold() in b.text.casefold() for b in msg.buttons()):
            before = env.screen(UID)
            await env.tg.tap_button(UID, label, message_id=msg.message_id)
            await env.answered(UID, before)
            return
    raise AssertionError(f"no message shows a button {label!r}")


async def act(env: BotEnv, line: str) -> None:
    """A "You:" line: ``/command``, ``(tap → tap → …) text`` or ``text ← deleted …``."""
    taps = re.match(r"\((.*?)\)\s*", line)
    if taps is not None:
        for label in taps.group(1).split("→"):
            await tap(env, label.strip())
        line = line[taps.end() :]
    said, _, note = line.partition("←")
    said = said.strip()
    if said.startswith("/"):
        await env.command(UID, said)
    elif said:
        before = env.screen(UID)
        sent = await env.tg.send_text(UID, said)
        await env.answered(UID, before)
        if "deleted" in note:
            assert env.tg.message(UID, sent.message_id).deleted, said


def missing(env: BotEnv, texts: list[str], labels: list[str]) -> list[str]:
    """The pieces of a "Bot:" line the bot has not shown (yet)."""
    seen, seen_labels = shown(env)
    return [t for t in texts if t not in seen] + [f"[{b}]" for b in labels if b not in seen_labels]


async def expect(env: BotEnv, line: str) -> None:
    """Waits until the bot has shown every piece of a "Bot:" line (a push may come later)."""
    check = functools.partial(missing, env, *pieces(line))
    with contextlib.suppress(AssertionError):
        await env.tg.wait_for(lambda: not check(), timeout=10, message=line)
    assert check() == [], f"README: {line}"


@pytest.fixture
async def demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engines: Production | None
) -> AsyncIterator[BotEnv]:
    # What ``python -m bot --demo`` runs: the simulator's demo account, offered by /start.
    async with running_bot(tmp_path, production=engines, start=False) as env:
        account = env.sim.demo()
        monkeypatch.setattr(
            harness,
            "Services",
            functools.partial(Services, demo_account=Credentials(account.cid, account.key)),
        )
        await env.start()
        yield env


def test_the_readme_has_a_session_to_replay() -> None:
    entries = session()
    assert sum(speaker in USER for speaker, _ in entries) >= 6
    assert sum(speaker in BOT for speaker, _ in entries) >= 6


async def test_the_readme_session_is_what_the_demo_shows(demo: BotEnv) -> None:
    env = demo
    env.tg.add_user(UID, first_name="Anna")
    for speaker, line in session():
        if speaker in USER:
            await act(env, line)
            # An install the session starts finishes at once; the ready message follows.
            env.sim.complete_installs()
            continue
        await expect(env, line)
    assert env.tg.errors == []
