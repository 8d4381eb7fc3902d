# The help screen (/help and the menu's Help button).

help-intro =
    ❓ <b>Help</b>
    This bot runs your <b>Inferno VPS</b> account from Telegram: balance, buying plans, orders, installing or reinstalling an OS, reboot / stop / start, SSH keys. It messages you when a server finishes installing.
help-link =
    <b>Linking your account</b> (/start)
    • <b>Client id + API key</b>: both are in the Inferno control panel (cp.inferno.name). I check the key with Inferno before saving it, and delete your message with the key at once.
    • <b>Email + password</b>: I ask Inferno for your current key. The password is used for that one request, deleted from the chat and never stored.
    • <b>Issue a new API key</b> does the same but revokes your old key: only if it leaked.
help-whitelist =
    <b>IP whitelist</b>
    The Inferno API only answers requests from whitelisted IP addresses. Open a support ticket at Inferno asking to whitelist the IP address of the server this bot runs on; until then every request is refused and the bot tells you so.
help-privacy =
    <b>Privacy</b>
    Stored: your Telegram id, your language, your Inferno client id and API key — the key encrypted with AES-256-GCM — plus open install notifications and a log of the actions you took (without secrets). Passwords are never stored.
    To wipe your account data: Settings → Unlink account, or /logout.
help-commands =
    <b>Commands</b>
    /start — start and link · /menu — main menu · /help — this help
    /cancel — cancel the current step · /logout — unlink the account
