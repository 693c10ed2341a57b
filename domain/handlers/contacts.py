"""What the profile worker records about a customer's Zalo profile."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from attrs import frozen

from domain import actors
from domain.account import ZaloAccount
from domain.commands import RecordNoProfile, RecordProfile
from domain.contact import Contact
from domain.handlers.base import Decision, DeskBase

ACCOUNT_REMOVED = "The account was removed, so the profile cannot be asked for any more."


@frozen
class ProfileJob:
    contact_id: UUID
    account_id: UUID
    app_id: str
    zalo_user_id: str


class ContactHandlers(DeskBase):
    def contact(self, contact_id: UUID) -> Contact:
        return self._get(Contact, contact_id, "contact")

    def profile_job(self, contact_id: UUID) -> ProfileJob | None:
        """The lookup to make, or None when the contact has (or will have) no lookup to make.

        A contact whose account was removed gets ``ProfileUnavailable`` once, here.
        """

        def decide() -> Decision[ProfileJob | None]:
            contact = self._find(Contact, contact_id)
            if contact is None or not contact.wants_profile:
                return None, []
            account = self._find(ZaloAccount, contact.account_id)
            if account is None or account.deleted:
                contact.record_no_profile(None, ACCOUNT_REMOVED, actors.PROFILES, self.clock())
                return None, [contact]
            job = ProfileJob(contact.id, contact.account_id, account.app_id, contact.zalo_user_id)
            return job, []

        return self._change(decide)

    def record_profile(self, cmd: RecordProfile) -> bool:
        """Recorded once per lookup: False when the lookup had ended already (a restart, or
        a second worker round before the views caught up)."""
        return self._end_lookup(
            cmd.contact_id,
            lambda contact, now: contact.record_profile(
                cmd.display_name, cmd.avatar, actors.PROFILES, now
            ),
        )

    def record_no_profile(self, cmd: RecordNoProfile) -> bool:
        return self._end_lookup(
            cmd.contact_id,
            lambda contact, now: contact.record_no_profile(
                cmd.code, cmd.reason, actors.PROFILES, now
            ),
        )

    def _end_lookup(self, contact_id: UUID, record: Callable[[Contact, datetime], None]) -> bool:
        def decide() -> Decision[bool]:
            contact = self._find(Contact, contact_id)
            if contact is None or not contact.wants_profile:
                return False, []
            record(contact, self.clock())
            return True, [contact]

        return self._change(decide)
