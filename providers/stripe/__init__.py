"""Card top-ups through Stripe: PaymentIntents, refunds and signed webhooks.

The official `stripe` library does the HTTP and the signature check; this package maps
Stripe's objects onto the common adapter interface (`providers.base`). Malipo never sees
a card number: the payer's browser gives it to Stripe.js, and only ids come back.
"""
