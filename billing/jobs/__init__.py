"""Background work: the transactional outbox, the job registry, queues and the worker.

Code that wants a job writes an outbox row in its own transaction (`defer`); after
commit a relay hands it to RQ, or runs it in-process when no Redis is configured.
Jobs take ids, reload state in their own transaction, and are safe to run twice.
"""
