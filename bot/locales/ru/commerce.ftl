# Покупка сервера, заказы и услуги.

## Покупка

buy-title =
    🛒 <b>Купить сервер</b> · { $count ->
        [one] { $count } тариф
        [few] { $count } тарифа
        [many] { $count } тарифов
       *[other] { $count } тарифа
    }
    Выберите тариф:
buy-no-plans = 🛒 Сейчас провайдер не предлагает ни одного тарифа. Попробуйте позже.
buy-plan-line = <b>{ $name }</b> — { $price }
buy-plan-description = <i>{ $description }</i>
buy-price-unknown = цена по запросу
buy-plan-gone = Этот тариф больше не продаётся. Выберите другой из списка.
buy-plan-card =
    🛒 <b>{ $name }</b>
    Цена: <b>{ $price }</b>
buy-btn-plans = « Тарифы
buy-btn-buy-for = 🛒 Купить за { $price }
buy-btn-buy = 🛒 Купить
buy-confirm =
    <b>Подтвердите покупку</b>
    Тариф: <b>{ $name }</b>
    Цена: <b>{ $price }</b>
buy-confirm-balance = Ваш баланс: { $balance }
buy-confirm-note = Стоимость списывается с баланса Inferno. Если денег на балансе не хватает, заказ ждёт оплаты, пока вы не оплатите его счёт.
buy-btn-confirm = ✅ Подтвердить покупку
buy-price-changed = ⚠️ Цена { $name } изменилась: было { $old }, стало { $new }. Ничего не куплено; подтвердите покупку по новой цене.
buy-created =
    ✅ <b>Заказ создан</b>
    Заказ: <code>{ $order }</code>
    Счёт: <code>{ $invoice }</code>
    Сумма: <b>{ $amount }</b>
buy-paid = Заказ оплачен и активен. Установите операционную систему, чтобы запустить сервер.
buy-unpaid =
    ⏳ Заказ ждёт оплаты.
    Оплатите счёт <code>{ $invoice }</code> в панели управления Inferno (Биллинг → Счета). После оплаты заказ станет активным, и из раздела «Заказы» можно будет установить операционную систему.
buy-status-other = Статус заказа: { $status }.
buy-status-unknown = Сейчас не удалось узнать статус заказа. Откройте «Заказы», чтобы его увидеть.
buy-failed = ❌ Заказ не создан. Провайдер отказал: { $reason }
buy-outcome-unknown =
    ⚠️ Провайдер не ответил вовремя, поэтому неизвестно, создан ли заказ.
    Прежде чем покупать снова, проверьте раздел «Заказы».
buy-btn-install = 💿 Установить ОС
buy-btn-back-to-plan = « К тарифу

## Заказы

orders-title =
    📦 <b>Заказы</b> · { $count ->
        [one] { $count } заказ
        [few] { $count } заказа
        [many] { $count } заказов
       *[other] { $count } заказа
    }
orders-empty = 📦 У вас нет активных или неоплаченных заказов.
orders-line = <b>#{ $id }</b> · { $status }
orders-status-pending = ⏳ Не оплачен
orders-status-active = ✅ Активен
orders-status-cancelled = ✖️ Отменён
orders-status-suspended = ⏸ Приостановлен
orders-status-terminated = ⛔ Удалён
orders-status-fraud = 🚫 Проверка на мошенничество
orders-status-unknown = ❔ Неизвестен
orders-not-found = ❔ Этот заказ не найден в вашем аккаунте. Возможно, он отменён или кнопка относится к другому аккаунту.
orders-card =
    📦 <b>Заказ #{ $id }</b>
    Статус: { $status }
orders-card-product = Тариф: { $product }
orders-card-amount = Сумма: { $amount }
orders-card-date = Дата: { $date }
orders-card-number = Номер заказа: <code>{ $number }</code>
orders-card-invoice = Счёт: <code>{ $invoice }</code>
orders-card-pending-hint = Оплатите счёт в панели управления Inferno (Биллинг → Счета), чтобы активировать заказ, или отмените его.
orders-card-active-hint = Заказ оплачен. Откройте сервер, чтобы установить систему или управлять им.
orders-btn-orders = 📦 Заказы
orders-btn-services = 📄 Услуги
orders-btn-cancel = ✖️ Отменить заказ
orders-btn-server = 🖥 Открыть сервер
orders-btn-service = 📄 Услуга
orders-cancel-confirm = <b>Отменить заказ #{ $id }?</b>
orders-cancel-warning = Заказ и его счёт будут отменены. Это действие необратимо.
orders-btn-cancel-confirm = ✅ Да, отменить заказ
orders-btn-cancel-keep = « Нет, оставить
orders-cancel-not-pending = Заказ #{ $id } не ждёт оплаты, поэтому отменить его здесь нельзя.
orders-cancelled = ✅ Заказ #{ $id } отменён.
orders-cancel-failed = ❌ Заказ #{ $id } не отменён: { $reason }
orders-cancel-unknown = ⚠️ Провайдер не ответил вовремя, поэтому неизвестно, отменён ли заказ #{ $id }. Проверьте раздел «Заказы».
orders-confirmation-used = ⌛ Это подтверждение уже использовано или устарело. Повторно ничего не отправлено; текущее состояние — в разделе «Заказы».

## Услуги

services-title =
    📄 <b>Услуги</b> · { $count ->
        [one] { $count } услуга
        [few] { $count } услуги
        [many] { $count } услуг
       *[other] { $count } услуги
    }
services-empty = 📄 У вас пока нет услуг.
services-line = <b>#{ $id }</b> { $name }
services-unnamed = Услуга { $id }
services-not-found = ❔ Эта услуга не найдена в вашем аккаунте.
services-card =
    📄 <b>{ $name }</b>
    Услуга #{ $id }
services-card-status = Статус: { $status }
services-card-ip = IP-адрес: <code>{ $ip }</code>
services-card-order = Заказ: #{ $order }
services-btn-list = « Услуги
services-btn-order = 📦 Заказ #{ $order }
services-card-product = Тариф: { $product }
services-card-domain = Домен: <code>{ $domain }</code>
services-card-cycle = Период оплаты: { $cycle }
services-card-amount = Сумма за период: <b>{ $amount }</b>
services-card-registered = Дата подключения: { $date }
services-card-next-due = Следующая оплата: { $date }
services-cycle-monthly = ежемесячно
services-cycle-quarterly = раз в 3 месяца
services-cycle-semiannually = раз в полгода
services-cycle-annually = ежегодно
services-cycle-biennially = раз в 2 года
services-cycle-triennially = раз в 3 года
services-cycle-onetime = разовый платёж
services-cycle-free = бесплатно
services-line-due = оплата до { $date }
