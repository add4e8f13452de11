"""Usage intake: turn CDR files and message records into canonical usage events.

`formats/` holds one streaming parser per source (Asterisk Master.csv, FreeSWITCH
mod_cdr_csv, a generic CSV). Parsers are pure: they read an iterable of text lines
and yield `UsageEvent`s or `Reject`s, one row at a time, so memory stays constant and
a bad row is reported with its line number rather than dropped.
"""
