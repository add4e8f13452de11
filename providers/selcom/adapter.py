"""The Selcom adapter, one instance per operator code (halopesa, tpesa, ezypesa)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from providers.amounts import optional_minor, to_whole_shillings
from providers.base import (
    CallbackAck,
    CallbackEvent,
    Capabilities,
    CollectionRequest,
    Mapped,
    MsisdnFormat,
    ProviderConfigError,
    ProviderResult,
    RefundRequest,
    StatusQuery,
    UnsupportedOperation,
    not_sent,
)
from providers.operator import OperatorAdapter
from providers.outcomes import guarded, query_error, refuses_bad_input, without_code
from providers.selcom import callbacks, wire
from providers.selcom.client import SelcomClient, SelcomConfig
from providers.transport import HttpReply


class SelcomAdapter(OperatorAdapter):
    CONFIG = SelcomConfig
    CLIENT = SelcomClient

    def __init__(
        self, code: str, config: SelcomConfig, session: requests.Session | None = None
    ) -> None:
        if code not in wire.CHANNELS:
            raise ProviderConfigError(f"Selcom carries {sorted(wire.CHANNELS)}, not {code!r}")
        self.channel = wire.CHANNELS[code]
        super().__init__(code, config, session)

    def capabilities_of(self, config: SelcomConfig) -> Capabilities:
        return Capabilities(
            signs_callbacks=config.require_signed_webhooks,
            supports_status_query=True,
            supports_refund=False,  # no refund API in the reference
            supports_partial_refund=False,
            sync_result=False,
            msisdn_format=MsisdnFormat.E164_NO_PLUS,
        )

    def map_status(self, raw_code: str) -> Mapped:
        return wire.map_any(raw_code)

    @refuses_bad_input
    def initiate_collection(self, request: CollectionRequest) -> ProviderResult:
        number = self.normalize_msisdn(request.msisdn)
        order = wire.order_body(
            vendor=self.config.vendor,
            order_id=request.reference,
            buyer_email=self.config.buyer_email,
            buyer_name=self.config.buyer_name,
            msisdn=number,
            amount_shillings=to_whole_shillings(request.amount_minor, request.currency),
            webhook_url=request.callback_url,
        )
        push = wire.wallet_payment_body(
            transid=request.reference, order_id=request.reference, msisdn=number
        )
        return guarded(self.code, lambda: self._create_then_push(order, push))

    def _create_then_push(self, order: dict[str, Any], push: dict[str, str]) -> ProviderResult:
        created = self.client.create_order(order)
        body = created.body if isinstance(created.body, dict) else {}
        code = str(body.get("resultcode") or "")
        if code != wire.CALL_OK:
            # No push was sent, so no money can have moved, whatever the order's fate.
            return not_sent(self.code, code or f"http_{created.status}", created.text[:200])
        return self._pushed(self.client.wallet_payment(push))

    def _pushed(self, reply: HttpReply) -> ProviderResult:
        body = reply.body if isinstance(reply.body, dict) else {}
        code = body.get("resultcode")
        if not code:
            return without_code(self.code, reply)
        return self._result(wire.map_push(str(code)), str(code), body, body)

    def _result(
        self, mapped: Mapped, code: str, body: Mapping[str, Any], order: Mapping[str, Any]
    ) -> ProviderResult:
        return ProviderResult(
            provider=self.code,
            status=mapped.status,
            ambiguous=mapped.ambiguous,
            unknown_status=mapped.unknown_status,
            provider_ref=wire.text(order, "order_id"),
            provider_txn_id=wire.text(order, "reference") if order is not body else None,
            amount_minor=optional_minor(order.get("amount")) if order is not body else None,
            currency="TZS",
            reason_code=code,
            reason=str(body.get("message") or body.get("result") or mapped.description),
            channel=wire.text(order, "channel") or self.channel,
            raw=body,
        )

    def query_status(self, query: StatusQuery) -> ProviderResult:
        order_id = query.provider_ref or query.our_reference
        return guarded(
            self.code, lambda: self._queried(self.client.order_status(order_id)), query=True
        )

    def _queried(self, reply: HttpReply) -> ProviderResult:
        body = reply.body if isinstance(reply.body, dict) else {}
        code = str(body.get("resultcode") or "")
        order = wire.first_order(body)
        if code != wire.CALL_OK or not order:
            if not code:
                return without_code(self.code, reply, query=True)
            return query_error(self.code, code, wire.map_result_code(code))
        mapped = wire.map_order(order)
        return self._result(mapped, str(order.get("payment_status") or code), body, order)

    @refuses_bad_input
    def refund(self, request: RefundRequest) -> ProviderResult:
        raise UnsupportedOperation("Selcom checkout has no refund API in the reference")

    def parse_callback(
        self, headers: Mapping[str, str], raw_body: bytes, remote_addr: str | None
    ) -> CallbackEvent:
        return callbacks.parse_callback(
            headers,
            raw_body,
            remote_addr,
            provider=self.code,
            config=self.config,
            allow=self.allow,
        )

    def callback_ack(self, event: CallbackEvent | None, ok: bool) -> CallbackAck:
        return callbacks.callback_ack(event, ok)


build = SelcomAdapter.build  # the registry's entry point
