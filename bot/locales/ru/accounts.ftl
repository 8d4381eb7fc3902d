# Несколько аккаунтов у одного человека; аккаунт, о котором экран или уведомление.

account-name-labeled = <b>{ $label }</b> (<code>{ $cid }</code>)
account-name-plain = аккаунт <code>{ $cid }</code>
push-account = 👤 { $account }
role-owner = владелец
role-admin = администратор
role-operator = оператор
role-viewer = наблюдатель

settings-btn-accounts = 👥 Аккаунты
settings-account-shared = Аккаунт Inferno: <code>{ $cid }</code>, открыт вам ({ $role })

accounts-title = 👥 <b>Ваши аккаунты Inferno</b>
accounts-none = Пока не привязано ни одного аккаунта.
accounts-line = { $active ->
    [yes] ✅
   *[no] ▫️
} { $account } — { $role }
accounts-hint = Аккаунт с ✅ активен: его открывает меню. Кнопки всегда действуют на тот аккаунт, для которого были показаны.
accounts-btn-add = ➕ Добавить аккаунт
accounts-btn-back = ⬅️ Аккаунты
account-card =
    { $account }
    Ваша роль: { $role }
account-card-active = ✅ Это ваш активный аккаунт.
account-btn-switch = ✅ Сделать активным
account-btn-rename = ✏️ Переименовать
account-switched = ✅ Активный аккаунт: { $account }
account-ask-label =
    Пришлите название для: { $account } — до 32 символов в одну строку.
    /cancel оставит прежнее.
account-label-bad = ❌ Название — от 1 до 32 символов в одну строку. Пришлите другое или /cancel.
account-label-saved = ✅ Переименовано: { $account }
account-access-lost = ⛔ Эта кнопка относится к аккаунту, которым вы здесь больше не можете пользоваться.
