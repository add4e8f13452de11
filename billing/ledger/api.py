"""/v1/wallet: a tenant's prepaid balance and its ledger statement."""

from __future__ import annotations

from flask.views import MethodView

from billing.auth.access import ANYONE, principal, requires
from billing.core.clock import utcnow
from billing.ledger.balances import account_balance, statement
from billing.ledger.postings import WALLET
from billing.ledger.schemas import StatementArgs, StatementSchema, TenantArgs, WalletSchema
from billing.tenants.service import get_tenant
from billing.usage.reservations import held
from billing.web.api import Blueprint
from billing.web.pagination import decode_cursor, encode_cursor
from billing.web.session import request_session

blp = Blueprint("wallet", __name__, url_prefix="/v1/wallet", description="Wallet")


@blp.route("")
class Wallet(MethodView):
    @requires(*ANYONE)
    @blp.arguments(TenantArgs, location="query")
    @blp.response(200, WalletSchema)
    def get(self, args: dict):
        """The wallet's balance; staff name the tenant with `?tenant_id=`."""
        session = request_session()
        tenant = get_tenant(session, principal().tenant_for(args["tenant_id"]))
        balance = account_balance(session, tenant.id, WALLET, tenant.currency)
        reserved, _units = held(session.connection(), tenant.id, utcnow())
        return {
            "tenant_id": tenant.id,
            "currency": balance.currency,
            "balance": balance.balance_minor,
            "reserved": reserved,
            "available": balance.balance_minor - reserved,
        }


@blp.route("/entries")
class WalletEntries(MethodView):
    @requires(*ANYONE)
    @blp.arguments(StatementArgs, location="query")
    @blp.response(200, StatementSchema)
    def get(self, args: dict):
        """The wallet's ledger entries, newest first, by cursor."""
        session = request_session()
        tenant = get_tenant(session, principal().tenant_for(args["tenant_id"]))
        lines = statement(
            session,
            tenant.id,
            WALLET,
            tenant.currency,
            before_version=decode_cursor(args["cursor"]),
            limit=args["limit"] + 1,
        )
        page, more = lines[: args["limit"]], len(lines) > args["limit"]
        return {
            "items": page,
            "next_cursor": encode_cursor(page[-1].account_version) if more else None,
        }
