"""The Inferno VPS provider: API client (``client``), answer models (``models``), errors
(``errors``), the print_r parser (``printr``) and the simulator (``simulator``).

Import from the modules themselves: re-exporting them here made ``python -m
bot.inferno.simulator`` load the HTTP client stack it does not use.
"""
