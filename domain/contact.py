"""The customer in one Official Account."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import event

from domain import identity
from domain.aggregate import DeskAggregate


class Contact(DeskAggregate):
    """Knows which ticket is current and which chat is active.

    Its id is derived from (account, Zalo user id), so two concurrent first
    messages from one customer both try to create the same aggregate and one
    of them conflicts: there is never a second contact, ticket or chat.
    """

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

    @event("Unfollowed")
    def unfollow(self, source: str | None, receipt_id: UUID, actor: str, at: datetime) -> None:
        self.following = False
