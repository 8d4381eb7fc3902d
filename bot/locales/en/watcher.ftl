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
    ⏳ Installation of order { $order } ({ $template }): { $state }, { $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    } so far.
watch-timeout =
    ⌛ The installation of order { $order } is taking longer than usual ({ $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }). I stopped checking; tap Refresh to look at the server now.
watch-key-invalid =
    ❌ The provider no longer accepts your API key, so I stopped following the installation of order { $order }. Link your account again in Settings.
watch-state-running = running
watch-state-stopped = stopped
watch-state-installing = installing
watch-state-unknown = unknown state
