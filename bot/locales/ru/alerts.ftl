# Уведомления обо всём аккаунте и их настройки.

alert-down =
    🔴 <b>{ $name }</b> ({ $ip }) не работает — состояние: { $state }
    Аккаунт { $cid }, заказ { $order }.
alert-up =
    🟢 <b>{ $name }</b> ({ $ip }) снова работает, простой { $minutes ->
        [one] { $minutes } минута
        [few] { $minutes } минуты
       *[many] { $minutes } минут
    }.
    Аккаунт { $cid }.
alert-server-unnamed = Сервер заказа { $order }
alert-btn-boot = ▶️ Включить
alert-btn-open = 🖥 Открыть сервер
alert-renewal =
    📅 <b>{ $name }</b> (услуга { $service }, аккаунт { $cid }) нужно продлить до { $date } ({ $days ->
        [0] сегодня
        [one] через { $days } день
        [few] через { $days } дня
       *[many] через { $days } дней
    }).
    Сумма: { $amount }
    Баланс: { $balance }
alert-renewal-top-up = Пополните баланс хотя бы на { $amount }, чтобы услуга продлилась.
alert-btn-service = 📦 Открыть услугу
alert-service-suspended =
    ⛔ <b>{ $name }</b> (услуга { $service }, аккаунт { $cid }) приостановлена.
alert-service-terminated =
    ⛔ <b>{ $name }</b> (услуга { $service }, аккаунт { $cid }) удалена.
alert-unpaid =
    🧾 Заказ { $order } ({ $product }, { $amount }) аккаунта { $cid } всё ещё не оплачен.
alert-unpaid-again =
    🧾 Напоминание: заказ { $order } ({ $product }, { $amount }) аккаунта { $cid } всё ещё не оплачен. Больше напоминаний не будет.
alert-btn-cancel = ❌ Отменить заказ
alert-btn-pay = 💳 Оплатить счёт
alert-low-balance =
    💰 Баланс аккаунта { $cid }: { $balance } — ниже вашего порога { $threshold }.
alert-key-refused =
    ❌ Провайдер больше не принимает API-ключ аккаунта { $cid }, уведомления приостановлены. Привяжите аккаунт заново в настройках.
alert-blocked =
    ❌ Провайдер отклоняет запросы бота для аккаунта { $cid } (белый список IP?), уведомления приостановлены, пока он их не пропустит.

# Переключатель на карточке сервера.
alert-btn-monitor-on = 🔔 Сообщать, если сервер упадёт: вкл.
alert-btn-monitor-off = 🔕 Сообщать, если сервер упадёт: выкл.

# Настройки → Уведомления.
notify-btn-open = 🔔 Уведомления
notify-title = 🔔 <b>Уведомления</b> аккаунта { $cid }
notify-help =
    Уведомления о падении включаются и для каждого сервера — на его карточке.
    О продлении напомню за { $days } дн. до срока.
    О низком балансе сообщу, когда он опустится ниже { $threshold }.
notify-on = ✅ { $name }
notify-off = ▫️ { $name }
notify-kind-down = Сервер упал / снова работает
notify-kind-renewals = Продление услуг
notify-kind-unpaid = Неоплаченные заказы
notify-kind-low-balance = Низкий баланс
notify-kind-team-ready = Серверы коллег готовы
notify-btn-days = 📅 Напоминать за: { $days }
notify-btn-threshold = 💰 Порог: { $threshold }
notify-threshold-prompt = Пришлите сумму, ниже которой нужно предупредить, например <code>10</code> или <code>25.50</code>.
notify-threshold-invalid = Это не сумма. Пришлите число, например <code>10</code> или <code>25.50</code> (от 0 до 1000000).
notify-threshold-saved = Порог сохранён: { $threshold }.
