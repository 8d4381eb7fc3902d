# Shared by every screen: main menu, buttons, errors, commands.

demo-mark = 🧪 <b>DEMO</b>

menu-title =
    <b>Inferno VPS</b> · { $account }
    Choose what to do:
menu-title-unlinked =
    <b>Inferno VPS</b>
    Your Inferno account is not linked yet. Use /start to link it.

btn-servers = 🖥 My servers
btn-buy = 🛒 Buy a server
btn-orders = 📦 Orders
btn-keys = 🔑 SSH keys
btn-balance = 💰 Balance
btn-settings = ⚙️ Settings
btn-help = ❓ Help
btn-menu = « Main menu
btn-back = « Back
btn-retry = 🔄 Retry
btn-refresh = 🔄 Refresh
btn-cancel = ✖️ Cancel
btn-yes = ✅ Yes
btn-no = ✖️ No
btn-prev = ‹ Prev
btn-next = Next ›
page-indicator = { $page }/{ $pages }

loading = ⏳ Loading…
cancelled = Cancelled. Nothing was changed.
nothing-to-cancel = There is nothing to cancel.
expired = ⌛ This button has expired. Open the menu again.
unknown-message = 🤔 I work with buttons and a few commands. Open the menu to see what I can do, or send /help.
unknown-command = 🤔 I do not know this command. Open the menu, or send /help for the list.
input-secret-deleted = 🔒 That looked like a password or an API key, so I deleted it from the chat.
unknown-secret-deleted = { input-secret-deleted } If you meant to link an Inferno account, send /start.
not-linked = Your Inferno account is not linked yet. Use /start to link it.

access-denied = Sorry, this bot is private.

error-invalid-credentials = ❌ The provider rejected your client id or API key. Link your account again in Settings.
error-access-denied =
    ⛔ The provider refused requests from this bot's server.
    The Inferno API only answers whitelisted IP addresses: ask Inferno support (a ticket) to whitelist the IP address of the server the bot runs on.
error-provider-unavailable = ⏳ The provider is not answering right now. Try again later.
error-unreadable = ⚠️ The provider sent an unexpected answer. Try again later; if it persists, tell the bot's operator.
error-provider-fail = ⚠️ The provider refused: { $reason }
error-unexpected = ⚠️ Something went wrong. Your data is safe; try again from the menu.

fail-not-pending = this order is not found or is no longer unpaid.
fail-order-not-found = this order was not found in your account.
fail-order-not-active = this order is not paid yet.
fail-unknown-template = the provider does not know this OS template.
fail-insufficient-funds = not enough money on the balance.
fail-already-creating = the server is already being created. Wait until the current installation finishes.

cmd-start = Start and link your Inferno account
cmd-menu = Main menu
cmd-servers = My servers
cmd-keys = SSH keys
cmd-help = Help
cmd-cancel = Cancel the current step
cmd-logout = Unlink your Inferno account

## Dates ("10 Dec 2026")

date-day-month-year = { $day } { $month } { $year }
date-month-1 = Jan
date-month-2 = Feb
date-month-3 = Mar
date-month-4 = Apr
date-month-5 = May
date-month-6 = Jun
date-month-7 = Jul
date-month-8 = Aug
date-month-9 = Sep
date-month-10 = Oct
date-month-11 = Nov
date-month-12 = Dec
