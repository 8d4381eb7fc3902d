"""Webhook mode (``WEBHOOK_URL``): the aiohttp app (``server``), its metrics (``metrics``) and
the dropping of updates Telegram delivers again (``dedup``). Polling mode imports none of the
app's or the metrics' dependencies."""
