"""The Airtel Money adapter: the common interface over client, wire and callbacks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.airtelmoney import callbacks, wire
from providers.airtelmoney.client import AirtelClient, AirtelConfig
from providers.amounts import to_whole_shillings
from providers.base import (
    CallbackAck,
    CallbackEvent,
    Capabilities,
    CollectionRequest,
    Mapped,
    MsisdnFormat,
    ProviderResult,
    RefundRequest,
    StatusQuery,
)
from providers.operator import OperatorAdapter
from providers.outcomes import guarded, query_error, refuses_bad_input, without_code
from providers.transport import HttpReply


class AirtelMoneyAdapter(OperatorAdapter):
    CONFIG = AirtelConfig
    CLIENT = AirtelClient

    def capabilities_of(self, config: AirtelConfig) -> Capabilities:
        return Capabilities(
            signs_callbacks=config.callback_hash_key is not None,
            supports_status_query=True,
            supports_refund=True,
            supports_partial_refund=False,  # the refund names only airtel_money_id
            sync_result=False,
            msisdn_format=MsisdnFormat.NATIONAL9,
        )

    def map_status(self, raw_code: str) -> Mapped:
        return wire.map_any(raw_code)

    @refuses_bad_input
    def initiate_collection(self, request: CollectionRequest) -> ProviderResult:
        body = wire.payment_body(
            reference=request.description[:64] or request.reference,
            msisdn9=self.normalize_msisdn(request.msisdn),
            amount_shillings=to_whole_shillings(request.amount_minor, request.currency),
            txn_id=request.reference,
            country=self.config.country,
            currency=self.config.currency,
        )
        return guarded(self.code, lambda: self._initiated(self.client.collect(body)))

    def _initiated(self, reply: HttpReply) -> ProviderResult:
        envelope = wire.status_of(reply.body)
        if not envelope:
            return without_code(self.code, reply)
        return self._result(wire.map_call(envelope), reply.body, envelope)

    def _result(self, mapped: Mapped, body: Any, envelope: Mapping[str, Any]) -> ProviderResult:
        txn = wire.transaction_of(body)
        return ProviderResult(
            provider=self.code,
            status=mapped.status,
            ambiguous=mapped.ambiguous,
            unknown_status=mapped.unknown_status,
            provider_ref=callbacks.wire_text(txn, "id"),
            provider_txn_id=callbacks.wire_text(txn, "airtel_money_id"),
            reason_code=str(envelope.get("response_code") or envelope.get("result_code") or ""),
            reason=str(txn.get("message") or envelope.get("message") or mapped.description),
            raw=body if isinstance(body, dict) else {},
        )

    def query_status(self, query: StatusQuery) -> ProviderResult:
        txn_id = query.provider_ref or query.our_reference
        return guarded(self.code, lambda: self._enquired(self.client.enquire(txn_id)), query=True)

    def _enquired(self, reply: HttpReply) -> ProviderResult:
        envelope = wire.status_of(reply.body)
        status = wire.transaction_of(reply.body).get("status")
        if not status:
            if not envelope:
                return without_code(self.code, reply, query=True)
            code = str(envelope.get("result_code") or envelope.get("code"))
            return query_error(self.code, code, wire.map_call(envelope))
        mapped = wire.map_transaction(str(status), envelope.get("response_code"))
        return self._result(mapped, reply.body, envelope)

    @refuses_bad_input
    def refund(self, request: RefundRequest) -> ProviderResult:
        if request.partial:
            raise ValueError("Airtel Money refunds the whole payment only")
        body = wire.refund_body(request.provider_txn_id)
        return guarded(self.code, lambda: self._refunded(self.client.refund(body)))

    def _refunded(self, reply: HttpReply) -> ProviderResult:
        envelope = wire.status_of(reply.body)
        if not envelope:
            return without_code(self.code, reply)
        status = str(wire.transaction_of(reply.body).get("status") or "").upper()
        if envelope.get("success") is True and status in wire.REFUND_DONE:
            mapped = Mapped(status=wire.S.REVERSED, description="refund successful")
        elif status == "TF":
            mapped = wire.TRANSACTION_STATUSES["TF"]
        else:
            mapped = wire.map_call({**envelope, "success": None})
        return self._result(mapped, reply.body, envelope)

    def parse_callback(
        self, headers: Mapping[str, str], raw_body: bytes, remote_addr: str | None
    ) -> CallbackEvent:
        return callbacks.parse_callback(
            raw_body,
            remote_addr,
            provider=self.code,
            allow=self.allow,
            hash_key=self.config.callback_hash_key,
        )

    def callback_ack(self, event: CallbackEvent | None, ok: bool) -> CallbackAck:
        return callbacks.callback_ack(event, ok)


build = AirtelMoneyAdapter.build  # the registry's entry point
