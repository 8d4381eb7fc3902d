# Мои серверы, карточка сервера, управление питанием и root-пароль.

## Список

servers-title = <b>🖥 Мои серверы</b>
servers-count = { $count ->
    [one] У вас { $count } сервер.
    [few] У вас { $count } сервера.
    [many] У вас { $count } серверов.
   *[other] У вас { $count } сервера.
}
servers-empty = У вас пока нет серверов. Купите сервер — и он появится здесь.
servers-item = • <b>{ $name }</b> · <code>{ $ip }</code> · { $status }
servers-item-no-ip = • <b>{ $name }</b> · IP ещё нет · { $status }
servers-page = Страница { $page } из { $pages }
servers-pending = { $count ->
    [one] 🧾 { $count } неоплаченный заказ ждёт в разделе «Заказы».
    [few] 🧾 { $count } неоплаченных заказа ждут в разделе «Заказы».
    [many] 🧾 { $count } неоплаченных заказов ждут в разделе «Заказы».
   *[other] 🧾 { $count } неоплаченного заказа ждут в разделе «Заказы».
}
servers-btn-find = 🔎 Найти по IP
servers-btn-list = « Мои серверы
servers-btn-open = 🖥 Открыть сервер

## Поиск по IP

servers-find-prompt =
    🔎 Пришлите IP-адрес сервера, например <code>37.1.0.111</code>.
servers-find-invalid =
    ❌ Это не IP-адрес. Пришлите только адрес, например <code>37.1.0.111</code>.
servers-find-not-found =
    В вашем аккаунте нет сервера с IP-адресом <code>{ $ip }</code>. Пришлите другой адрес или нажмите «Отмена».

## Карточка

servers-card =
    🖥 <b>{ $name }</b>
    IP: <code>{ $ip }</code>
    Заказ: <code>{ $order }</code> · { $order_status }
    Услуга: { $product_status }
    Состояние: { $state }
servers-card-installing =
    ⏳ <b>Заказ <code>{ $order }</code></b> · { $order_status }
    Сервер устанавливается: { $state }.
    Нажмите «Обновить», чтобы проверить ещё раз.
servers-card-no-server =
    🖥 <b>Заказ <code>{ $order }</code></b> · { $order_status }
    Заказ оплачен, но сервер на нём ещё не установлен. Выберите операционную систему для установки.
servers-card-unpaid =
    🧾 <b>Заказ <code>{ $order }</code> ещё не оплачен.</b>
    Оплатите (или отмените) его в разделе «Заказы». После оплаты здесь можно будет установить операционную систему.
servers-card-inactive =
    🖥 <b>Заказ <code>{ $order }</code></b> · { $order_status }
    Заказ не активен, поэтому управлять сервером отсюда нельзя.
servers-unnamed = сервер заказа { $order }
servers-no-ip = ещё не назначен
servers-not-found =
    ❌ Такого сервера нет в вашем аккаунте. Возможно, он удалён или кнопка относится к другому аккаунту.

servers-order-status = { $status ->
    [Active] активен
    [Pending] ожидает оплаты
    [Suspended] приостановлен
    [Cancelled] отменён
    [Terminated] закрыт
    [Fraud] заблокирован
   *[other] { $status }
}
servers-product-status = { $status ->
    [Active] активна
    [Pending] ожидает оплаты
    [Suspended] приостановлена
    [Cancelled] отменена
    [Terminated] закрыта
    [Fraud] заблокирована
   *[other] { $status }
}
servers-power = { $state ->
    [running] 🟢 работает
    [stopped] 🔴 выключен
    [installing] ⏳ устанавливается
    [unknown] ❔ неизвестно
   *[other] { $state }
}

servers-btn-reboot = 🔁 Перезагрузить
servers-btn-stop = ⏹ Выключить
servers-btn-boot = ▶️ Включить
servers-btn-install = 💿 Установить ОС
servers-btn-reinstall = 💿 Переустановить ОС
servers-btn-password = 🔑 Показать root-пароль
servers-btn-service = 📄 Об услуге

## Питание

power-confirm-reboot =
    🔁 Перезагрузить <b>{ $name }</b> (<code>{ $ip }</code>)?
    Программы на сервере будут перезапущены; всё, что не сохранено на диск, пропадёт.
power-confirm-stop =
    ⏹ Выключить <b>{ $name }</b> (<code>{ $ip }</code>)?
    Всё на сервере остановится, пока вы снова его не включите.
power-btn-confirm-reboot = ✅ Да, перезагрузить
power-btn-confirm-stop = ✅ Да, выключить
power-done-reboot = ✅ Команда перезагрузки отправлена.
power-done-stop = ✅ Команда выключения отправлена.
power-done-boot = ✅ Команда включения отправлена.
power-failed = ❌ Команда не выполнена.
power-outcome-unknown = ⏳ Провайдер не ответил вовремя или ответил непонятно, поэтому команда могла как выполниться, так и нет. Повторно я её не отправлял: проверьте состояние сервера, прежде чем пробовать снова.
power-btn-check-server = 🖥 Проверить сервер
power-already-done =
    ⌛ Эта кнопка уже нажата или устарела, поэтому повторно ничего не отправлено. Сервер сейчас:

## Root-пароль

password-message =
    🔑 Root-пароль сервера <b>{ $name }</b> (<code>{ $ip }</code>):
    <tg-spoiler><code>{ $password }</code></tg-spoiler>

    { $expiry }
password-expiry-minutes = { $minutes ->
    [one] 🗑 Сообщение будет удалено через { $minutes } минуту.
    [few] 🗑 Сообщение будет удалено через { $minutes } минуты.
    [many] 🗑 Сообщение будет удалено через { $minutes } минут.
   *[other] 🗑 Сообщение будет удалено через { $minutes } минуты.
}
password-expiry-seconds = { $seconds ->
    [one] 🗑 Сообщение будет удалено через { $seconds } секунду.
    [few] 🗑 Сообщение будет удалено через { $seconds } секунды.
    [many] 🗑 Сообщение будет удалено через { $seconds } секунд.
   *[other] 🗑 Сообщение будет удалено через { $seconds } секунды.
}
password-unavailable =
    🔑 Провайдер не сообщает root-пароль этого сервера. Возможно, он ещё устанавливается; попробуйте, когда сервер будет готов.
password-btn-delete = 🗑 Удалить сейчас
password-delete-failed = ⚠️ Telegram не дал удалить или скрыть сообщение с паролем. Удалите его сами: удерживайте сообщение → «Удалить».
servers-btn-name = ✏️ Название
servers-ask-name =
    Пришлите название для сервера заказа <code>{ $order }</code>: до 32 символов в одну строку. Все участники аккаунта увидят его вместо названия от провайдера.
    Пришлите { $clear }, чтобы вернуть название провайдера.
servers-name-bad = ❌ Название — от 1 до 32 символов в одну строку (или { $clear }, чтобы убрать). Пришлите другое или /cancel.
servers-name-saved = ✅ Название сохранено.
