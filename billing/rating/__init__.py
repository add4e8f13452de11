"""Usage rating: pure functions that price usage records from a rate plan.

Nothing here does I/O or imports a web, database or queue library. Segment counting,
longest-prefix destinations, rate plans and the rater live in their own modules; the
database, ledger and HTTP layers call them with plain dataclasses.
"""
