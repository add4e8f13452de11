"""Usage intake, storage, rating jobs, debits and queries.

The pure part: `formats/` holds one streaming parser per source (Asterisk Master.csv,
FreeSWITCH mod_cdr_csv, a generic CSV), `events` the canonical event and `numbers` the
dialled-number rules. Parsers read an iterable of text lines and yield `UsageEvent`s or
`Reject`s one row at a time, so memory stays constant and a bad row is reported with its
line number rather than dropped.

The rest stores records (`models`, `intake`), rates and debits them in jobs (`jobs`,
`rating`, `debits`), re-rates (`rerating`), answers queries (`queries`, `api`) and hands
invoicing its figures (`statements`, the contract invoicing codes against). Usage of a
period a finalised invoice billed already (`accruals.invoiced` records it) is rated into
pending adjustments (`late`, `adjustments`) that the next invoice bills. Invoicing
imports usage; of usage only `api` (the re-rate endpoint) imports invoicing.
"""
