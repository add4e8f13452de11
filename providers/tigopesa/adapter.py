"""The Tigo Pesa adapter: the common interface over client, wire and callbacks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
    UnsupportedOperation,
)
from providers.operator import OperatorAdapter
from providers.outcomes import guarded, refuses_bad_input, without_code
from providers.tigopesa import callbacks, wire
from providers.tigopesa.client import TigoClient, TigoConfig
from providers.transport import HttpReply


class TigoPesaAdapter(OperatorAdapter):
    CONFIG = TigoConfig
    CLIENT = TigoClient
    REFUSE_UNLISTED = True  # Tigo Pesa signs nothing: none configured refuses all

    def capabilities_of(self, config: TigoConfig) -> Capabilities:
        can_refund = bool(config.refund_url and config.channel_msisdn and config.channel_pin)
        return Capabilities(
            signs_callbacks=False,
            supports_status_query=False,
            supports_refund=can_refund,
            supports_partial_refund=can_refund,  # ReverseTransaction carries Amount [I]
            sync_result=False,
            msisdn_format=MsisdnFormat.E164_NO_PLUS,
        )

    def map_status(self, raw_code: str) -> Mapped:
        return wire.map_sync(raw_code, None)

    @refuses_bad_input
    def initiate_collection(self, request: CollectionRequest) -> ProviderResult:
        body = wire.pay_body(
            msisdn=self.normalize_msisdn(request.msisdn),
            biller_msisdn=self.config.biller_msisdn,
            amount_shillings=to_whole_shillings(request.amount_minor, request.currency),
            remarks=request.description,
            reference_id=self.config.prefix + request.reference,
        )
        return guarded(self.code, lambda: self._result(self.client.pay(body), wire.map_sync))

    def _result(self, reply: HttpReply, mapper: Any) -> ProviderResult:
        body = reply.body if isinstance(reply.body, dict) else {}
        code = body.get("ResponseCode")
        if not code:
            return without_code(self.code, reply)
        mapped = mapper(str(code), body.get("ResponseStatus"))
        return ProviderResult(
            provider=self.code,
            status=mapped.status,
            ambiguous=mapped.ambiguous,
            unknown_status=mapped.unknown_status,
            provider_ref=wire.text(body, "ReferenceID") or wire.text(body, "DMReferenceID"),
            reason_code=str(code),
            reason=str(body.get("ResponseDescription") or mapped.description),
            raw=body,
        )

    def query_status(self, query: StatusQuery) -> ProviderResult:
        raise UnsupportedOperation("Tigo Pesa push billing has no status query")

    @refuses_bad_input
    def refund(self, request: RefundRequest) -> ProviderResult:
        if not self.capabilities.supports_refund:
            raise UnsupportedOperation("Tigo refunds need refund_url, channel_msisdn, channel_pin")
        body = wire.reverse_body(
            msisdn=self.normalize_msisdn(request.msisdn),
            channel_msisdn=str(self.config.channel_msisdn),
            channel_pin=str(self.config.channel_pin),
            amount_shillings=to_whole_shillings(request.amount_minor, request.currency),
            mfs_transaction_id=request.provider_txn_id,
            reference_id=self.config.prefix + request.refund_reference,
            purchase_reference_id=self.config.prefix + request.original_reference,
        )
        return guarded(self.code, lambda: self._result(self.client.reverse(body), wire.map_refund))

    def parse_callback(
        self, headers: Mapping[str, str], raw_body: bytes, remote_addr: str | None
    ) -> CallbackEvent:
        return callbacks.parse_callback(
            raw_body,
            remote_addr,
            provider=self.code,
            prefix=self.config.prefix,
            allow=self.allow,
            headers=headers,
            callback_token=self.config.callback_token,
        )

    def callback_ack(self, event: CallbackEvent | None, ok: bool) -> CallbackAck:
        return callbacks.callback_ack(
            event,
            ok,
            success_code=self.config.ack_success_code,
            failure_code=self.config.ack_failure_code,
        )


build = TigoPesaAdapter.build  # the registry's entry point
