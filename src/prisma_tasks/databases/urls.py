"""Database URLs: build them, swap the database name, never print a password, and tell
whether every host a URL could reach is this machine."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
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


class UnreadableUrl(ValueError):
    """A URL whose hosts cannot be told for certain: judged not local."""


_LOOPBACK_V4 = ipaddress.ip_network("127.0.0.0/8")
_POSTGRES_PREFIXES = ("postgresql://", "postgres://")
# libpq reads a URL byte by byte, URL parsers drop tabs and newlines and trim spaces, and a
# fragment ends the URL for them but not for libpq: with any of these the readers disagree.
_AMBIGUOUS = re.compile(r"[\x00-\x1f\x7f#]|^\s|\s$")
_PORT = re.compile(r"[0-9]*")
_BAD_ESCAPE = re.compile(r"%(?![0-9a-f]{2})|%00", re.I)


def is_provably_local(url: str, environ: Mapping[str, str] | None = None) -> bool:
    """True only for a SQLite file or a PostgreSQL URL whose every reachable host is this
    machine: a loopback address, `localhost` or a Unix socket. No name is looked up in DNS; a
    URL that cannot be read for certain is not local.
    """
    if url.startswith("file:"):
        return True
    try:
        hosts = reachable_hosts(url, environ)
    except UnreadableUrl:
        return False
    return all(is_loopback_or_socket(host) for host in hosts)


def reachable_hosts(url: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """Every host and hostaddr that a client of the PostgreSQL `url` could connect to.

    The URL has three readers: libpq (psycopg, for tenant.drop and the seeds), Prisma's schema
    engine and, in wasm mode, node-postgres behind adapter-pg, which reads only the URL's
    hostname. So nothing is ruled out because one reader overrides it: the authority's hosts,
    ?host= and ?hostaddr= all count, and so do PGHOST (used when the URL names no host) and
    PGHOSTADDR (used by libpq whenever the URL gives no hostaddr). Raises UnreadableUrl where
    the readers could disagree or libpq would read a service file.
    """
    environ = os.environ if environ is None else environ
    rest = _after_scheme(url)
    hosts, end = _authority_hosts(rest, _host_start(rest))
    query = rest.find("?", end)
    addresses: list[str] = []
    for key, value in _query_pairs(rest[query + 1 :] if query >= 0 else ""):
        if key.lower() == "host":
            hosts += value.split(",")
        elif key.lower() == "hostaddr":
            addresses += value.split(",")
        elif key.lower() == "service":
            raise UnreadableUrl("the hosts come from a pg_service.conf entry")
    return hosts + addresses + _environment_hosts(hosts, environ)


def is_loopback_or_socket(host: str) -> bool:
    """An empty host or one starting with / is a Unix socket, @ an abstract socket."""
    if host == "" or host.startswith(("/", "@")) or host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # any other name: DNS or /etc/hosts could point it anywhere
    if isinstance(address, ipaddress.IPv4Address):
        return address in _LOOPBACK_V4
    # Python 3.13 counts ::ffff:127.0.0.1 as loopback, earlier versions do not: keep one rule.
    return address.ipv4_mapped is None and address.is_loopback


def _after_scheme(url: str) -> str:
    if _AMBIGUOUS.search(url):
        raise UnreadableUrl("control character, outer space or # in the URL")
    for prefix in _POSTGRES_PREFIXES:
        if url[: len(prefix)].lower() == prefix:
            return url[len(prefix) :]
    raise UnreadableUrl("not a postgresql:// URL")


def _host_start(rest: str) -> int:
    """Where the hosts begin: after the user part, which libpq ends at the FIRST @ before any
    / while URL parsers end it at the LAST @ before / or ?; if they differ, so do the hosts."""
    libpq_at = next((i for i, char in enumerate(rest) if char in "@/"), len(rest))
    libpq_start = libpq_at + 1 if rest[libpq_at : libpq_at + 1] == "@" else 0
    authority = rest[: next((i for i, char in enumerate(rest) if char in "/?"), len(rest))]
    url_parser_start = authority.rfind("@") + 1
    if libpq_start != url_parser_start:
        raise UnreadableUrl("libpq and URL parsers split the user part differently")
    return libpq_start


def _authority_hosts(rest: str, start: int) -> tuple[list[str], int]:
    """libpq's host list: host[:port] entries separated by commas, IPv6 hosts in brackets.

    Returns the hosts and where the list ends (at /, ? or the end). libpq decodes the joined
    list before splitting it, so an encoded comma (%2C) separates hosts too.
    """
    raw: list[str] = []
    at = start
    while True:
        if rest.startswith("[", at):
            close = rest.find("]", at)
            if close <= at + 1 or rest[close + 1 : close + 2] not in ("", ":", "/", "?", ","):
                raise UnreadableUrl("malformed [IPv6] host")
            raw.append(rest[at + 1 : close])
            at = close + 1
        else:
            end = _find_first(rest, ":/?,", at)
            if "[" in rest[at:end] or "]" in rest[at:end]:
                raise UnreadableUrl("a bracket outside an [IPv6] host")  # URL parsers refuse it
            raw.append(rest[at:end])
            at = end
        if rest.startswith(":", at):
            end = _find_first(rest, "/?,", at + 1)
            if not _PORT.fullmatch(rest[at + 1 : end]):
                raise UnreadableUrl("a port that is not a number")
            at = end
        if not rest.startswith(",", at):
            return _decode(",".join(raw)).split(","), at
        at += 1


def _find_first(text: str, characters: str, start: int) -> int:
    return next((i for i in range(start, len(text)) if text[i] in characters), len(text))


def _query_pairs(query: str) -> list[tuple[str, str]]:
    """libpq's query grammar: key=value pairs joined by &, keys and values percent-decoded."""
    pieces = query.split("&") if query else []
    if pieces and pieces[-1] == "":
        pieces.pop()  # libpq accepts one trailing &
    pairs = []
    for piece in pieces:
        key, separator, value = piece.partition("=")
        if not separator or "=" in value:
            raise UnreadableUrl(f"query parameter without exactly one '=': {piece!r}")
        pairs.append((_decode(key), _decode(value)))
    return pairs


def _decode(text: str) -> str:
    """Percent-decode as libpq does, which refuses a stray % and %00."""
    if _BAD_ESCAPE.search(text):
        raise UnreadableUrl("invalid percent-encoding")
    return unquote(text, errors="replace")


def _environment_hosts(hosts: list[str], environ: Mapping[str, str]) -> list[str]:
    if environ.get("PGSERVICE"):
        raise UnreadableUrl("PGSERVICE names a pg_service.conf entry")
    found = []
    if "" in hosts and "PGHOST" in environ:
        found += environ["PGHOST"].split(",")
    if environ.get("PGHOSTADDR"):
        found += environ["PGHOSTADDR"].split(",")
    return found
