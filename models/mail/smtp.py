"""Where mail is sent: the `smtp://`, `smtps://` and `smtp+starttls://` URLs of the SMTP server."""

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

SCHEMES = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class SmtpTarget:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None

    def __str__(self) -> str:  # for logs: never the credentials
        return f"{self.scheme}://{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpTarget:
    """`smtp://[user:password@]host[:port]`, `smtps://…` (TLS) or `smtp+starttls://…`."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError(f"the scheme must be one of {', '.join(sorted(SCHEMES))}")
    if not parts.hostname:
        raise ValueError("it names no host")
    try:
        port = parts.port or SCHEMES[scheme]
    except ValueError:
        raise ValueError("its port is not a number from 1 to 65535") from None
    if (parts.path not in ("", "/")) or parts.query or parts.fragment:
        raise ValueError("it has a path, query or fragment; give only the host and port")
    return SmtpTarget(
        scheme=scheme,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def smtp_url_problem(url: str) -> str | None:
    try:
        parse_smtp_url(url)
    except ValueError as error:
        return str(error)
    return None
