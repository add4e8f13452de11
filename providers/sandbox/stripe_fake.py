"""localstripe, extended where Malipo needs more than it offers: the tests' and the
demo's Stripe. Run: `python -m providers.sandbox.stripe_fake --port 8420`.

localstripe (PyPI) is a stateful fake Stripe over HTTP. What this wrapper adds:

- Idempotency-Key: a repeated POST with the same key replays the first answer (Stripe's
  rule); localstripe ignores the header.
- Fees: each charge's balance transaction carries Stripe's card fee (2.9% + 30 minor
  units, the public US price) instead of 0, so gross/fee/net can be tested.
- Refunds send `charge.refunded` (localstripe sends nothing).
- Disputes, which localstripe lacks: `GET /v1/disputes/{id}`, and two test controls,
  `POST /_malipo/charges/{id}/dispute` (opens one: `charge.dispute.created`) and
  `POST /_malipo/disputes/{id}/close` with `status=won|lost` (`charge.dispute.closed`;
  each with its balance transactions: the withdrawal of the amount and the dispute fee
  of 1500 minor units when opened, their reinstatement when won.
- Automatic payouts grouping the balance transactions, and listing them by payout:
  see providers.sandbox.stripe_payouts.
- Confirming a PaymentIntent from the browser with the publishable key, the client
  secret and the card (`payment_method_data`), as Stripe.js does; localstripe's own JS
  only authenticates an intent confirmed on the server. Its `js.stripe.com/v3/` is
  served with `confirmCardPayment` doing that (then 3-D Secure where the card asks).
- Off-session confirmation of a card that needs authentication fails with
  `authentication_required`, as Stripe does, and a decline's error names the intent.
- No pickling of the whole store to /tmp on every write (localstripe's default): it made
  each write O(store) and shared state between runs.
"""

from __future__ import annotations

import argparse
import socket

from aiohttp import web
from localstripe import resources, server
from localstripe.errors import UserError
from localstripe.resources import (
    BalanceTransaction,
    Charge,
    Event,
    PaymentIntent,
    PaymentMethod,
    Refund,
    StripeObject,
    try_convert_to_bool,
)
from localstripe.webhooks import schedule_webhook

from providers.sandbox import stripe_payouts

CARD_FEE_PERMILLE, CARD_FEE_FIXED = 29, 30

resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
resources.Store.try_load_from_disk = lambda self: None  # type: ignore[method-assign]

# Listing a kind of object scanned the whole store (and every charge's export lists its
# refunds three times): an index by kind makes it the size of that kind.
_BY_KIND: dict[str, dict[str, object]] = {}


def _store_set(self, key, value):
    dict.__setitem__(self, key, value)
    _BY_KIND.setdefault(key.partition(":")[0], {})[key] = value


def _store_del(self, key):
    dict.__delitem__(self, key)
    _BY_KIND.get(key.partition(":")[0], {}).pop(key, None)


def _store_clear(self):
    dict.clear(self)
    _BY_KIND.clear()


resources.Store.__setitem__ = _store_set  # type: ignore[method-assign]
resources.Store.__delitem__ = _store_del  # type: ignore[method-assign]
resources.Store.clear = _store_clear  # type: ignore[method-assign]


def _list_all_indexed(cls, url, limit=None, starting_after=None, **kwargs):
    if kwargs:
        raise UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
    page = resources.List(url, limit=limit, starting_after=starting_after)
    page._list = list(_BY_KIND.get(cls.object, {}).values())
    return page


StripeObject._api_list_all = classmethod(_list_all_indexed)  # type: ignore[assignment]

_bt_init = BalanceTransaction.__init__


def _bt_with_fee(self, *args, **kwargs):
    _bt_init(self, *args, **kwargs)
    if self.type == "charge" and self.amount > 0:
        self.fee = self.amount * CARD_FEE_PERMILLE // 1000 + CARD_FEE_FIXED
        self.fee_details = [{"amount": self.fee, "currency": self.currency, "type": "stripe_fee"}]


BalanceTransaction.__init__ = _bt_with_fee  # type: ignore[method-assign]

_refund_init = Refund.__init__


def _refund_with_webhook(self, *args, **kwargs):
    _refund_init(self, *args, **kwargs)
    schedule_webhook(Event("charge.refunded", Charge._api_retrieve(self.charge)))


Refund.__init__ = _refund_with_webhook  # type: ignore[method-assign]


class Dispute(StripeObject):
    object = "dispute"
    _id_prefix = "dp_"

    def __init__(self, charge: Charge, amount: int, reason: str) -> None:
        super().__init__()
        self.charge = charge.id
        self.payment_intent = charge.payment_intent
        self.amount = amount
        self.currency = charge.currency
        self.reason = reason
        self.status = "needs_response"
        self.metadata: dict = {}
        # Stripe withdraws the amount and its dispute fee as soon as a dispute opens.
        self.balance_transactions = [stripe_payouts.dispute_withdrawal(self)]


_create_intent = PaymentIntent._api_create.__func__  # type: ignore[attr-defined]


def _create_intent_like_stripe(cls, confirm=None, off_session=None, **data):
    """Off-session: a card asking for 3-D Secure fails (authentication_required), and a
    decline's error carries the intent, as Stripe's do."""
    if not (try_convert_to_bool(confirm) and try_convert_to_bool(off_session)):
        return _create_intent(cls, confirm=confirm, off_session=off_session, **data)
    intent = _create_intent(cls, **data)
    method = PaymentMethod._api_retrieve(intent.payment_method)
    if method._requires_authentication():
        intent._authentication_failed = True
        schedule_webhook(Event("payment_intent.payment_failed", intent))
        raise _card_error(intent, "authentication_required", "This card needs authentication.")
    try:
        intent._confirm(on_failure_now=intent._report_failure)
    except UserError as error:
        raise _card_error(intent, "card_declined", "Your card was declined.") from error
    return intent


