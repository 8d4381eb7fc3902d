"""The router every area of the bot uses: it turns away updates it cannot handle up front.

aiogram offers each update to the routers one after another until one handles it. Every offer
costs it a middleware chain and several copies of the handler data, even when the router's own
filters then turn the update away at once: about 10 µs with this bot's data, and a menu tap
used to pass four routers before reaching its own. :class:`AreaRouter` answers "not mine"
before all that when

* the router has no handler for this kind of update (the private-key router and callback
  queries), or
* the update is a tap that fails one of the router's tap guards (another area's button).

Either way aiogram would have found nothing to call. A tap a guard turns away does not enter
the area at all, as if a root filter had refused it, except that the area's own outer
middlewares (there are none) would not see it either. A router without handlers for an update
is skipped only when it has no sub-routers or outer middlewares for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from aiogram import Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import CallbackQuery, TelegramObject

CALLBACK_QUERY = "callback_query"


class TapGuard(Protocol):
    """A cheap, synchronous check of a tap and the handler data (a string or a dict lookup)."""

    def admits(self, query: CallbackQuery, data: Mapping[str, Any]) -> bool: ...


class AreaRouter(Router):
    def __init__(self, *, name: str) -> None:
        super().__init__(name=name)
        self.tap_guards: tuple[TapGuard, ...] = ()

    def guard_taps(self, *guards: TapGuard) -> None:
        """Only taps every guard admits reach this area's callback handlers (added to any
        guards given before, like aiogram's ``filter``)."""
        self.tap_guards += guards

    async def propagate_event(self, update_type: str, event: TelegramObject, **kwargs: Any) -> Any:
        if update_type == CALLBACK_QUERY and isinstance(event, CallbackQuery):
            for guard in self.tap_guards:
                if not guard.admits(event, kwargs):
                    return UNHANDLED
        observer = self.observers.get(update_type)
        if (
            observer is not None
            and not observer.handlers
            and not observer.outer_middleware
            and not self.sub_routers
        ):
            return UNHANDLED
        return await super().propagate_event(update_type, event, **kwargs)
