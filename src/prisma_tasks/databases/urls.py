"""Database URLs: build them, swap the database name, and never print a password."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit, urlunsplit

# The password runs to the LAST @ before the host: an unencoded @ may sit inside it.
_PASSWORD = re.compile(
    r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<secret>\S*)(?P<tail>@)"
    r"(?=[^@\s/]*(?:[/?#]|\s|$))",
    re.I,
)
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&]password=)(?P<secret>[^&\s]*)", re.I)


def mask(text: str) -> str:
    """Replace every password in URLs inside `text` with ***."""
    text = _PASSWORD.sub(lambda m: f"{m['head']}***{m['tail']}", text)
    return _QUERY_PASSWORD.sub(lambda m: f"{m['head']}***", text)


def hide_password(text: str, url: str) -> str:
    """mask(text), and also every spelling of `url`'s own password: a malformed URL (a raw % or
    space in the password) escapes the pattern, and libpq quotes the bad part back verbatim."""
    text = mask(text)
    try:
        parts = urlsplit(url)
        found = [parts.password or ""]
        query = parts.query
    except ValueError:
        found, query = [], ""
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if unquote(key).lower() == "password":
            found.append(value)
    for secret in sorted({s for raw in found for s in (raw, unquote(raw)) if s}, key=len)[::-1]:
        text = text.replace(secret, "***")
    return text


def postgres_url(
    *, user: str, password: str | None, host: str, port: int, database: str, **params: str
) -> str:
    auth = quote(user, safe="")
    if password:
        auth += ":" + quote(password, safe="")
    query = "&".join(f"{key}={quote(value, safe='')}" for key, value in params.items())
    return f"postgresql://{auth}@{host}:{port}/{quote(database, safe='')}" + (
        f"?{query}" if query else ""
    )


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(database, safe="")))


def database_of(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/"))


def is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in ("postgres", "postgresql")


def is_local_host(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("", "localhost", "127.0.0.1", "::1") or host.startswith("/")
