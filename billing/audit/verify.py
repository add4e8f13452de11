"""Checking the audit trail's hash chains: the first broken link of each, named.

Each event must carry its chain's next `seq`, the previous event's hash as `prev_hash`,
and a `hash` that its own fields produce; the chain's head must name the last event. An
event edited, removed, inserted or reordered by someone who bypassed the append-only
trigger breaks one of these. (Someone who rewrote a whole chain's tail and its head can
only be caught against a copy of the heads kept elsewhere: `billing audit verify`
prints them for that.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.audit.chain import link_hash
from billing.audit.models import AuditChainHead, AuditEvent

_events = AuditEvent.__table__
_BATCH = 5000


@dataclass(frozen=True)
class BrokenLink:
    chain: str
    event_id: int | None
    seq: int | None
    problem: str


@dataclass
class ChainReport:
    chains: int = 0
    events: int = 0
    unchained: int = 0  # written before the chains existed (migration 0020)
    heads: dict[str, str | None] = field(default_factory=dict)
    broken: list[BrokenLink] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.broken


def verify(session: Session, chain: str | None = None) -> ChainReport:
    """Walk every chain (or one) in id order; stop each at its first broken link."""
    report = ChainReport()
    heads = session.execute(select(AuditChainHead).order_by(AuditChainHead.chain)).scalars()
    heads = {head.chain: head for head in heads if chain in (None, head.chain)}
    report.unchained = (
        len(session.execute(select(_events.c.id).where(_events.c.chain.is_(None))).all())
        if chain is None
        else 0
    )
    chains = set(heads)
    chains.update(
        session.execute(select(_events.c.chain).where(_events.c.chain.is_not(None)).distinct())
        .scalars()
        .all()
        if chain is None
        else [chain]
    )
    for name in sorted(chains):
        report.chains += 1
        head = heads.get(name)
        report.heads[name] = head.last_hash if head else None
        broken = _walk(session, name, head, report)
        if broken is not None:
            report.broken.append(broken)
    return report


def _walk(session: Session, chain: str, head, report: ChainReport) -> BrokenLink | None:
    prev_hash, seq, last_id, after = None, 0, None, -1
    while True:
        rows = session.execute(
            select(_events)
            .where(_events.c.chain == chain, _events.c.id > after)
            .order_by(_events.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        for row in rows:
            report.events += 1
            seq += 1
            values = row._asdict()
            if row.seq != seq:
                return BrokenLink(chain, row.id, row.seq, f"expected link {seq}, found {row.seq}")
            if row.prev_hash != prev_hash:
                return BrokenLink(
                    chain, row.id, row.seq, "does not follow the event before it (prev_hash)"
                )
            if row.hash != link_hash(values):
                return BrokenLink(chain, row.id, row.seq, "its content does not match its hash")
            prev_hash, last_id = row.hash, row.id
        after = rows[-1].id
    if head is None:
        return BrokenLink(chain, last_id, seq, "the chain has no head")
    if (head.last_id, head.last_hash, head.length) != (last_id, prev_hash, seq):
        return BrokenLink(
            chain,
            head.last_id,
            head.length,
            f"the head names link {head.length} (event {head.last_id}); "
            f"the chain ends at link {seq} (event {last_id})",
        )
    return None
