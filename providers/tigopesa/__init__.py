"""Tigo Pesa (Mixx by Yas) push billing: password-grant token, USSD push to a per-merchant
pay URL, unsigned callbacks from allow-listed addresses, and ReverseTransaction refunds."""