PaymentIntent._api_create = classmethod(_create_intent_like_stripe)  # type: ignore[assignment]


def _card_error(intent: PaymentIntent, code: str, message: str) -> UserError:
    error = UserError(402, message, {"code": code, "payment_intent": intent._export()})
    error.body["error"]["type"] = "card_error"
    return error


async def _confirm_from_browser(request: web.Request) -> web.Response:
    data = await server.get_post_data(request, remove_auth=False) or {}
    intent = PaymentIntent._api_retrieve(request.path.split("/")[3])
    if data.get("client_secret") != intent.client_secret:
        raise UserError(401, "Unauthorized")
    card = (data.get("payment_method_data") or {}).get("card")
    if not card:
        raise UserError(400, "payment_method_data[card] is required")
    method = PaymentMethod(type="card", card=dict(card))
    intent.payment_method = method.id
    intent._confirm(on_failure_now=intent._report_failure)
    return server.json_response(intent._export())


async def _open_dispute(request: web.Request) -> web.Response:
    data = await server.get_post_data(request) or {}
    charge = Charge._api_retrieve(request.match_info["id"])
    dispute = Dispute(
        charge, int(data.get("amount") or charge.amount), data.get("reason") or "fraudulent"
    )
    schedule_webhook(Event("charge.dispute.created", dispute))
    return server.json_response(dispute._export())


async def _close_dispute(request: web.Request) -> web.Response:
    data = await server.get_post_data(request) or {}
    dispute = Dispute._api_retrieve(request.match_info["id"])
    if data.get("status") not in ("won", "lost") or dispute.status in ("won", "lost"):
        raise UserError(400, "status must be won or lost, once")
    dispute.status = data["status"]
    if dispute.status == "won":
        dispute.balance_transactions.append(stripe_payouts.dispute_reinstatement(dispute))
    schedule_webhook(Event("charge.dispute.closed", dispute))
    return server.json_response(dispute._export())


_IDEMPOTENT: dict[tuple[str, str, str], tuple[int, bytes]] = {}
_CONFIRM_JS = """
;(function () {
  const makeFake = Stripe;
  Stripe = (apiKey) => {
    const fake = makeFake(apiKey);
    fake.confirmCardPayment = async (clientSecret, data) => {
      const pi = clientSecret.match(/^(pi_\\w+)_secret_/)[1];
      const element = data && data.payment_method && data.payment_method.card;
      const response = await fetch(
        `${LOCALSTRIPE_BASE_API}/v1/payment_intents/${pi}/_confirm_from_browser`, {
          method: 'POST',
          body: JSON.stringify({key: apiKey, client_secret: clientSecret,
                                payment_method_data: {type: 'card',
                                                      card: element.value.card}}),
        });
      let body = await response.json().catch(() => ({}));
      if (response.status !== 200 || body.error) {
        return {error: body.error || {message: 'declined'}};
      }
      if (body.status !== 'requires_action') {
        return {paymentIntent: body};
      }
      const success = await openModal('3D Secure\\nDo you want to confirm or cancel?',
                                      'Complete authentication', 'Fail authentication');
      const auth = await fetch(`${LOCALSTRIPE_BASE_API}/v1/payment_intents/${pi}` +
                               `/_authenticate?success=${success}`, {
        method: 'POST',
        body: JSON.stringify({key: apiKey, client_secret: clientSecret}),
      });
      body = await auth.json().catch(() => ({}));
      if (auth.status !== 200 || body.error) {
        return {error: body.error || {message: 'authentication failed'}};
      }
      if (!success) {
        return {error: {message: 'The provided PaymentMethod has failed authentication.'}};
      }
      return {paymentIntent: body};
    };
    return fake;
  };
})();
"""


@web.middleware
async def malipo_extensions(request: web.Request, handler):
    path = request.path
    if request.method == "GET" and path == "/js.stripe.com/v3/":
        original = await handler(request)
        return web.Response(text=original.text + _CONFIRM_JS, content_type="application/javascript")
    if request.method == "POST" and path.endswith("/_confirm_from_browser"):
        return await _confirm_from_browser(request)
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key:
        return await handler(request)
    slot = (request.headers.get("Authorization", ""), path, key)
    if slot in _IDEMPOTENT:
        status, body = _IDEMPOTENT[slot]
        return web.Response(
            body=body,
            status=status,
            content_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )
    response = await handler(request)
    if isinstance(response, web.Response) and response.status < 500:
        _IDEMPOTENT[slot] = (response.status, response.body)
    return response


def build_app() -> web.Application:
    app = server.app
    app.middlewares.insert(0, malipo_extensions)
    # localstripe's error middleware must wrap ours too (idempotency replays errors).
    app.middlewares.remove(server.error_middleware)
    app.middlewares.insert(0, server.error_middleware)
    app.router.add_get("/v1/disputes/{id}", server.api_retrieve(Dispute, "/v1/disputes"))
    app.router.add_post("/_malipo/charges/{id}/dispute", _open_dispute)
    app.router.add_post("/_malipo/disputes/{id}/close", _close_dispute)
    stripe_payouts.install(app)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    web.run_app(build_app(), sock=sock, access_log=None, print=None)


if __name__ == "__main__":
    main()
