"""Zalo's way in: the webhook and the domain verification pages."""

from __future__ import annotations

import html
import logging
from uuid import UUID

import falcon
from attrs import frozen

from adapters.account_cache import AccountCache
from adapters.postgres.webhook_activity import WebhookActivity
from adapters.zalo import signature, translate
from api.contract import Answer, Operation, RawBody, refusal
from api.schemas.operations import WebhookAccepted
from domain.application import Zalodesk

MAX_BODY = 1024 * 1024
log = logging.getLogger("zalodesk.webhook")

PAGE = Answer(
    "The page, with Zalo's verification mark", media_type="text/html", schema={"type": "string"}
)
DELIVERY = RawBody(
    "An event exactly as Zalo sends it (ZALO.md): a JSON object of Zalo's own, free-form, "
    "signed by the X-ZEvent-Signature header. It is read as it arrived and checked against "
    "the account's keys, not against a schema.",
    {"type": "object"},
    headers={
        "X-ZEvent-Signature": {
            "required": True,
            "description": "mac=<SHA-256 of app_id, the raw body, timestamp and the OA secret key>",
            "schema": {"type": "string"},
        },
        "num_retry": {
            "required": False,
            "description": "Zalo's retry count; absent on the first try.",
            "schema": {"type": "string"},
        },
    },
)


@frozen
class ZaloWebhook:
    """resource → translate → command → application → save, and 200 once it is stored."""

    app: Zalodesk
    accounts: AccountCache
    activity: WebhookActivity

    @Operation(
        "Zalo webhook: one event, answered once it is durably stored",
        {
            200: Answer("Stored, or recognised as a duplicate", WebhookAccepted),
            400: refusal("The body is not a JSON object"),
            401: refusal("No signature, or one that does not match the account's keys"),
            404: refusal("No such account"),
            413: refusal("The body is over 1 MiB"),
        },
        raw_body=DELIVERY,
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: UUID) -> None:
        req.context.event_name = "unparsed"
        req.context.account_id = str(account_id)
        raw = read_bounded(req)
        key = self.accounts.signing_key(account_id)
        try:
            body = translate.parse(raw)
        except translate.BadPayload as ex:
            raise falcon.HTTPBadRequest(title="Bad payload", description=str(ex)) from None
        req.context.event_name = str(body.get("event_name") or "missing")
        problem = signature_problem(req, raw, body, key)
        if problem is not None:
            self.activity.refused(account_id, problem)
            raise falcon.HTTPUnauthorized(title="Bad signature", description=problem)
        command = translate.translate(account_id, raw, body, num_retry(req))
        outcome = self.app.receive(command)
        self.activity.arrived(account_id)
        req.context.outcome = outcome.value
        resp.media = {"ok": True, "outcome": outcome.value}

    @Operation(
        "Domain verification: the URL prefix itself carries the mark",
        {200: PAGE, 404: refusal("No such account")},
        from_zalo=True,
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: UUID) -> None:
        """The URL prefix itself carries the verification meta tag (method 2)."""
        code = self.app.account(account_id).verification_code or ""
        resp.content_type = falcon.MEDIA_HTML
        resp.text = verification_page(code, attribute="name")


@frozen
class ZaloVerifierFile:
    """``zalo_verifier<CODE>.html`` under the URL prefix (method 1)."""

    app: Zalodesk

    @Operation(
        "Domain verification file",
        {200: PAGE, 404: refusal("No such account, or not its code")},
        from_zalo=True,
    )
    def on_get(
        self, req: falcon.Request, resp: falcon.Response, account_id: UUID, code: str
    ) -> None:
        expected = self.app.account(account_id).verification_code
        if not expected or code != expected:
            raise falcon.HTTPNotFound(title="Not found", description="No such verification file.")
        resp.content_type = falcon.MEDIA_HTML
        resp.text = verification_page(expected, attribute="property")


def read_bounded(req: falcon.Request) -> bytes:
    if req.content_length is not None and req.content_length > MAX_BODY:
        raise too_large()
    # Without a Content-Length (chunked), the bounded stream would read as empty.
    stream = req.bounded_stream if req.content_length is not None else req.stream
    raw = stream.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise too_large()
    return raw


def too_large() -> falcon.HTTPError:
    return falcon.HTTPContentTooLarge(
        title="Body too large", description=f"Webhook bodies are limited to {MAX_BODY} bytes."
    )


def signature_problem(
    req: falcon.Request, raw: bytes, body: dict[str, object], key: str | None
) -> str | None:
    """Why the delivery is not signed by this account; None when it is."""
    if key is None:
        return "This account has no signing key stored: reconnect it with its secrets."
    header = req.get_header("X-ZEvent-Signature")
    if signature.mac_from_header(header) is None:
        return "X-ZEvent-Signature is missing, or is not mac=<64 hex digits>."
    app_id = signature.value_text(body, "app_id") or ""
    timestamp = signature.value_text(body, "timestamp") or ""
    if not signature.signature_ok(header, raw, app_id, timestamp, key):
        return (
            "X-ZEvent-Signature does not match this account: check the OA secret key "
            "(or the app secret, for an account without one)."
        )
    return None


def num_retry(req: falcon.Request) -> int:
    raw = req.get_header("num_retry") or req.get_header("num-retry") or "0"
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 0


def verification_page(code: str, attribute: str) -> str:
    escaped = html.escape(code, quote=True)
    return (
        "<!DOCTYPE html><html><head>"
        f'<meta {attribute}="zalo-platform-site-verification" content="{escaped}" />'
        "<title>zalodesk</title></head><body>zalodesk webhook</body></html>"
    )
