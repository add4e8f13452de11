"""Events out to the platform: what happened to a tenant's money, told by signed webhook.

A use case records an event in its own transaction (`service.emit`); a job delivers
it after commit, signed the Standard Webhooks way, and RQ retries it until the
platform answers 2xx. The event id is the `webhook-id`, so the platform can drop
the duplicates that at-least-once delivery allows.
"""
