# Buying a server, orders and services.

## Buying

buy-title =
    🛒 <b>Buy a server</b> · { $count ->
        [one] { $count } plan
       *[other] { $count } plans
    }
    Choose a plan:
buy-no-plans = 🛒 The provider offers no plans right now. Try again later.
buy-plan-line = <b>{ $name }</b> — { $price }
buy-plan-description = <i>{ $description }</i>
buy-price-unknown = price on request
buy-plan-gone = This plan is no longer offered. Choose another one from the list.
buy-plan-card =
    🛒 <b>{ $name }</b>
    Price: <b>{ $price }</b>
buy-btn-plans = « Plans
buy-btn-buy-for = 🛒 Buy for { $price }
buy-btn-buy = 🛒 Buy
buy-confirm =
    <b>Confirm the purchase</b>
    Plan: <b>{ $name }</b>
    Price: <b>{ $price }</b>
buy-confirm-balance = Your balance: { $balance }
buy-confirm-note = The price is charged to your Inferno balance. If the balance does not cover it, the order waits unpaid until you pay its invoice.
buy-btn-confirm = ✅ Confirm the purchase
buy-price-changed = ⚠️ The price of { $name } has changed from { $old } to { $new }. Nothing was bought; confirm again at the new price.
buy-created =
    ✅ <b>Order created</b>
    Order: <code>{ $order }</code>
    Invoice: <code>{ $invoice }</code>
    Amount: <b>{ $amount }</b>
buy-paid = The order is paid and active. Install an operating system to start the server.
buy-unpaid =
    ⏳ The order is waiting for payment.
    Pay invoice <code>{ $invoice }</code> in the Inferno control panel (Billing → Invoices). Once it is paid, the order becomes active and you can install an operating system from Orders.
buy-status-other = Order status: { $status }.
buy-status-unknown = The order's status could not be read right now. Open Orders to see it.
buy-failed = ❌ The order was not created. The provider refused: { $reason }
buy-outcome-unknown =
    ⚠️ The provider did not answer in time, so it is unknown whether the order was created.
    Open Orders to check before buying again.
buy-btn-install = 💿 Install OS
buy-btn-back-to-plan = « Back to the plan

## Orders

orders-title =
    📦 <b>Orders</b> · { $count ->
        [one] { $count } order
       *[other] { $count } orders
    }
orders-empty = 📦 You have no active or unpaid orders.
orders-line = <b>#{ $id }</b> · { $status }
orders-status-pending = ⏳ Unpaid
orders-status-active = ✅ Active
orders-status-cancelled = ✖️ Cancelled
orders-status-suspended = ⏸ Suspended
orders-status-terminated = ⛔ Terminated
orders-status-fraud = 🚫 Fraud check
orders-status-unknown = ❔ Unknown
orders-not-found = ❔ This order was not found in your account. It may have been cancelled, or the button belongs to another account.
orders-card =
    📦 <b>Order #{ $id }</b>
    Status: { $status }
orders-card-product = Plan: { $product }
orders-card-amount = Amount: { $amount }
orders-card-date = Date: { $date }
orders-card-number = Order number: <code>{ $number }</code>
orders-card-invoice = Invoice: <code>{ $invoice }</code>
orders-card-pending-hint = Pay the invoice in the Inferno control panel (Billing → Invoices) to activate the order, or cancel it.
orders-card-active-hint = The order is paid. Open its server to install or control it.
orders-btn-orders = 📦 Orders
orders-btn-services = 📄 Services
orders-btn-cancel = ✖️ Cancel the order
orders-btn-server = 🖥 Open the server
orders-btn-service = 📄 Service
orders-cancel-confirm = <b>Cancel order #{ $id }?</b>
orders-cancel-warning = The order and its invoice will be cancelled. This cannot be undone.
orders-btn-cancel-confirm = ✅ Yes, cancel the order
orders-btn-cancel-keep = « No, keep it
orders-cancel-not-pending = Order #{ $id } is not unpaid, so it cannot be cancelled here.
orders-cancelled = ✅ Order #{ $id } is cancelled.
orders-cancel-failed = ❌ Order #{ $id } was not cancelled: { $reason }
orders-cancel-unknown = ⚠️ The provider did not answer in time, so it is unknown whether order #{ $id } was cancelled. Open Orders to check.
orders-confirmation-used = ⌛ This confirmation was already used or has expired. Nothing was sent again; open Orders to see the current state.

## Services

services-title =
    📄 <b>Services</b> · { $count ->
        [one] { $count } service
       *[other] { $count } services
    }
services-empty = 📄 You have no services yet.
services-line = <b>#{ $id }</b> { $name }
services-unnamed = Service { $id }
services-not-found = ❔ This service was not found in your account.
services-card =
    📄 <b>{ $name }</b>
    Service #{ $id }
services-card-status = Status: { $status }
services-card-ip = IP address: <code>{ $ip }</code>
services-card-order = Order: #{ $order }
services-btn-list = « Services
services-btn-order = 📦 Order #{ $order }
services-card-product = Plan: { $product }
services-card-domain = Domain: <code>{ $domain }</code>
services-card-cycle = Billing cycle: { $cycle }
services-card-amount = Recurring amount: <b>{ $amount }</b>
services-card-registered = Registered: { $date }
services-card-next-due = Next payment due: { $date }
services-cycle-monthly = monthly
services-cycle-quarterly = every 3 months
services-cycle-semiannually = every 6 months
services-cycle-annually = yearly
services-cycle-biennially = every 2 years
services-cycle-triennially = every 3 years
services-cycle-onetime = one-time
services-cycle-free = free
services-line-due = due { $date }
