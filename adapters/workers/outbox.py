"""Sends queued replies to Zalo: in order within a chat, many chats at once.

Guarantee: a reply is never lost. A reply queued but not yet tried when the service
stops is sent after the restart. A reply whose call to Zalo was under way when the
service stopped is marked failed with "outcome unknown" instead of being sent again:
a visible question beats a silent duplicate in the customer's Zalo (at most once).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from uuid import UUID

from adapters import metrics
from adapters.workers.token_refresher import ReconnectNeeded
from adapters.workers.zalo_worker import RATE_LIMITED, TOKEN_CODES, ZaloParts, ZaloWorker
from adapters.zalo.client import (
    Recipient,
    ZaloError,
    ZaloUnavailable,
    human_reason,
)
from domain.application import SendJob
from domain.commands import Customer
from domain.errors import NotFound
from domain.handlers.outbox import ACCOUNT_REMOVED
from domain.values import Direction, ReplyStatus

log = logging.getLogger("zalodesk.outbox")

# The words are written into the statement, not bound: the transcript's partial index
# on queued messages serves only a statement that names the status itself.
QUEUED = f"""
    SELECT message_id, chat_id FROM chat_messages
    WHERE status = '{ReplyStatus.QUEUED}' AND direction = '{Direction.OUT}' AND chat_id IS NOT NULL
    ORDER BY position LIMIT %s
"""


class Outbox(ZaloWorker):
    def __init__(
        self,
        parts: ZaloParts,
        concurrency: int = 16,
        retry_delays: tuple[float, ...] = (1, 2, 4, 8, 15, 30, 30, 30),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(parts, concurrency, "outbox")
        self.retry_delays = retry_delays
        self.sleep = sleep

    def recover(self) -> int:
        """At start-up no send is under way here: any attempt left open was cut short."""
        return sum(self.app.abandon_unknown(reply_id) for reply_id, _ in self._queued(100_000))

    def tick(self) -> int:
        """Hand every chat with queued replies to a sender thread; return how many chats."""
        by_chat: dict[UUID, list[UUID]] = {}
        for reply_id, chat_id in self._queued(1000):
            by_chat.setdefault(chat_id, []).append(reply_id)
        return sum(self._start(chat, self._drain, replies) for chat, replies in by_chat.items())

    def finish(self) -> None:
        """On stopping: let the sends under way record their outcome, rather than leave
        them to be failed as "outcome unknown" at the next start."""
        self.wait_until_idle()
        self.close()

    def deliver(self, reply_id: UUID) -> None:
        job = self.app.begin_send(reply_id)
        if job is None:
            return
        started = time.monotonic()
        try:
            outcome = self._send(job)
        except ReconnectNeeded as ex:
            self.app.record_failed(reply_id, None, f"The account needs reconnecting: {ex}")
            outcome = "failed: needs reconnect"
        except NotFound:  # the account was removed while the reply was on its way
            self.app.record_failed(reply_id, None, ACCOUNT_REMOVED)
            outcome = "failed: account removed"
        metrics.reply_send(send_outcome(outcome))
        log.info(
            "reply delivered" if outcome == "sent" else "reply not delivered",
            extra={
                "reply_id": str(reply_id),
                "account_id": str(job.account_id),
                "outcome": outcome,
                "latency_ms": round((time.monotonic() - started) * 1000, 2),
            },
        )

    def _send(self, job: SendJob) -> str:
        """ "sent", or "failed: <why>" (Zalo's error code, or a word for the cause)."""
        if job.to.anonymous and not job.to.conversation_id:
            reason = "This anonymous visitor has no Zalo conversation id to answer to."
            self.app.record_failed(job.reply_id, None, reason)
            return "failed: no conversation"
        app_id = job.app_id
        token: str | None = None
        stale: str | None = None  # a token Zalo refused, owed one refresh
        refreshed = False
        unavailable = ""  # why Zalo could not be reached, the last time
        for delay in (*self.retry_delays, None):
            try:
                if stale is not None:
                    token, stale = self.refresher.refresh(job.account_id, stale), None
                if token is None:
                    token = self.refresher.token(job.account_id)
                with self.limiter.slot(app_id):
                    msg_id = self.client.send_text(token, recipient(job.to), job.text)
            except ZaloError as ex:
                if ex.code in TOKEN_CODES and not refreshed:
                    stale, refreshed = token, True
                    continue
                if ex.code == RATE_LIMITED and delay is not None:
                    self.limiter.pause(app_id, delay)
                    continue
                self.app.record_failed(job.reply_id, ex.code, human_reason(ex.code, ex.message))
                return f"failed: {ex.code}"
            except ZaloUnavailable as ex:  # the send or a refresh: retried alike
                unavailable = str(ex)
                if delay is not None:
                    self.sleep(delay)
                    continue
                break
            self.app.record_sent(job.reply_id, msg_id)
            return "sent"
        tries = len(self.retry_delays) + 1
        reason = f"Zalo could not be reached after {tries} tries (the last: {unavailable})."
        self.app.record_failed(job.reply_id, None, reason)
        return "failed: unreachable"

    def _drain(self, chat_id: UUID, reply_ids: list[UUID]) -> None:
        try:
            for reply_id in reply_ids:
                self.deliver(reply_id)
        except Exception:
            log.exception("sending failed unexpectedly", extra={"chat_id": str(chat_id)})
        finally:
            self._busy.release(chat_id)

    def _queued(self, limit: int) -> list[tuple[UUID, UUID]]:
        with self.pool.connection() as conn:
            return [(row[0], row[1]) for row in conn.execute(QUEUED, (limit,)).fetchall()]


def recipient(to: Customer) -> Recipient:
    if to.anonymous:
        return Recipient(anonymous_id=to.zalo_user_id, conversation_id=to.conversation_id)
    return Recipient(user_id=to.zalo_user_id)


def send_outcome(outcome: str) -> str:
    """A send's outcome as a metrics label: Zalo's codes are folded into "refused_by_zalo"."""
    why = outcome.removeprefix("failed: ")
    if outcome == "sent":
        return "sent"
    if why.lstrip("-").isdigit():
        return "refused_by_zalo"
    return why.replace(" ", "_")
