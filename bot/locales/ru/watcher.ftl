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
    ⏳ { $kind ->
        [reinstall] Переустановка
       *[install] Установка
    } заказа { $order } ({ $template }): { $state }, прошло { $minutes ->
        [one] { $minutes } минута
        [few] { $minutes } минуты
       *[many] { $minutes } минут
    }.
watch-timeout =
    ⌛ { $kind ->
        [reinstall] Переустановка
       *[install] Установка
    } заказа { $order } идёт дольше обычного ({ $minutes ->
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
watch-status-started =
    ⏳ <b>{ $kind ->
        [reinstall] Переустановка началась
       *[install] Установка началась
    }</b> для заказа { $order }: { $template }.
    Я напишу, когда сервер будет готов.
watch-status-ready =
    ✅ <b>{ $kind ->
        [reinstall] Переустановка завершена
       *[install] Установка завершена
    }</b> для заказа { $order }: { $template }.
    Сервер готов, адрес <code>{ $ip }</code>.
watch-status-timeout =
    ⌛ <b>{ $kind ->
        [reinstall] Переустановка идёт дольше обычного
       *[install] Установка идёт дольше обычного
    }</b> для заказа { $order }: { $template }, прошло { $minutes ->
        [one] { $minutes } минута
        [few] { $minutes } минуты
       *[many] { $minutes } минут
    }. Я перестал проверять; откройте сервер, чтобы посмотреть.
watch-status-stopped =
    ❌ Я перестал следить за { $kind ->
        [reinstall] переустановкой
       *[install] установкой
    } заказа { $order }: провайдер больше не принимает ваш API-ключ.
watch-status-not-sent =
    ⚠️ <b>{ $kind ->
        [reinstall] Переустановка
       *[install] Установка
    } заказа { $order }, возможно, не была отправлена</b> ({ $template }).
watch-not-sent =
    ⚠️ <b>{ $kind ->
        [reinstall] Переустановка
       *[install] Установка
    } заказа { $order } ({ $template }), возможно, не была отправлена.</b>
    Ответ провайдера до меня не дошёл, и на сервере нет её признаков. Откройте сервер и проверьте или начните заново: я попрошу подтвердить.
watch-btn-try-again = { $kind ->
        [reinstall] 🔁 Переустановить заново…
       *[install] 🔁 Установить заново…
    }
watch-ready-team =
    ✅ <b>Сервер готов</b> (установил(а): { $by })
    Имя: <b>{ $name }</b>
    IP: <code>{ $ip }</code>
    ОС: { $template }
    Заказ: { $order }
