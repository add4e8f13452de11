"""The staff back office: sign-in with password and TOTP, finance's review queue,
invoices, runs and Z reports, and the admins' tenants, rate plans and audit trail."""
