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
role-not-allowed = ⛔ Not allowed: your role in this account does not include that. Nothing was done.
role-can-viewer = A viewer sees the servers and their state, orders, services and the balance; no root password, no actions.
role-can-operator = An operator sees what a viewer sees, and can reboot, stop and boot servers.
role-can-admin = An admin can do everything the owner can on servers and orders: buy, cancel, install, reinstall, SSH keys, root passwords.

account-btn-members = 👥 Members
member-unnamed = user { $id }
members-title = 👥 <b>Members of { $account }</b>
members-line = • { $name } — { $role }, since { $date }
members-invites = { $count ->
    [one] One invite is waiting to be answered.
   *[other] { $count } invites are waiting to be answered.
}
members-btn-invite = ➕ Invite
members-btn-revoke-invite = ✖️ Revoke the { $role } invite
members-btn-back = ⬅️ Members
members-btn-role = { $role }
members-btn-make = Make { $role }
members-btn-revoke = 🚫 Revoke access
members-btn-revoke-confirm = 🚫 Yes, revoke
members-pick-role = Invite someone to { $account }. Which role?
members-invite-link =
    Send this link to your teammate. It works once, for 24 hours, and you can revoke it until it is used. It carries no key.
    Account: { $account }
    Role: { $role }
    { $link }
members-invite-revoked = ✅ The invite is revoked: its link no longer works.
members-invite-gone = That invite was already used, revoked or expired.
members-gone = That member is no longer in this account.
members-card =
    <b>{ $name }</b>
    Role: { $role }
    Member since { $date }
members-revoke-confirm = Revoke the access of { $name } to { $account }? Their buttons stop working at once.
members-revoked = ✅ { $name } no longer has access.

invite-invalid = ❌ This invite is not valid: it was used, revoked or has expired. Ask for a new link.
invite-own = This invite is for an account you own.
invite-offer =
    { $owner } invites you to an Inferno account: { $account }, as <b>{ $role }</b>.
    { $can }
    You never see the account's API key.
invite-btn-accept = ✅ Accept
invite-btn-decline = ✖️ Decline
invite-declined = You declined the invite.
invite-joined = ✅ You joined { $account } as { $role }.
invite-owner-accepted = ✅ { $name } accepted your invite: { $account }, as { $role }.
invite-owner-declined = ✖️ { $name } declined your invite to { $account } ({ $role }).

account-btn-history = 📜 History
history-title = 📜 <b>History of { $account }</b> (times in { $zone })
history-empty = Nothing has been done on this account through the bot yet.
history-line = • { $when } · { $who }: { $what }{ $detail ->
    [none] {""}
   *[other] {" "}({ $detail })
}{ $order ->
    [none] {""}
   *[other] {" "}· order <code>{ $order }</code>
} — { $outcome }
history-done = ✅ done
history-refused = ⛔ refused by the provider
history-failed = ❌ failed
history-pending = ⏳ outcome not known yet
history-buy = bought
history-cancel = cancelled an order
history-install = installed
history-reinstall = reinstalled
history-reboot = rebooted
history-stop = stopped
history-boot = booted
history-sshkey-add = added an SSH key
history-sshkey-remove = removed an SSH key
history-password = viewed a root password
history-newkey = issued a new API key
history-unlink = unlinked
history-member-invite = invited a member
history-member-join = joined
history-member-role = changed a role
history-member-revoke = revoked a member
settings-leave-confirm =
    Give up your access to { $account }?
    The account stays with its owner and their team; you can only come back with a new invite.
