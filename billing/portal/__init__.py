"""The tenant billing portal: a one-time link from the platform opens a browser session
for a tenant user, whose pages call the same service functions as the API."""
