"""Looks up each customer's Zalo profile (display name, avatar), off the webhook's path.

The contacts view says which customers still want a profile (``profile_pending``: a real
Zalo user id, no lookup ended yet); the Contact aggregate has the last word on each, so a
lookup the views have not caught up with yet, or one a restart cut short, never records
the profile twice. A lookup that fails for a while (the network, Zalo's 5xx, its rate
limit, an account waiting to be reconnected) is tried again later, each time after a
longer pause (``profile_attempts``, this worker's own table); one Zalo refuses for good
(the customer does not follow the OA, is banned, or the id is invalid) ends with
``Contact.ProfileUnavailable``, until the customer follows the OA.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from uuid import UUID

from adapters import metrics
from adapters.workers.token_refresher import ReconnectNeeded
from adapters.workers.zalo_worker import RATE_LIMITED, TOKEN_CODES, ZaloParts, ZaloWorker
from adapters.zalo.client import Profile, ZaloError, ZaloUnavailable, human_reason
from domain.commands import RecordNoProfile, RecordProfile
from domain.errors import NotFound
from domain.handlers.contacts import ProfileJob

log = logging.getLogger("zalodesk.profiles")

PROFILE_ATTEMPTS_DDL = (
    """CREATE TABLE IF NOT EXISTS profile_attempts (
        contact_id uuid PRIMARY KEY,
        attempts integer NOT NULL,
        next_try_at timestamptz NOT NULL,
        last_error text NOT NULL
    )""",
)
DUE = """
    SELECT k.contact_id FROM contacts k
    LEFT JOIN profile_attempts p ON p.contact_id = k.contact_id
    WHERE k.profile_pending AND (p.next_try_at IS NULL OR p.next_try_at <= %s)
    ORDER BY k.created_at LIMIT %s
"""
FAILED = """
    INSERT INTO profile_attempts (contact_id, attempts, next_try_at, last_error)
    VALUES (%(contact_id)s, 1, %(now)s + %(first)s, %(error)s)
    ON CONFLICT (contact_id) DO UPDATE SET
        attempts = profile_attempts.attempts + 1,
        next_try_at = %(now)s + (%(pauses)s::interval[])[
            LEAST(profile_attempts.attempts + 1, cardinality(%(pauses)s::interval[]))],
        last_error = EXCLUDED.last_error
    RETURNING attempts
"""

# Zalo's answers that no retry will change: not a follower, banned or long inactive, an
# invalid id. A follow reopens the lookup (the view and the aggregate both say so).
FOR_GOOD = frozenset({-213, -227, -201})
# The pause after the first, second, ... failure; the last one repeats.
BACKOFF_SECONDS = (10, 30, 60, 120, 300, 900, 1800, 3600)


class ProfileLookups(ZaloWorker):
    def __init__(
        self,
        parts: ZaloParts,
        concurrency: int = 4,
        batch_size: int = 50,
        backoff_seconds: tuple[float, ...] = BACKOFF_SECONDS,
    ) -> None:
        super().__init__(parts, concurrency, "profiles")
        self.batch_size = batch_size
        self.pauses = [timedelta(seconds=s) for s in backoff_seconds]

    def tick(self) -> int:
        """Hand every contact due a lookup to a lookup thread; return how many."""
        with self.pool.connection() as conn:
            due = conn.execute(DUE, (self.app.clock(), self.batch_size)).fetchall()
        return sum(self._start(contact_id, self._run) for (contact_id,) in due)

    def lookup(self, contact_id: UUID) -> str:
        """One lookup, its outcome recorded: "fetched", "unavailable", "retry", or "none"."""
        job = self.app.profile_job(contact_id)
        if job is None:
            self._forget(contact_id)
            return "none"
        try:
            profile = self._fetch(job)
        except ZaloError as ex:
            reason = human_reason(ex.code, ex.message)
            if ex.code in FOR_GOOD:
                self.app.record_no_profile(RecordNoProfile(contact_id, ex.code, reason))
                self._forget(contact_id)
                log.info("no profile to fetch", extra={**_about(job), "code": ex.code})
                return "unavailable"
            if ex.code == RATE_LIMITED:
                self.limiter.pause(job.app_id, self.pauses[0].total_seconds())
            return self._later(job, f"Zalo error {ex.code}: {reason}")
        except ZaloUnavailable as ex:
            return self._later(job, str(ex))
        except ReconnectNeeded as ex:
            return self._later(job, f"the account needs reconnecting: {ex}")
        except NotFound:  # the account was removed meanwhile: the next round says so
            return self._later(job, "the account was removed")
        self.app.record_profile(RecordProfile(contact_id, profile.display_name, profile.avatar))
        self._forget(contact_id)
        log.info("profile fetched", extra=_about(job))
        return "fetched"

    def _fetch(self, job: ProfileJob) -> Profile:
        """The call with a usable token; a token Zalo refuses is refreshed, and tried once more."""
        token = self.refresher.token(job.account_id)
        try:
            with self.limiter.slot(job.app_id):
                return self.client.user_detail(token, job.zalo_user_id)
        except ZaloError as ex:
            if ex.code not in TOKEN_CODES:
                raise
        token = self.refresher.refresh(job.account_id, token)
        with self.limiter.slot(job.app_id):
            return self.client.user_detail(token, job.zalo_user_id)

    def _later(self, job: ProfileJob, error: str) -> str:
        with self.pool.connection() as conn:
            row = conn.execute(
                FAILED,
                {
                    "contact_id": job.contact_id,
                    "now": self.app.clock(),
                    "first": self.pauses[0],
                    "pauses": self.pauses,
                    "error": error,
                },
            ).fetchone()
        log.warning(
            "profile lookup failed; it is tried again later",
            extra={**_about(job), "attempts": row[0] if row else 1, "error": error},
        )
        return "retry"

    def _forget(self, contact_id: UUID) -> None:
        with self.pool.connection() as conn:
            conn.execute("DELETE FROM profile_attempts WHERE contact_id = %s", (contact_id,))

    def _run(self, contact_id: UUID) -> None:
        try:
            outcome = self.lookup(contact_id)
            if outcome != "none":
                metrics.profile_lookup(outcome)
        except Exception:
            log.exception(
                "profile lookup failed unexpectedly", extra={"contact_id": str(contact_id)}
            )
        finally:
            self._busy.release(contact_id)


def _about(job: ProfileJob) -> dict[str, str]:
    return {"contact_id": str(job.contact_id), "account_id": str(job.account_id)}
