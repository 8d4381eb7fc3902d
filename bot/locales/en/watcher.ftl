# The install watcher's pushes.

watch-ready =
    ✅ <b>Your server is ready</b>
    Name: <b>{ $name }</b>
    IP: <code>{ $ip }</code>
    OS: { $template }
    Order: { $order }
watch-btn-open = 🖥 Open server
watch-btn-password = 🔑 Show root password
watch-progress =
    ⏳ { $kind ->
        [reinstall] Reinstallation
       *[install] Installation
    } of order { $order } ({ $template }): { $state }, { $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    } so far.
watch-timeout =
    ⌛ The { $kind ->
        [reinstall] reinstallation
       *[install] installation
    } of order { $order } is taking longer than usual ({ $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }). I stopped checking; tap Refresh to look at the server now.
watch-key-invalid =
    ❌ The provider no longer accepts your API key, so I stopped following the installation of order { $order }. Link your account again in Settings.
watch-state-running = running
watch-state-stopped = stopped
watch-state-installing = installing
watch-state-unknown = unknown state
watch-status-started =
    ⏳ <b>{ $kind ->
        [reinstall] Reinstallation
       *[install] Installation
    } started</b> for order { $order }: { $template }.
    I will send you a message when the server is ready.
watch-status-ready =
    ✅ <b>{ $kind ->
        [reinstall] Reinstallation
       *[install] Installation
    } finished</b> for order { $order }: { $template }.
    The server is ready at <code>{ $ip }</code>.
watch-status-timeout =
    ⌛ <b>{ $kind ->
        [reinstall] Reinstallation
       *[install] Installation
    } is taking longer than usual</b> for order { $order }: { $template }, { $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    } so far. I stopped checking; open the server to look at it.
watch-status-stopped =
    ❌ I stopped following the { $kind ->
        [reinstall] reinstallation
       *[install] installation
    } of order { $order }: the provider no longer accepts your API key.
watch-status-not-sent =
    ⚠️ <b>The { $kind ->
        [reinstall] reinstallation
       *[install] installation
    } of order { $order } may not have been sent</b> ({ $template }).
watch-not-sent =
    ⚠️ <b>The { $kind ->
        [reinstall] reinstallation
       *[install] installation
    } of order { $order } ({ $template }) may not have been sent.</b>
    The provider's answer never reached me, and the server shows no sign of it. Open the server to check, or start again: you will be asked to confirm.
watch-btn-try-again = { $kind ->
        [reinstall] 🔁 Reinstall again…
       *[install] 🔁 Install again…
    }
watch-ready-team =
    ✅ <b>A server is ready</b> (installed by { $by })
    Name: <b>{ $name }</b>
    IP: <code>{ $ip }</code>
    OS: { $template }
    Order: { $order }
