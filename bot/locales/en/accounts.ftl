# Several accounts per person, and the account a screen or push is about.

account-name-labeled = <b>{ $label }</b> (<code>{ $cid }</code>)
account-name-plain = account <code>{ $cid }</code>
push-account = 👤 { $account }
role-owner = owner
role-admin = admin
role-operator = operator
role-viewer = viewer

settings-btn-accounts = 👥 Accounts
settings-account-shared = Inferno account: <code>{ $cid }</code>, shared with you ({ $role })

accounts-title = 👥 <b>Your Inferno accounts</b>
accounts-none = No account is linked yet.
accounts-line = { $active ->
    [yes] ✅
   *[no] ▫️
} { $account } — { $role }
accounts-hint = The one marked ✅ is active: the menu opens it. Buttons always act on the account they were shown for.
accounts-btn-add = ➕ Add an account
accounts-btn-back = ⬅️ Accounts
account-card =
    { $account }
    Your role: { $role }
account-card-active = ✅ This is your active account.
account-btn-switch = ✅ Make active
account-btn-rename = ✏️ Rename
account-switched = ✅ Active account: { $account }
account-ask-label =
    Send a name for { $account }: up to 32 characters on one line.
    /cancel keeps the current name.
account-label-bad = ❌ A name has 1 to 32 characters on one line. Send another, or /cancel.
account-label-saved = ✅ Renamed: { $account }
account-access-lost = ⛔ This button belongs to an account you can no longer use here.
