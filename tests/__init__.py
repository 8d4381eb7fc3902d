# The bot package comes first, so that aiogram's types are deferred here as in `python -m bot`
# (bot/runtime/lazy_types.py), whichever test module imports aiogram.
import bot  # noqa: F401
