"""The hosted payment page, `/pay/<token>`: for tenants with no front end of their own.

A pending top-up's page shows the tenant's name and the amount, in English or Swahili,
and lets the payer pay by card (Stripe.js: the card goes from the browser to Stripe,
never here) or by mobile money (a number, then "approve on your phone"), then follows
the top-up's real status. No inline script: the page's Content Security Policy allows
scripts from this origin and Stripe.js's only. Self-contained (its own templates,
strings and assets) so it merges beside the tenant portal.
"""
