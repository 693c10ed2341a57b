"""The customer in one Official Account."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import event

from domain import identity
from domain.aggregate import DeskAggregate, fields_added
from domain.commands import Customer


class Contact(DeskAggregate):
    """Knows which ticket is current and which chat is active.

    Its id is derived from (account, Zalo user id), so two concurrent first
    messages from one customer both try to create the same aggregate and one
    of them conflicts: there is never a second contact, ticket or chat.

    A customer with a real Zalo user id wants their Zalo profile looked up once
    (``wants_profile``); the lookup ends with ``ProfileFetched`` or, when Zalo says it
    never will answer, ``ProfileUnavailable``. A follow after that reopens it: a
    follower's profile can be read where a stranger's could not.
    """

    # Version 2 added the profile attributes; older snapshots were taken before any
    # lookup could have ended.
    class_version = 2
    upcast_v1_v2 = fields_added(display_name=None, avatar=None, profile_open=True)

    @staticmethod
    def create_id(account_id: UUID, zalo_user_id: str) -> UUID:
        return identity.contact_id(account_id, zalo_user_id)

    @event("Registered")
    def __init__(
        self,
        account_id: UUID,
        zalo_user_id: str,
        anonymous: bool,
        conversation_id: str | None,
        receipt_id: UUID | None,
        actor: str,
        at: datetime,
    ) -> None:
        self.account_id = account_id
        self.zalo_user_id = zalo_user_id
        self.anonymous = anonymous
        self.conversation_id = conversation_id
        self.current_ticket_id: UUID | None = None
        self.active_chat_id: UUID | None = None
        self.following = False
        self.display_name: str | None = None
        self.avatar: str | None = None
        self.profile_open = not anonymous

    @property
    def customer(self) -> Customer:
        """Who they are to Zalo: whom a reply is addressed to."""
        return Customer(self.zalo_user_id, self.anonymous, self.conversation_id)

    @property
    def wants_profile(self) -> bool:
        """Anonymous widget visitors have no Zalo profile to read."""
        return self.profile_open and not self.anonymous

    @event("ProfileFetched")
    def record_profile(
        self, display_name: str | None, avatar: str | None, actor: str, at: datetime
    ) -> None:
        self.display_name = display_name
        self.avatar = avatar
        self.profile_open = False

    @event("ProfileUnavailable")
    def record_no_profile(self, code: int | None, reason: str, actor: str, at: datetime) -> None:
        """Zalo will not give this profile (not a follower, banned, unknown): stop asking."""
        self.profile_open = False

    @event("ConversationAttached")
    def attach(
        self, ticket_id: UUID, chat_id: UUID, receipt_id: UUID | None, actor: str, at: datetime
    ) -> None:
        self.current_ticket_id = ticket_id
        self.active_chat_id = chat_id

    @event("ChatDetached")
    def detach_chat(self, chat_id: UUID, actor: str, at: datetime) -> None:
        if self.active_chat_id == chat_id:
            self.active_chat_id = None

    def note_conversation(
        self, conversation_id: str | None, receipt_id: UUID, actor: str, at: datetime
    ) -> None:
        """Anonymous visitors may come back under a new widget conversation."""
        if conversation_id and conversation_id != self.conversation_id:
            self._conversation_changed(
                conversation_id=conversation_id, receipt_id=receipt_id, actor=actor, at=at
            )

    @event("ConversationIdChanged")
    def _conversation_changed(
        self, conversation_id: str, receipt_id: UUID, actor: str, at: datetime
    ) -> None:
        self.conversation_id = conversation_id

    @event("Followed")
    def follow(self, source: str | None, receipt_id: UUID, actor: str, at: datetime) -> None:
        self.following = True
        if self.display_name is None:
            self.profile_open = True

    @event("Unfollowed")
    def unfollow(self, source: str | None, receipt_id: UUID, actor: str, at: datetime) -> None:
        self.following = False
