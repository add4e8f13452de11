"""Dunning: postpaid invoices past their due date get reminders on a schedule, then the
tenant is restricted until it pays; and the aged-receivables report finance reads."""
