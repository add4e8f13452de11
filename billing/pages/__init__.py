"""What the tenant portal and the back office share: templates, assets, the cookie,
CSRF, the two languages, charts, and how a browser session becomes a caller."""
