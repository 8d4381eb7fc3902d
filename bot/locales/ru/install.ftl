# Мастер установки и переустановки ОС.

install-header-install = 💿 <b>Установка ОС</b> · заказ <code>{ $order }</code>
install-header-reinstall = ♻️ <b>Переустановка ОС</b> · заказ <code>{ $order }</code> · сервер <code>{ $ip }</code>

install-order-invalid = ⚠️ Эта кнопка не указывает на действительный заказ. Откройте сервер заново из меню.
install-order-not-yours = ⚠️ Заказа { $order } нет в вашем аккаунте. Откройте список серверов из меню и попробуйте снова.
install-order-not-paid = ⚠️ Заказ { $order } ещё не оплачен (статус: { $status }). Установить ОС можно только на оплаченный заказ.
install-order-refused = ⚠️ Провайдер не подтвердил, что заказ { $order } ваш: { $reason }
install-no-server = ⚠️ У заказа { $order } ещё нет сервера, переустанавливать нечего. Воспользуйтесь кнопкой «Установить ОС» в карточке сервера.
install-server-busy = ⏳ Сервер заказа { $order } сейчас устанавливается. Дождитесь, пока он запустится, и попробуйте снова.
install-has-server = ℹ️ У заказа { $order } уже есть сервер (<code>{ $ip }</code>). Чтобы поставить на него другую ОС, переустановите его — при этом все данные удаляются.
install-btn-reinstall-instead = ♻️ Переустановить…
install-btn-server = 🖥 Открыть сервер

install-step-template = <b>Шаг 1 из 3 — операционная система.</b> Выберите ОС для установки.
install-filter-hint = { $count ->
    [one] Доступен { $count } шаблон.
    [few] Доступно { $count } шаблона.
    [many] Доступно { $count } шаблонов.
   *[other] Доступно { $count } шаблона.
} Напишите слово (например, <i>debian</i>), чтобы сузить список.
install-filter-on = 🔎 Фильтр: <b>{ $filter }</b> — { $count ->
    [one] найден { $count } шаблон.
    [few] найдено { $count } шаблона.
    [many] найдено { $count } шаблонов.
   *[other] найдено { $count } шаблона.
}
install-filter-nothing = Ничего не найдено. Напишите другое слово или сбросьте фильтр.
install-filter-bad = ⚠️ Напишите одно короткое слово для поиска (до { $max } символов), например <i>ubuntu</i>.
install-btn-clear-filter = ✖️ Сбросить фильтр
install-template-gone = ⚠️ Провайдер больше не предлагает эту ОС. Выберите другую.

install-step-keys = <b>Шаг 2 из 3 — SSH-ключи</b> для { $os }. Нажимайте на ключи, чтобы выбрать их или снять выбор.
install-keys-none-yet = В вашем аккаунте пока нет SSH-ключей.
install-keys-selected = { $count ->
    [one] ✅ Выбран { $count } ключ.
    [few] ✅ Выбрано { $count } ключа.
    [many] ✅ Выбрано { $count } ключей.
   *[other] ✅ Выбрано { $count } ключа.
}
install-keys-password-hint = Ключ не выбран: вы будете входить как root по паролю — он появится в карточке сервера после установки.
install-keys-vanished = ⚠️ Один из выбранных ключей больше не существует в вашем аккаунте, выбор с него снят.
install-key-unknown = ⚠️ Этого ключа нет (больше нет) в вашем аккаунте. Выберите ключ из списка.
install-key-preselected = Он уже выбран для этой установки.
install-btn-key-on = ✅ { $name }
install-btn-key-off = ⬜ { $name }
install-btn-add-key = ➕ Добавить ключ
install-btn-continue-keys = { $count ->
    [one] Продолжить с { $count } ключом »
   *[other] Продолжить с { $count } ключами »
}
install-btn-continue-no-key = Продолжить без ключа »
install-btn-back-to-keys = « Назад к ключам
install-btn-change-os = « Сменить ОС
install-btn-change-keys = « Сменить ключи
install-btn-cancel = ✖️ Отмена

install-summary =
    <b>Шаг 3 из 3 — проверка и подтверждение.</b>
    ОС: <b>{ $os }</b> (<code>{ $template }</code>)
    SSH-ключи: { $keys }
install-summary-more-keys = { $count ->
    [one] и ещё { $count } ключ
    [few] и ещё { $count } ключа
    [many] и ещё { $count } ключей
   *[other] и ещё { $count } ключа
}
install-summary-no-keys = нет — вход под root по паролю
install-check-ok = ✅ Провайдер проверил параметры: { $message }
install-check-failed = ❌ Провайдер отклонил параметры: { $reason }
    Измените ОС или ключи и попробуйте снова.
install-check-needed = ⚠️ Эти параметры ещё не проверены. Сначала проверьте их.
install-btn-check = 🔎 Проверить параметры
install-confirm-install = Нажмите <b>Установить</b>, чтобы начать. Установка занимает несколько минут; я напишу, когда сервер будет готов.
install-confirm-reinstall = Переустановка полностью заменяет содержимое сервера. Я спрошу ещё раз.
install-btn-install = ✅ Установить
install-btn-reinstall = ♻️ Переустановить…

install-erase-warning =
    ⚠️ <b>Переустановка УДАЛИТ ВСЕ ДАННЫЕ на сервере { $ip }</b> (заказ { $order }): все файлы, базы данных и настройки будут стёрты безвозвратно. Отменить это нельзя.
    Новая ОС: <b>{ $os }</b>.
    Нажмите кнопку ниже, только если вы действительно этого хотите.
install-btn-erase = 🗑 Да, стереть { $ip }
install-btn-keep = ✖️ Нет, сохранить данные

install-confirmation-used = ⌛ Это подтверждение уже использовано или устарело. Повторно ничего не отправлено.
install-queued =
    ⏳ <b>Установка поставлена в очередь</b> для заказа { $order }: { $os }.
    Ответ провайдера: { $message }
    Я напишу, когда сервер будет готов.
install-outcome-unknown = ⚠️ Провайдер не ответил внятно, поэтому я пока не знаю, началась ли установка на заказе { $order }. Повторно я её не отправлял. Я проверяю сервер и сообщу, что выясню.
install-already-creating = ⏳ Сервер заказа { $order } уже создаётся, поэтому новая установка не запущена. Дождитесь окончания текущей установки.
install-run-failed = ❌ Провайдер отказал в установке: { $reason }
install-cancelled = Отменено. Ничего не установлено.
install-expired = ⌛ Этот диалог установки устарел. Откройте сервер заново, чтобы начать сначала.
install-reinstall-queued =
    ⏳ <b>Переустановка поставлена в очередь</b> для заказа { $order }: { $os }.
    Ответ провайдера: { $message }
    Я напишу, когда сервер будет готов.
