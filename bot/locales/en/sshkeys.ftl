# SSH keys: list, add, remove.

sshkeys-title = { $count ->
    [one] 🔑 <b>Your SSH key</b> ({ $count }):
   *[other] 🔑 <b>Your SSH keys</b> ({ $count }):
}
sshkeys-item = <b>{ $number }.</b> { $name } (id { $id })
    { $details }
sshkeys-empty =
    🔑 <b>SSH keys</b>
    You have no SSH keys yet. Add one to log in to new servers without a password.
sshkeys-btn-add = ➕ Add a key
sshkeys-btn-remove = 🗑 Remove { $name }
sshkeys-btn-back = « SSH keys
sshkeys-btn-skip-name = Skip — use the suggested name
sshkeys-btn-other-key = ➕ Try another key

sshkeys-ask-key =
    Paste your <b>public</b> key as one line, as in <code>~/.ssh/id_ed25519.pub</code>:
    <code>ssh-ed25519 AAAA… you@laptop</code>
    Supported: ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521, sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com.
    Never send the private key (the file without <code>.pub</code>).
sshkeys-bad-key =
    ⚠️ That is not a public key I can add: { $reason }
    Paste the contents of your <code>.pub</code> file, or go back.
sshkeys-bad-empty = the message is empty.
sshkeys-bad-too-long = the message is far too long for a public key.
sshkeys-bad-several-keys = it contains more than one key. Send one key per message.
sshkeys-bad-several-lines = it spans several lines. A public key is a single line: copy it again without line breaks.
sshkeys-bad-type-named = the key type “{ $type }” is not supported.
sshkeys-bad-type = it does not start with a supported key type such as ssh-ed25519.
sshkeys-bad-no-body = the key itself (the long AAAA… part) is missing after the type.
sshkeys-bad-base64 = the key body is not valid base64 — part of it may be cut off.
sshkeys-bad-mismatch = the key body does not contain a { $type } key, although the line says so.
sshkeys-bad-weak = an RSA key of { $bits } bits is too weak; use at least 2048 bits or ed25519.
sshkeys-bad-data = the key data is damaged.
sshkeys-bad-file = Please paste the key as text: open the <code>.pub</code> file and copy its single line.
sshkeys-bad-not-text = Please send the public key as a text message.

sshkeys-private-deleted =
    🚨 <b>That was a PRIVATE key.</b> I deleted your message and did not store it.
    Anyone who saw it can log in wherever that key is accepted: consider it compromised. Create a new key pair and remove the old public key from your servers.
    Send me only the public key (the <code>.pub</code> file).
sshkeys-private-not-deleted =
    🚨 <b>That was a PRIVATE key.</b> I did not store it, but I could not delete your message — delete it yourself now.
    Consider the key compromised: create a new key pair and remove the old public key from your servers.

sshkeys-ask-name =
    ✅ Valid key <code>{ $fingerprint }</code>.
    Send a name for it (up to { $max } characters), or tap Skip to call it <b>{ $default }</b>.
sshkeys-bad-name = ⚠️ A name is one line of up to { $max } characters. Send another one, or tap Skip.
sshkeys-nothing-pending = ⌛ There is no key waiting to be added (it may have been added already). Open the list to check.
sshkeys-add-refused = ❌ The provider refused this key: { $reason }
sshkeys-added = ✅ Key <b>{ $name }</b> added (id { $id }).
sshkeys-added-no-id = ✅ Key <b>{ $name }</b> added. The provider did not show it in the list yet; refresh in a moment.
sshkeys-already-there = ℹ️ This key is already in your account as <b>{ $name }</b>; nothing was added.

sshkeys-remove-confirm =
    Remove the key <b>{ $name }</b>?
    { $details }
    New installations will not be able to use it. This does not lock it out of servers where it is already installed: remove it from <code>~/.ssh/authorized_keys</code> there.
sshkeys-btn-remove-yes = 🗑 Yes, remove it
sshkeys-removed = 🗑 Key <b>{ $name }</b> removed.
sshkeys-not-found = ⚠️ That key is not in your account (any more).
sshkeys-confirmation-used = ⌛ This confirmation was already used or has expired. Nothing was removed again.
