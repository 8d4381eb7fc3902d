# Onboarding (/start, linking), settings and the balance screen.

start-greeting = 👋 Hi, { $name }!
start-link-intro =
    I manage your <b>Inferno VPS</b> servers: buy, install, reboot, and tell you when a server is ready.
    First link your Inferno account. Choose how:
    • <b>Client id + API key</b> — both are in the Inferno control panel.
    • <b>Email + password</b> — I ask Inferno for your current API key and forget the password at once.

link-btn-key = 🔑 Client id + API key
link-btn-email = 📧 Email + password
link-btn-new-key = ⚠️ Issue a new API key
link-btn-demo = 🧪 Use the demo account
link-btn-link = 🔗 Link account
link-btn-again = 🔄 Try again
link-btn-new-key-confirm = ⚠️ Yes, revoke the old key and issue a new one

link-ask-cid = Send your Inferno <b>client id</b> (cid): digits only, for example <code>777</code>.
link-bad-cid = ❌ That is not a client id. Send only its digits (1 to 12 of them), for example <code>777</code>.
link-send-text = Please send it as a text message.
link-ask-key =
    Client id <code>{ $cid }</code>. Now send your <b>API key</b>.
    🔒 I delete your message with the key right away, check the key with Inferno and only then store it, encrypted.
link-delete-failed = ⚠️ I could not delete your message with the secret. Please delete it yourself now (long-press it → Delete).
link-key-not-text = ❌ Send the API key as a plain text message.
link-key-too-long = ❌ That message has { $count } characters: far too long for an API key (at most 128). Nothing was stored. Send just the key.
link-key-spaces = ❌ An API key has no spaces or line breaks. Copy just the key and send it again.
link-key-too-short = ❌ That is too short for an API key (at least 8 characters). Send the whole key.
link-key-bad-chars = ❌ That key contains characters an API key cannot have. Copy it again from the control panel.
link-invalid-key = ❌ Inferno rejected this key for client id <code>{ $cid }</code>. Nothing was stored. Check the key and send it again, or start over.
link-access-denied =
    ⛔ Inferno refused requests from this bot's server, so the key could not be checked. Nothing was stored.
    The Inferno API only answers whitelisted IP addresses: open a support ticket asking Inferno to whitelist the IP address of the server this bot runs on. Then send the key again.
link-unavailable = ⏳ Inferno is not answering right now, so the key could not be checked. Nothing was stored. Try again later: send the key again.
link-send-key-again = Nothing was stored. Send the key again, or start over.
link-done =
    ✅ Inferno account <code>{ $cid }</code> is linked.
    Key: <code>{ $masked }</code> (stored encrypted).
link-done-balance = 💰 Balance: <b>{ $amount }</b>

link-ask-email = Send the <b>email</b> of your Inferno account.
link-bad-email = ❌ That does not look like an email address. Send it like <code>name@example.com</code>.
link-ask-password =
    Now send your Inferno <b>password</b>.
    🔒 I delete the message at once, use the password for this one request and never store it.
link-password-not-text = ❌ Send the password as a plain text message.
link-password-too-long = ❌ That is too long for a password. Nothing was sent to Inferno. Send the password again.
link-wrong-password = ❌ Inferno did not accept this email and password. Nothing was stored. Send your email again.
link-access-denied-email =
    ⛔ Inferno refused requests from this bot's server. Nothing was stored.
    The Inferno API only answers whitelisted IP addresses: open a support ticket asking Inferno to whitelist the IP address of the server this bot runs on, then try again.
link-unavailable-email = ⏳ Inferno is not answering right now. Nothing was stored. Try again later.

link-new-key-warning =
    ⚠️ <b>Issue a new API key</b>
    Inferno will create a new key and <b>revoke your current one</b>: scripts, panels and other bots that use the old key stop working at once.
    Use this only if the old key leaked or you do not know it. Otherwise link with <b>Email + password</b>, which keeps your key.
    Continue?
link-ask-email-new-key =
    ⚠️ New key mode: the current key will be revoked.
    Send the <b>email</b> of your Inferno account.
link-wrong-password-new-key = ❌ Inferno did not accept this email and password. No new key was issued; your current key still works.
link-new-key-unknown = ⏳ Inferno did not answer. A new key may or may not have been issued: if your old key stops working, link again with <b>Email + password</b>.
link-demo-unavailable = The demo account is not available on this bot.

settings-title = ⚙️ <b>Settings</b>
settings-language = Language: { $language }
settings-lang-name = English
settings-account = Inferno account: <code>{ $cid }</code>, key <code>{ $masked }</code>
settings-account-none = Inferno account: not linked
settings-btn-ru = 🇷🇺 Русский
settings-btn-en = 🇬🇧 English
settings-btn-current = ✓ { $name }
settings-btn-unlink = 🔌 Unlink account
settings-btn-unlink-confirm = ✅ Yes, unlink
settings-unlink-confirm =
    Unlink Inferno account <code>{ $cid }</code>?
    The bot deletes your API key, client id, install notifications and any unfinished dialog. Your servers and orders at Inferno are not touched.
settings-unlinked = ✅ The account is unlinked: your key and client id are deleted from the bot. Use /start to link again.

balance-text = 💰 Balance of account <code>{ $cid }</code>: <b>{ $amount }</b>

credentials-unreadable =
    🔑 The bot cannot read your saved API key, so it cannot use your Inferno account now. Your servers and orders at Inferno are not affected.
    Please link your account again: /start
notice-link-again =
    🔑 Your Inferno account is no longer linked to this bot: its saved API key could no longer be read, so the bot's operator removed it. Your servers and orders at Inferno are not affected.
    Please link your account again: /start

link-wait-seconds = { $count ->
    [one] { $count } second
   *[other] { $count } seconds
}
link-wait-minutes = { $count ->
    [one] { $count } minute
   *[other] { $count } minutes
}
link-wait-hours = { $count ->
    [one] { $count } hour
   *[other] { $count } hours
}
link-wait-user = ⏳ Too many failed attempts to link an account. Nothing was sent to Inferno. You can try again in { $wait }.
link-wait-after-failure = ⏳ That was too many failed attempts: you can try again in { $wait }.
link-wait-everyone = ⏳ This bot has seen too many failed attempts to link an account in the last minute, from all its users together. To keep its access to Inferno, every attempt waits. Nothing was sent to Inferno: try again in { $wait }.
link-pasted-together = 🔒 Your message held the client id and the API key together: I deleted it from the chat and used both.
link-email-pasted-together = 🔒 Your message held more than the email (your password, perhaps), so I deleted it from the chat. I took the email <code>{ $email }</code> from it.
link-demo-hint = 🧪 This bot runs in demo mode: tap <b>🧪 Use the demo account</b> to try every screen without a real account.
