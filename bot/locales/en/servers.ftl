# My servers, the server card, power actions and the root password.

## The list

servers-title = <b>🖥 My servers</b>
servers-count = { $count ->
    [one] You have { $count } server.
   *[other] You have { $count } servers.
}
servers-empty = You have no servers yet. Buy one and it will show up here.
servers-item = • <b>{ $name }</b> · <code>{ $ip }</code> · { $status }
servers-item-no-ip = • <b>{ $name }</b> · no IP yet · { $status }
servers-page = Page { $page } of { $pages }
servers-pending = { $count ->
    [one] 🧾 { $count } unpaid order is waiting in Orders.
   *[other] 🧾 { $count } unpaid orders are waiting in Orders.
}
servers-btn-find = 🔎 Find by IP
servers-btn-list = « My servers
servers-btn-open = 🖥 Open server

## Find by IP

servers-find-prompt =
    🔎 Send the IP address of your server, for example <code>37.1.0.111</code>.
servers-find-invalid =
    ❌ That is not an IP address. Send just the address, for example <code>37.1.0.111</code>.
servers-find-not-found =
    No server with the IP address <code>{ $ip }</code> in your account. Send another address or cancel.

## The card

servers-card =
    🖥 <b>{ $name }</b>
    IP: <code>{ $ip }</code>
    Order: <code>{ $order }</code> · { $order_status }
    Service: { $product_status }
    State: { $state }
servers-card-installing =
    ⏳ <b>Order <code>{ $order }</code></b> · { $order_status }
    The server is being installed: { $state }.
    Tap Refresh to check again.
servers-card-no-server =
    🖥 <b>Order <code>{ $order }</code></b> · { $order_status }
    The order is paid, but no server is installed on it yet. Choose an operating system to install.
servers-card-unpaid =
    🧾 <b>Order <code>{ $order }</code> is not paid yet.</b>
    Pay it (or cancel it) in Orders. Once it is paid, you can install an operating system here.
servers-card-inactive =
    🖥 <b>Order <code>{ $order }</code></b> · { $order_status }
    This order is not active, so the server cannot be controlled from here.
servers-unnamed = server of order { $order }
servers-no-ip = not assigned yet
servers-not-found =
    ❌ This server was not found in your account. It may have been removed, or the button belongs to another account.

servers-order-status = { $status ->
    [Active] active
    [Pending] waiting for payment
    [Suspended] suspended
    [Cancelled] cancelled
    [Terminated] terminated
    [Fraud] blocked
   *[other] { $status }
}
servers-product-status = { $status ->
    [Active] active
    [Pending] waiting for payment
    [Suspended] suspended
    [Cancelled] cancelled
    [Terminated] terminated
    [Fraud] blocked
   *[other] { $status }
}
servers-power = { $state ->
    [running] 🟢 running
    [stopped] 🔴 stopped
    [installing] ⏳ installing
    [unknown] ❔ unknown
   *[other] { $state }
}

servers-btn-reboot = 🔁 Reboot
servers-btn-stop = ⏹ Stop
servers-btn-boot = ▶️ Boot
servers-btn-install = 💿 Install OS
servers-btn-reinstall = 💿 Reinstall OS
servers-btn-password = 🔑 Show root password
servers-btn-service = 📄 Service details

## Power

power-confirm-reboot =
    🔁 Reboot <b>{ $name }</b> (<code>{ $ip }</code>)?
    Programs running on it are restarted; anything not saved to disk is lost.
power-confirm-stop =
    ⏹ Stop <b>{ $name }</b> (<code>{ $ip }</code>)?
    Everything on it stops until you boot it again.
power-btn-confirm-reboot = ✅ Yes, reboot
power-btn-confirm-stop = ✅ Yes, stop
power-done-reboot = ✅ The reboot command was sent.
power-done-stop = ✅ The stop command was sent.
power-done-boot = ✅ The boot command was sent.
power-failed = ❌ The command was not carried out.
power-outcome-unknown = ⏳ The provider did not answer in time or clearly, so the command may or may not have been carried out. I did not send it again: check the server's state before trying again.
power-btn-check-server = 🖥 Check the server
power-already-done =
    ⌛ This button was already used or has expired, so nothing was sent again. Here is the server now:

## Root password

password-message =
    🔑 Root password of <b>{ $name }</b> (<code>{ $ip }</code>):
    <tg-spoiler><code>{ $password }</code></tg-spoiler>

    { $expiry }
password-expiry-minutes = { $minutes ->
    [one] 🗑 This message is deleted in { $minutes } minute.
   *[other] 🗑 This message is deleted in { $minutes } minutes.
}
password-expiry-seconds = { $seconds ->
    [one] 🗑 This message is deleted in { $seconds } second.
   *[other] 🗑 This message is deleted in { $seconds } seconds.
}
password-unavailable =
    🔑 The provider reports no root password for this server. It may still be installing; try again when it is ready.
password-btn-delete = 🗑 Delete now
password-delete-failed = ⚠️ Telegram did not let me delete or hide the password message. Please delete it yourself: long-press it → Delete.
servers-btn-name = ✏️ Name
servers-ask-name =
    Send a name for the server of order <code>{ $order }</code>: up to 32 characters on one line. Every member of this account sees it instead of the provider's name.
    Send { $clear } to go back to the provider's name.
servers-name-bad = ❌ A name has 1 to 32 characters on one line (or { $clear } to remove it). Send another, or /cancel.
servers-name-saved = ✅ Name saved.
