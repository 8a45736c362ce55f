"""The outbox: messages written in the same transaction as the change that causes them, and
delivered afterwards by a sender (see models.mail.sender), so a rolled-back change sends nothing."""

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from models.db import UTCDateTime, utcnow


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_pending", "sent_at", "next_attempt_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id")
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    kind: str = Field(max_length=32)
    recipient: str = Field(max_length=254)
    subject: str = Field(max_length=200)
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
