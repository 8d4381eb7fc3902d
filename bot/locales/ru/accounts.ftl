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
role-not-allowed = ⛔ Нельзя: ваша роль в этом аккаунте этого не позволяет. Ничего не сделано.
role-can-viewer = Наблюдатель видит серверы и их состояние, заказы, услуги и баланс; без root-пароля и без действий.
role-can-operator = Оператор видит то же, что наблюдатель, и может перезагружать, выключать и включать серверы.
role-can-admin = Администратор может всё, что владелец, с серверами и заказами: покупать, отменять, устанавливать, переустанавливать, SSH-ключи, root-пароли.

account-btn-members = 👥 Участники
member-unnamed = пользователь { $id }
members-title = 👥 <b>Участники: { $account }</b>
members-line = • { $name } — { $role }, с { $date }
members-invites = { $count ->
    [one] { $count } приглашение ждёт ответа.
    [few] { $count } приглашения ждут ответа.
   *[many] { $count } приглашений ждут ответа.
}
members-btn-invite = ➕ Пригласить
members-btn-revoke-invite = ✖️ Отозвать приглашение ({ $role })
members-btn-back = ⬅️ Участники
members-btn-role = { $role }
members-btn-make = Сделать: { $role }
members-btn-revoke = 🚫 Закрыть доступ
members-btn-revoke-confirm = 🚫 Да, закрыть
members-pick-role = Пригласить в { $account }. Какая роль?
members-invite-link =
    Отправьте эту ссылку коллеге. Она работает один раз, 24 часа, и её можно отозвать, пока ею не воспользовались. Ключа в ней нет.
    Аккаунт: { $account }
    Роль: { $role }
    { $link }
members-invite-revoked = ✅ Приглашение отозвано: ссылка больше не работает.
members-invite-gone = Это приглашение уже использовано, отозвано или истекло.
members-gone = Этого участника в аккаунте больше нет.
members-card =
    <b>{ $name }</b>
    Роль: { $role }
    Участник с { $date }
members-revoke-confirm = Закрыть доступ { $name } к { $account }? Его кнопки сразу перестанут работать.
members-revoked = ✅ У { $name } больше нет доступа.

invite-invalid = ❌ Приглашение недействительно: его использовали, отозвали или срок истёк. Попросите новую ссылку.
invite-own = Это приглашение в ваш собственный аккаунт.
invite-offer =
    { $owner } приглашает вас в аккаунт Inferno: { $account }, роль: <b>{ $role }</b>.
    { $can }
    API-ключ аккаунта вам никогда не показывается.
invite-btn-accept = ✅ Принять
invite-btn-decline = ✖️ Отказаться
invite-declined = Вы отказались от приглашения.
invite-joined = ✅ Вы в аккаунте { $account }, роль: { $role }.
invite-owner-accepted = ✅ { $name } принял(а) приглашение: { $account }, роль: { $role }.
invite-owner-declined = ✖️ { $name } отказался(ась) от приглашения в { $account } ({ $role }).

account-btn-history = 📜 История
history-title = 📜 <b>История: { $account }</b> (время: { $zone })
history-empty = Через бота с этим аккаунтом пока ничего не делали.
history-line = • { $when } · { $who }: { $what }{ $detail ->
    [none] {""}
   *[other] {" "}({ $detail })
}{ $order ->
    [none] {""}
   *[other] {" "}· заказ <code>{ $order }</code>
} — { $outcome }
history-done = ✅ выполнено
history-refused = ⛔ отказ провайдера
history-failed = ❌ не удалось
history-pending = ⏳ результат пока неизвестен
history-buy = купил(а)
history-cancel = отменил(а) заказ
history-install = установил(а)
history-reinstall = переустановил(а)
history-reboot = перезагрузил(а)
history-stop = выключил(а)
history-boot = включил(а)
history-sshkey-add = добавил(а) SSH-ключ
history-sshkey-remove = удалил(а) SSH-ключ
history-password = посмотрел(а) root-пароль
history-newkey = выпустил(а) новый API-ключ
history-unlink = отвязал(а)
history-member-invite = пригласил(а) участника
history-member-join = присоединился(ась)
history-member-role = изменил(а) роль
history-member-revoke = закрыл(а) доступ участнику
settings-leave-confirm =
    Отказаться от доступа к { $account }?
    Аккаунт останется у владельца и его команды; вернуться можно только по новому приглашению.
