# Уведомления наблюдателя за установкой.

watch-ready =
    ✅ <b>Сервер готов</b>
    Имя: <b>{ $name }</b>
    IP: <code>{ $ip }</code>
    ОС: { $template }
    Заказ: { $order }
watch-btn-open = 🖥 Открыть сервер
watch-btn-password = 🔑 Показать пароль root
watch-progress =
    ⏳ Установка заказа { $order } ({ $template }): { $state }, прошло { $minutes ->
        [one] { $minutes } минута
        [few] { $minutes } минуты
       *[many] { $minutes } минут
    }.
watch-timeout =
    ⌛ Установка заказа { $order } идёт дольше обычного ({ $minutes ->
        [one] { $minutes } минута
        [few] { $minutes } минуты
       *[many] { $minutes } минут
    }). Я перестал проверять; нажмите «Обновить», чтобы посмотреть сервер сейчас.
watch-key-invalid =
    ❌ Провайдер больше не принимает ваш API-ключ, поэтому я перестал следить за установкой заказа { $order }. Привяжите аккаунт заново в настройках.
watch-state-running = работает
watch-state-stopped = выключен
watch-state-installing = устанавливается
watch-state-unknown = неизвестное состояние
