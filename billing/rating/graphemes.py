"""Grapheme clusters by Unicode UAX #29 (extended grapheme clusters), for SMS packing.

The `regex` module's `\\X` implements the standard's rules in full (its Unicode data is
kept current by its maintainer), so Thai and Lao SARA AM, Indic conjuncts, emoji ZWJ
sequences, flags and Hangul syllables cluster as the reference calculator has them. One
deviation on purpose: CR LF is two clusters, as Twilio's calculator splits it.
"""

from __future__ import annotations

from collections.abc import Iterator

import regex

# CR first: at a CR, the alternation takes it alone, so CR LF yields "\r" then "\n".
_CLUSTER = regex.compile(r"\r|\X", regex.VERSION1)


def graphemes(text: str) -> Iterator[str]:
    """Yield the grapheme clusters of `text` in order."""
    return iter(_CLUSTER.findall(text))
