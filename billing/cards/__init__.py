"""Card payments through Stripe beyond the top-up itself: webhooks reconciled from the
object re-read at Stripe, fees (gross, fee, net), refunds made at Stripe, chargebacks
(held, then released or taken), saved cards and auto-recharge."""
