# Общее для всех экранов: главное меню, кнопки, ошибки, команды.

demo-mark = 🧪 <b>ДЕМО</b>

menu-title =
    <b>Inferno VPS</b> · { $account }
    Выберите действие:
menu-title-unlinked =
    <b>Inferno VPS</b>
    Аккаунт Inferno ещё не привязан. Нажмите /start, чтобы привязать.

btn-servers = 🖥 Мои серверы
btn-buy = 🛒 Купить сервер
btn-orders = 📦 Заказы
btn-keys = 🔑 SSH-ключи
btn-balance = 💰 Баланс
btn-settings = ⚙️ Настройки
btn-help = ❓ Помощь
btn-menu = « Главное меню
btn-back = « Назад
btn-retry = 🔄 Повторить
btn-refresh = 🔄 Обновить
btn-cancel = ✖️ Отмена
btn-yes = ✅ Да
btn-no = ✖️ Нет
btn-prev = ‹ Назад
btn-next = Далее ›
page-indicator = { $page }/{ $pages }

loading = ⏳ Загрузка…
cancelled = Отменено. Ничего не изменилось.
nothing-to-cancel = Отменять нечего.
expired = ⌛ Эта кнопка устарела. Откройте меню заново.
unknown-message = 🤔 Я работаю с кнопками и несколькими командами. Откройте меню, чтобы увидеть, что я умею, или отправьте /help.
unknown-command = 🤔 Такой команды я не знаю. Откройте меню или отправьте /help, чтобы увидеть список.
input-secret-deleted = 🔒 Это похоже на пароль или API-ключ, поэтому я удалил сообщение из чата.
unknown-secret-deleted = { input-secret-deleted } Если вы хотели привязать аккаунт Inferno, отправьте /start.
not-linked = Аккаунт Inferno ещё не привязан. Нажмите /start, чтобы привязать.

access-denied = Извините, это частный бот.

error-invalid-credentials = ❌ Провайдер отклонил номер клиента или API-ключ. Привяжите аккаунт заново в настройках.
error-access-denied =
    ⛔ Провайдер отклонил запросы с сервера бота.
    API Inferno отвечает только IP-адресам из белого списка: попросите поддержку Inferno (тикетом) добавить в белый список IP-адрес сервера, на котором работает бот.
error-provider-unavailable = ⏳ Провайдер сейчас не отвечает. Попробуйте позже.
error-unreadable = ⚠️ Провайдер прислал неожиданный ответ. Попробуйте позже; если повторится — сообщите администратору бота.
error-provider-fail = ⚠️ Провайдер отказал: { $reason }
error-unexpected = ⚠️ Что-то пошло не так. Ваши данные в порядке; попробуйте снова из меню.

fail-not-pending = заказ не найден или уже не ожидает оплаты.
fail-order-not-found = такого заказа нет в вашем аккаунте.
fail-order-not-active = заказ ещё не оплачен.
fail-unknown-template = провайдер не знает такой шаблон ОС.
fail-insufficient-funds = недостаточно денег на балансе.
fail-already-creating = сервер уже создаётся. Дождитесь окончания текущей установки.

cmd-start = Начать и привязать аккаунт Inferno
cmd-menu = Главное меню
cmd-servers = Мои серверы
cmd-keys = SSH-ключи
cmd-help = Помощь
cmd-cancel = Отменить текущий шаг
cmd-logout = Отвязать аккаунт Inferno

## Даты («10 дек. 2026»)

date-day-month-year = { $day } { $month } { $year }
date-month-1 = янв.
date-month-2 = февр.
date-month-3 = мар.
date-month-4 = апр.
date-month-5 = мая
date-month-6 = июн.
date-month-7 = июл.
date-month-8 = авг.
date-month-9 = сент.
date-month-10 = окт.
date-month-11 = нояб.
date-month-12 = дек.
