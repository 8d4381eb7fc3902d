# Alerts: pushes about the whole account, and their settings.

alert-down =
    🔴 <b>{ $name }</b> ({ $ip }) is down — state: { $state }
    Account { $cid }, order { $order }.
alert-up =
    🟢 <b>{ $name }</b> ({ $ip }) is back up after { $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }.
    Account { $cid }.
alert-server-unnamed = Server of order { $order }
alert-btn-boot = ▶️ Boot
alert-btn-open = 🖥 Open server
alert-renewal =
    📅 <b>{ $name }</b> (service { $service }, account { $cid }) is due for renewal on { $date } ({ $days ->
        [0] today
        [one] in { $days } day
       *[other] in { $days } days
    }).
    Amount: { $amount }
    Balance: { $balance }
alert-renewal-top-up = Top up at least { $amount } so that it renews.
alert-btn-service = 📦 Open service
alert-service-suspended =
    ⛔ <b>{ $name }</b> (service { $service }, account { $cid }) has been suspended.
alert-service-terminated =
    ⛔ <b>{ $name }</b> (service { $service }, account { $cid }) has been terminated.
alert-unpaid =
    🧾 Order { $order } ({ $product }, { $amount }) of account { $cid } is still unpaid.
alert-unpaid-again =
    🧾 Reminder: order { $order } ({ $product }, { $amount }) of account { $cid } is still unpaid. This is the last reminder.
alert-btn-cancel = ❌ Cancel order
alert-btn-pay = 💳 Pay the invoice
alert-low-balance =
    💰 The balance of account { $cid } is { $balance }, below your threshold of { $threshold }.
alert-key-refused =
    ❌ The provider no longer accepts the API key of account { $cid }, so alerts are paused. Link your account again in Settings.
alert-blocked =
    ❌ The provider refuses the bot's requests for account { $cid } (IP whitelist?), so alerts are paused until it lets them through.

# The server card's toggle.
alert-btn-monitor-on = 🔔 Alert me if it goes down: on
alert-btn-monitor-off = 🔕 Alert me if it goes down: off

# Settings → Notifications.
notify-btn-open = 🔔 Notifications
notify-title = 🔔 <b>Notifications</b> for account { $cid }
notify-help =
    Down alerts are also switched per server, on its card.
    Renewal notices come { $days } days before the due date.
    The low-balance alert comes when the balance falls below { $threshold }.
notify-on = ✅ { $name }
notify-off = ▫️ { $name }
notify-kind-down = Server down / back up
notify-kind-renewals = Renewals due
notify-kind-unpaid = Unpaid orders
notify-kind-low-balance = Low balance
notify-kind-team-ready = Teammates' servers ready
notify-btn-days = 📅 Notice days: { $days }
notify-btn-threshold = 💰 Threshold: { $threshold }
notify-threshold-prompt = Send the balance below which you want an alert, e.g. <code>10</code> or <code>25.50</code>.
notify-threshold-invalid = That is not an amount. Send a number such as <code>10</code> or <code>25.50</code> (0 to 1000000).
notify-threshold-saved = Threshold saved: { $threshold }.
