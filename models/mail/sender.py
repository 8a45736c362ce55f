"""Delivers the outbox over SMTP.

Each message is claimed, sent and marked sent in one transaction: on PostgreSQL the claim locks
the row (`FOR UPDATE SKIP LOCKED`), so concurrent senders — threads or server processes — each
take other messages; on SQLite the claim is a write, so senders take turns on the database's
write lock. A sent message is never claimed again. A message whose transaction dies after the
SMTP server accepted it (a crash between sending and committing) is sent again later; its
`Message-ID` is derived from the outbox row, so such a duplicate is recognisable.

On an SMTP failure the message is kept with one more attempt, the error and a later
`next_attempt_at` (exponential backoff); after `smtp_max_attempts` it is given up (FAILED).
"""

import logging
import smtplib
import ssl
import threading
import weakref
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import event, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from models.db import system_session, utcnow
from models.mail.outbox import OutboxMessage
from models.mail.smtp import SmtpTarget, parse_smtp_url
from models.settings import Settings

log = logging.getLogger("clientele.mailer")
# The sender is nobody's request: it delivers the queued mail of every workgroup.
WHY = "the mail sender"
ERROR_MAX = 500
BACKOFF_MAX_SECONDS = 3600.0
_QUEUED = "clientele.outbox_queued"


# ---------------------------------------------------------------- waking senders after a commit


_senders: "weakref.WeakSet[MailSender]" = weakref.WeakSet()
_senders_lock = threading.Lock()


def note_queued(session: Session) -> None:
    """Marks the session's transaction as having queued mail: its commit wakes the senders."""
    session.info[_QUEUED] = True


@event.listens_for(OrmSession, "after_commit")
def _wake_after_commit(session) -> None:
    if session.info.pop(_QUEUED, False):
        with _senders_lock:
            senders = list(_senders)
        for sender in senders:
            sender.wake()


@event.listens_for(OrmSession, "after_rollback")
def _forget_after_rollback(session) -> None:
    session.info.pop(_QUEUED, None)


# ---------------------------------------------------------------- delivering


def message_id(message: OutboxMessage) -> str:
    return f"<outbox-{message.id}@clientele>"


def build_email(message: OutboxMessage, settings: Settings) -> EmailMessage:
    email = EmailMessage()
    email["From"] = settings.smtp_from
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = message_id(message)
    email["Date"] = format_datetime(message.created_at)
    email.set_content(message.body)
    return email


def backoff(attempts: int, settings: Settings) -> timedelta:
    seconds = settings.smtp_retry_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, BACKOFF_MAX_SECONDS))


def _error_text(error: BaseException, target: SmtpTarget) -> str:
    text = f"{type(error).__name__}: {error}"
    for secret in (target.password, target.username):
        if secret:
            text = text.replace(secret, "***")
    return text[:ERROR_MAX]


def _due(now: datetime):
    return (
        OutboxMessage.sent_at.is_(None),  # type: ignore[union-attr]
        OutboxMessage.next_attempt_at.is_not(None),  # type: ignore[union-attr]
        OutboxMessage.next_attempt_at <= now,  # type: ignore[operator]
    )


def _any_due(engine: Engine, due_at: datetime) -> bool:
    with system_session(engine, WHY) as session:
        found = session.execute(select(OutboxMessage.id).where(*_due(due_at)).limit(1)).first()
        session.rollback()
    return found is not None


