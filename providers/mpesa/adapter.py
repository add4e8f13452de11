"""The M-Pesa adapter: the common interface over client, wire and callbacks."""

from __future__ import annotations

import secrets
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
)
from providers.mpesa import callbacks, wire
from providers.mpesa.client import MpesaClient, MpesaConfig
from providers.operator import OperatorAdapter
from providers.outcomes import guarded, query_error, refuses_bad_input, without_code
from providers.transport import HttpReply


def _fresh_conversation_id(base: str) -> str:
    """M-Pesa treats a reused ThirdPartyConversationID as a duplicate (INS-10)."""
    return f"{base}X{secrets.token_hex(6)}"[:40]


class MpesaAdapter(OperatorAdapter):
    CONFIG = MpesaConfig
    CLIENT = MpesaClient

    def capabilities_of(self, config: MpesaConfig) -> Capabilities:
        return Capabilities(
            signs_callbacks=False,
            supports_status_query=True,
            supports_refund=True,
            supports_partial_refund=True,  # input_ReversalAmount is explicit [I]
            sync_result=config.sync,
            msisdn_format=MsisdnFormat.E164_NO_PLUS,
        )

    def map_status(self, raw_code: str) -> Mapped:
        return wire.map_response_code(raw_code, sync=self.config.sync)

    @refuses_bad_input
    def initiate_collection(self, request: CollectionRequest) -> ProviderResult:
        body = wire.c2b_body(
            amount_shillings=to_whole_shillings(request.amount_minor, request.currency),
            msisdn=self.normalize_msisdn(request.msisdn),
            service_provider_code=self.config.service_provider_code,
            reference=request.reference,
            description=request.description,
        )
        return guarded(self.code, lambda: self._c2b_result(self.client.c2b_single_stage(body)))

    def _c2b_result(self, reply: HttpReply) -> ProviderResult:
        body = reply.body if isinstance(reply.body, dict) else {}
        code = body.get("output_ResponseCode")
        if not code:
            return without_code(self.code, reply)
        mapped = self.map_status(str(code))
        return self._result(mapped, str(code), body)

    def _result(self, mapped: Mapped, code: str, body: Mapping[str, Any]) -> ProviderResult:
        return ProviderResult(
            provider=self.code,
            status=mapped.status,
            ambiguous=mapped.ambiguous,
            unknown_status=mapped.unknown_status,
            provider_ref=wire.present(body, "output_ConversationID"),
            provider_txn_id=wire.present(body, "output_TransactionID"),
            reason_code=code,
            reason=str(body.get("output_ResponseDesc") or mapped.description),
            raw=body,
        )

    def query_status(self, query: StatusQuery) -> ProviderResult:
        params = wire.query_params(
            query_reference=query.provider_txn_id or query.provider_ref or query.our_reference,
            service_provider_code=self.config.service_provider_code,
            conversation_id=_fresh_conversation_id(query.our_reference),
        )
        return guarded(
            self.code,
            lambda: self._query_result(self.client.query_transaction_status(params)),
            query=True,
        )

    def _query_result(self, reply: HttpReply) -> ProviderResult:
        body = reply.body if isinstance(reply.body, dict) else {}
        code = str(body.get("output_ResponseCode") or "")
        if code != wire.SUCCESS_CODE:
            if not code:
                return without_code(self.code, reply, query=True)
            return query_error(self.code, code, wire.map_response_code(code, sync=True))
        raw_status = str(body.get("output_ResponseTransactionStatus") or "")
        return self._result(wire.map_query_status(raw_status), raw_status, body)

    @refuses_bad_input
    def refund(self, request: RefundRequest) -> ProviderResult:
        body = wire.reversal_body(
            amount_shillings=to_whole_shillings(request.amount_minor, request.currency),
            service_provider_code=self.config.service_provider_code,
            conversation_id=request.refund_reference,
            txn_id=request.provider_txn_id,
        )
        return guarded(self.code, lambda: self._reversal_result(self.client.reversal(body)))

    def _reversal_result(self, reply: HttpReply) -> ProviderResult:
        body = reply.body if isinstance(reply.body, dict) else {}
        code = body.get("output_ResponseCode")
        if not code:
            return without_code(self.code, reply)
        return self._result(wire.map_reversal_code(str(code)), str(code), body)

    def parse_callback(
        self, headers: Mapping[str, str], raw_body: bytes, remote_addr: str | None
    ) -> CallbackEvent:
        return callbacks.parse_callback(raw_body, remote_addr, provider=self.code, allow=self.allow)

    def callback_ack(self, event: CallbackEvent | None, ok: bool) -> CallbackAck:
        return callbacks.callback_ack(event, ok)


build = MpesaAdapter.build  # the registry's entry point
