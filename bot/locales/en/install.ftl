# The install / reinstall wizard.

install-header-install = 💿 <b>Install an OS</b> · order <code>{ $order }</code>
install-header-reinstall = ♻️ <b>Reinstall the OS</b> · order <code>{ $order }</code> · server <code>{ $ip }</code>

install-order-invalid = ⚠️ This button does not point to a valid order. Open the server again from the menu.
install-order-not-yours = ⚠️ Order { $order } is not in your account. Open your servers from the menu and try again.
install-order-not-paid = ⚠️ Order { $order } is not paid yet (status: { $status }). An OS can only be installed on a paid order.
install-order-refused = ⚠️ The provider did not confirm order { $order } as yours: { $reason }
install-no-server = ⚠️ Order { $order } has no server yet, so there is nothing to reinstall. Use "Install OS" on the server card instead.
install-server-busy = ⏳ The server of order { $order } is being installed right now. Wait until it is running, then try again.
install-has-server = ℹ️ Order { $order } already has a server (<code>{ $ip }</code>). To put a different OS on it, reinstall it — that erases its data.
install-btn-reinstall-instead = ♻️ Reinstall instead…
install-btn-server = 🖥 Open the server

install-step-template = <b>Step 1 of 3 — operating system.</b> Choose the OS to install.
install-filter-hint = { $count ->
    [one] { $count } template available.
   *[other] { $count } templates available.
} Type a word (e.g. <i>debian</i>) to narrow the list.
install-filter-on = 🔎 Filter: <b>{ $filter }</b> — { $count ->
    [one] { $count } match.
   *[other] { $count } matches.
}
install-filter-nothing = Nothing matches. Type another word or clear the filter.
install-filter-bad = ⚠️ Type one short word to search for (up to { $max } characters), e.g. <i>ubuntu</i>.
install-btn-clear-filter = ✖️ Clear the filter
install-template-gone = ⚠️ That OS is no longer offered by the provider. Pick another one.

install-step-keys = <b>Step 2 of 3 — SSH keys</b> for { $os }. Tap keys to select or unselect them.
install-keys-none-yet = You have no SSH keys in your account yet.
install-keys-selected = { $count ->
    [one] ✅ { $count } key selected.
   *[other] ✅ { $count } keys selected.
}
install-keys-password-hint = No key selected: you will log in as root with the password, which the server card shows once the installation is done.
install-keys-vanished = ⚠️ A key you had selected no longer exists in your account; it was unselected.
install-key-unknown = ⚠️ That key is not in your account (any more). Choose from the list.
install-key-preselected = It is selected for this installation.
install-btn-key-on = ✅ { $name }
install-btn-key-off = ⬜ { $name }
install-btn-add-key = ➕ Add a key
install-btn-continue-keys = { $count ->
    [one] Continue with { $count } key »
   *[other] Continue with { $count } keys »
}
install-btn-continue-no-key = Continue without a key »
install-btn-back-to-keys = « Back to the keys
install-btn-change-os = « Change the OS
install-btn-change-keys = « Change the keys
install-btn-cancel = ✖️ Cancel

install-summary =
    <b>Step 3 of 3 — check and confirm.</b>
    OS: <b>{ $os }</b> (<code>{ $template }</code>)
    SSH keys: { $keys }
install-summary-more-keys = { $count ->
    [one] and { $count } more key
   *[other] and { $count } more keys
}
install-summary-no-keys = none — log in as root with the password
install-check-ok = ✅ The provider checked these settings: { $message }
install-check-failed = ❌ The provider rejected these settings: { $reason }
    Change the OS or the keys and try again.
install-check-needed = ⚠️ These settings have not been checked yet. Check them first.
install-btn-check = 🔎 Check the settings
install-confirm-install = Tap <b>Install</b> to start. The installation takes a few minutes; I will tell you when the server is ready.
install-confirm-reinstall = Reinstalling replaces the whole server. You will be asked once more.
install-btn-install = ✅ Install
install-btn-reinstall = ♻️ Reinstall…

install-erase-warning =
    ⚠️ <b>Reinstalling ERASES ALL DATA on server { $ip }</b> (order { $order }): every file, database and setting on it is deleted for good. It cannot be undone.
    New OS: <b>{ $os }</b>.
    Tap the button below only if you really want that.
install-btn-erase = 🗑 Yes, erase { $ip }
install-btn-keep = ✖️ No, keep my data

install-confirmation-used = ⌛ This confirmation was already used or has expired. Nothing was sent again.
install-queued =
    ⏳ <b>Installation queued</b> for order { $order }: { $os }.
    The provider says: { $message }
    I will send you a message when the server is ready.
install-outcome-unknown = ⚠️ The provider did not answer clearly, so I cannot tell yet whether the installation of order { $order } started. I did not send it again. I am checking the server and will tell you what I find.
install-already-creating = ⏳ The server of order { $order } is already being created, so nothing new was started. Wait until the current installation is finished.
install-run-failed = ❌ The provider refused the installation: { $reason }
install-cancelled = Cancelled. Nothing was installed.
install-expired = ⌛ This installation dialog has expired. Open the server again to start over.
install-reinstall-queued =
    ⏳ <b>Reinstallation queued</b> for order { $order }: { $os }.
    The provider says: { $message }
    I will send you a message when the server is ready.