def _claim(session: Session, due_at: datetime) -> OutboxMessage | None:
    """The next message due at `due_at`, counted as one more attempt and held by this
    transaction. A round passes the time it started, so a message that fails in it is not
    tried again in the same round, however short its backoff.

    One statement that writes: PostgreSQL skips rows other senders hold; SQLite takes the
    write lock at once, so no other sender claims anything until this transaction ends."""
    oldest_due = (
        select(OutboxMessage.id)
        .where(*_due(due_at))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == oldest_due)  # type: ignore[arg-type]
        .values(attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()


def _note_failure(message: OutboxMessage, error: str, settings: Settings) -> None:
    message.last_error = error
    if message.attempts >= settings.smtp_max_attempts:
        message.next_attempt_at = None  # given up: FAILED
    else:
        message.next_attempt_at = utcnow() + backoff(message.attempts, settings)


def _connect(target: SmtpTarget, settings: Settings) -> smtplib.SMTP:
    timeout = settings.smtp_timeout_seconds
    if target.scheme == "smtps":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(target.host, target.port, timeout=timeout)
    try:
        if target.scheme == "smtp+starttls":
            smtp.starttls(context=ssl.create_default_context())
        if target.username:
            smtp.login(target.username, target.password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _fail_due(
    engine: Engine, settings: Settings, error: str, due_at: datetime, stop: threading.Event | None
) -> None:
    """Counts an attempt against every due message when the server cannot be reached."""
    while stop is None or not stop.is_set():
        with system_session(engine, WHY, expire_on_commit=False) as session:
            message = _claim(session, due_at)
            if message is None:
                session.rollback()
                return
            _note_failure(message, error, settings)
            session.commit()


def deliver_pending(
    *, engine: Engine, settings: Settings, stop: threading.Event | None = None
) -> int:
    """Sends every due message once over one SMTP connection; returns how many were sent.

    Stops early, between messages, when `stop` is set or the connection breaks."""
    started = utcnow()
    if not settings.smtp_url or not _any_due(engine, started):
        return 0
    target = parse_smtp_url(settings.smtp_url)
    try:
        smtp = _connect(target, settings)
    except (OSError, smtplib.SMTPException) as error:
        text = _error_text(error, target)
        log.warning("cannot reach the SMTP server %s: %s", target, text)
        _fail_due(engine, settings, text, started, stop)
        return 0
    sent = 0
    try:
        while stop is None or not stop.is_set():
            with system_session(engine, WHY, expire_on_commit=False) as session:
                message = _claim(session, started)
                if message is None:
                    session.rollback()
                    break
                try:
                    smtp.send_message(build_email(message, settings))
                except (OSError, smtplib.SMTPException, ValueError) as error:
                    # ValueError: a message the e-mail package cannot render; it must not hold
                    # up the messages behind it.
                    text = _error_text(error, target)
                    log.warning("outbox message %s not delivered: %s", message.id, text)
                    _note_failure(message, text, settings)
                    session.commit()
                    if not _still_usable(smtp):
                        break
                    continue
                message.sent_at = utcnow()
                session.commit()
                sent += 1
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return sent


def _still_usable(smtp: smtplib.SMTP) -> bool:
    try:
        smtp.rset()
    except (OSError, smtplib.SMTPException):
        return False
    return True


# ---------------------------------------------------------------- the background sender


class MailSender:
    """A daemon thread that delivers the outbox every `smtp_poll_seconds`, and at once after a
    commit in this process that queued mail."""

    def __init__(self, *, engine: Engine, settings: Settings):
        self.engine = engine
        self.settings = settings
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("this sender was started already")
        self._thread = threading.Thread(target=self._run, name="clientele-mail", daemon=True)
        with _senders_lock:
            _senders.add(self)
        self._thread.start()
        if self.settings.smtp_url:
            log.info("mail sender started for %s", parse_smtp_url(self.settings.smtp_url))

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float | None = None) -> None:
        """Stops after the message being sent, if any; waits for that up to `timeout`."""
        self._stopping.set()
        self._wake.set()
        with _senders_lock:
            _senders.discard(self)
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                deliver_pending(engine=self.engine, settings=self.settings, stop=self._stopping)
            except Exception:  # the database may be away for a while: try again later
                log.exception("delivering the outbox failed; retrying")
            self._wake.wait(self.settings.smtp_poll_seconds)
