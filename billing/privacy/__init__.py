"""Privacy: what the Personal Data Protection Act (2022) gives a tenant, and what the
service keeps of it: a data export (access, portability), erasure within legal
retention, retention periods applied daily, restriction of processing."""
