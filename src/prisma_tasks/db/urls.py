"""Database URLs: build them, derive others from them, never print a password, and tell
whether every host a URL could reach is this machine.

This is the one module that takes a PostgreSQL URL apart. A derived URL (another database,
another `?schema=`, no Prisma-only parameters) differs from its source in that one component
only: every other byte stays as written, so a password, ?host= or a host list is never
re-encoded, reordered or dropped. Where the URL's readers (libpq, Prisma's engines,
node-postgres) would find its components in different places, nothing is derived:
UnreadableUrl says why (and never quotes the URL).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from urllib.parse import quote, unquote, unquote_plus, urlsplit

_URL_START = r"[a-z][a-z0-9+.-]*://"
# A text that is one URL (one line starting with its scheme) is read whole: whatever sits
# between its user: and the last @ is the password, spaces and "other URLs" included.
_LONE_URL = re.compile(rf"{_URL_START}[^\r\n]*", re.I)
# The password ends at the LAST @ that a host and the end of the authority follow: an
# unencoded @, space, : / # or ? may sit inside it.
_BEFORE_HOST = r"@(?=[^@\s/?#]*(?:[/?#]|\s|$))"
_USERINFO_PASSWORD_IN_URL = re.compile(
    rf"{_URL_START}[^:/\r\n]*:(?P<secret>[^\r\n]*){_BEFORE_HOST}", re.I
)
# In a longer text a password stops short of another URL on its line (a scheme after a space,
# a quote or a bracket), unless only running into that URL finds an @.
_NEXT_URL = rf"[\s\"'`(<\[{{,;=]{_URL_START}"
_USER_IN_TEXT = rf"(?:(?!{_NEXT_URL})[^:/\r\n])*"
_PASSWORD_IN_TEXT = rf"(?:(?!{_NEXT_URL})[^\r\n])*"
_USERINFO_PASSWORD_IN_TEXT = re.compile(
    rf"{_URL_START}{_USER_IN_TEXT}:(?P<secret>{_PASSWORD_IN_TEXT}|[^\r\n]*){_BEFORE_HOST}", re.I
)
# libpq percent-decodes query keys, so p%61ssword= is a password too. In a longer text the
# value ends at a space as well as at the next & (a space there would end most URLs). Pieces
# without = after it are taken for the rest of the password (an unencoded &): libpq refuses
# such a piece and quotes it back.
_PASSWORD_KEY = "".join(
    f"(?:{letter}|%{ord(letter):02x}|%{ord(letter.upper()):02x})" for letter in "password"
)
_QUERY_PASSWORD_IN_URL = re.compile(
    rf"[?&]{_PASSWORD_KEY}=(?P<secret>[^&]*(?:&[^&=]+(?=&|$))*)", re.I
)
_QUERY_PASSWORD_IN_TEXT = re.compile(
    rf"[?&]{_PASSWORD_KEY}=(?P<secret>[^&\s]*(?:&[^&=\s]+(?=[&\s]|$))*)", re.I
)
# libpq's key=value conninfo: password = value, value 'quoted' (\' and \\ escaped) or bare
# up to whitespace (a backslash escapes the next character).
_CONNINFO_PASSWORD = re.compile(
    r"(?:^|(?<=[\s\"'`(\[{,;]))password\s*=\s*"
    r"(?P<secret>'(?:\\.|[^'\\\r\n])*'?|(?:\\.|[^\s\\'])(?:\\.|[^\s\\])*)",
    re.I,
)
_CONNINFO_ESCAPE = re.compile(r"\\(.)")
# What libpq splits a URI at: it may quote any piece of a password back in a message.
_URI_DELIMITERS = re.escape("@:/?#,&=[]")
_PIECE_BOUNDARY = _URI_DELIMITERS + re.escape("\"'`()<>;") + r"\s"


def mask(text: str) -> str:
    """Replace every password in URLs and conninfo strings inside `text` with ***.

    Each pattern looks at the original text and every stretch any of them takes for a password
    is starred out: a ?password=p@ss read as the user part of host:port (or the reverse) then
    hides a little too much rather than leaving the part after the @ in clear.
    """
    if _LONE_URL.fullmatch(text):
        patterns = (_USERINFO_PASSWORD_IN_URL, _QUERY_PASSWORD_IN_URL, _CONNINFO_PASSWORD)
    else:
        patterns = (_USERINFO_PASSWORD_IN_TEXT, _QUERY_PASSWORD_IN_TEXT, _CONNINFO_PASSWORD)
    return _star_out(text, [m.span("secret") for p in patterns for m in p.finditer(text)])


def _star_out(text: str, spans: list[tuple[int, int]]) -> str:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    kept, at = [], 0
    for start, end in merged:
        kept += [text[at:start], "***"]
        at = end
    return "".join(kept) + text[at:]


def hide_password(text: str, url: str) -> str:
    """mask(text), and also every spelling of `url`'s own password: a malformed URL (a raw % or
    space in the password) escapes the pattern, and libpq quotes the bad part back verbatim.

    libpq ends the password at its first @ (URL parsers at the last) and reads the rest as host
    and port, so each piece of the password between @ : / space ... is hidden too wherever it
    stands on its own (inside an ordinary word it stays, and so does a single character).
    """
    text = mask(text)
    spellings = {s for raw in _passwords_in(url) for s in (raw, unquote(raw)) if s}
    pieces = {
        piece
        for spelling in spellings
        for separators in (_URI_DELIMITERS, _URI_DELIMITERS + r"\s")
        for piece in re.split(f"[{separators}]+", spelling)
        if len(piece) > 1
    }
    # Longest first, so a piece is not cut by a shorter one that it contains.
    for secret in sorted(spellings | pieces, key=len, reverse=True):
        if secret in spellings:
            text = text.replace(secret, "***")
        else:
            alone = rf"(?<![^{_PIECE_BOUNDARY}]){re.escape(secret)}(?![^{_PIECE_BOUNDARY}])"
            text = re.sub(alone, "***", text)
    return text


def _passwords_in(url: str) -> list[str]:
    """Every password `url` carries, as mask reads it and as urlsplit does (they differ for a
    malformed URL): in the user part, as ?password= and as a conninfo password=."""
    found = [m["secret"] for m in _USERINFO_PASSWORD_IN_URL.finditer(url)]
    found += [m["secret"] for m in _QUERY_PASSWORD_IN_URL.finditer(url)]
    try:
        parts = urlsplit(url)
        found.append(parts.password or "")
        query = parts.query
    except ValueError:
        query = ""
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if unquote(key).lower() == "password":
            found.append(value)
    for match in _CONNINFO_PASSWORD.finditer(url):
        value = match["secret"]
        if value.startswith("'"):
            value = value[1:-1] if value.endswith("'") and len(value) > 1 else value[1:]
        found.append(_CONNINFO_ESCAPE.sub(r"\1", value))
    return found


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


class UnreadableUrl(ValueError):
    """A URL whose readers could find its hosts, path or query in different places, or that
    libpq would refuse: judged not local, and nothing is derived from it."""


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
    hosts, _, query = _locate(url)
    addresses: list[str] = []
    for key, value in _query_pairs(url[query + 1 :]):
        if key.lower() == "host":
            hosts += value.split(",")
        elif key.lower() == "hostaddr":
            addresses += value.split(",")
        elif key.lower() == "service":
            raise UnreadableUrl("the hosts come from a pg_service.conf entry")
    return hosts + addresses + _environment_hosts(hosts, environ)


# -- deriving URLs --------------------------------------------------------------------------------
# Query parameters that Prisma understands but libpq does not.
PRISMA_ONLY_PARAMETERS = frozenset(
    {
        "schema",
        "connection_limit",
        "pool_timeout",
        "pgbouncer",
        "statement_cache_size",
        "socket_timeout",
    }
)


def with_database(url: str, database: str) -> str:
    """`url` naming `database`: only the path changes.

    Raises UnreadableUrl where the readers of `url` would find its path in different places,
    where libpq would refuse its query, and where ?dbname= names a database, which libpq would
    connect to instead of the path's.
    """
    _, path, query = _locate(url)
    if any(key == "dbname" for key, _ in _query_pairs(url[query + 1 :])):
        raise UnreadableUrl("its ?dbname= parameter would override the database in the path")
    return url[:path] + "/" + quote(database, safe="") + url[query:]


def database_of(url: str) -> str:
    """The database the path of `url` names, decoded ('' when there is no path)."""
    _, path, query = _locate(url)
    return unquote(url[path + 1 : query])


def with_query_parameter(url: str, key: str, value: str) -> str:
    """`url` whose only `key` parameter is `key=value`, after the other parameters (each of
    those stays as written, in its place). Raises UnreadableUrl as with_database does."""
    pair = f"{quote(key, safe='')}={quote(value, safe='')}"
    return _edit_query(url, frozenset({key}), pair)[0]


def without_query_parameters(url: str, keys: Collection[str]) -> tuple[str, dict[str, str]]:
    """(`url` without its parameters named in `keys`, the first value of each one removed,
    decoded as Prisma reads it). Every other parameter stays as written, in its place; the ?
    goes when no parameter is left. Raises UnreadableUrl as with_database does."""
    return _edit_query(url, frozenset(keys))


def libpq_url(url: str) -> tuple[str, str | None]:
    """(`url` for psycopg: without the parameters libpq does not know, Prisma's `schema` or
    None). Raises UnreadableUrl as with_database does."""
    conninfo, removed = without_query_parameters(url, PRISMA_ONLY_PARAMETERS)
    return conninfo, removed.get("schema")


def _edit_query(
    url: str, drop: frozenset[str], add: str | None = None
) -> tuple[str, dict[str, str]]:
    _, _, query = _locate(url)
    text = url[query + 1 :]
    kept, dropped = [], {}
    for piece in text.split("&") if text else []:
        raw_key, _, raw_value = piece.partition("=")
        # libpq decodes %XX in keys, Prisma's readers decode + as well: either reading counts.
        named = {unquote(raw_key), unquote_plus(raw_key)} & drop
        if named:
            dropped.setdefault(named.pop(), unquote_plus(raw_value))
        else:
            kept.append(piece)
    if add is not None:
        kept.insert(len(kept) - 1 if kept[-1:] == [""] else len(kept), add)  # before a last &
    if dropped and not any(kept):
        return url[:query], dropped
    return url[:query] + ("?" + "&".join(kept) if query < len(url) or kept else ""), dropped


# -- reading URLs ---------------------------------------------------------------------------------
def _locate(url: str) -> tuple[list[str], int, int]:
    """(the authority's hosts, where the path starts, where the query starts: at its ?, or
    len(url) without one), where every reader of the PostgreSQL `url` finds them.

    libpq ends the user part at the first @ and never reads # as a fragment, URL parsers end
    it at the last @ of the authority and stop at #: where that matters, UnreadableUrl.
    """
    rest = _after_scheme(url)
    scheme = len(url) - len(rest)
    hosts, end = _authority_hosts(rest, _host_start(rest))
    query = rest.find("?", end)
    return hosts, scheme + end, scheme + (query if query >= 0 else len(rest))


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
        raise UnreadableUrl(
            "a control character, a leading or trailing space or a # in the URL "
            "(percent-encode # as %23)"
        )
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
        raise UnreadableUrl(
            "libpq and URL parsers end its user part at different places (percent-encode "
            "@ as %40, ? as %3F and / as %2F in the user name and password)"
        )
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
            # not quoted: the piece may be part of a password (an unencoded & or =)
            raise UnreadableUrl("a query parameter without exactly one '='")
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


def sqlite_path(database_url: str, root: Path) -> Path:
    """The file of a `file:` URL; a relative one against `root`. The commands hand on URLs
    made absolute first (absolute_sqlite_url), so `root` only matters for hand-built ones."""
    raw = database_url[len("file:") :].split("?", 1)[0]
    path = Path(raw)
    return path if path.is_absolute() else (root / path).resolve()


def absolute_sqlite_url(url: str, schema_folder: Path) -> str:
    """A relative SQLite URL (`file:./dev.db`) made absolute against the schema folder, where
    native Prisma's engines and the wasm-mode Client hook resolve it; other URLs unchanged.

    Why: wasm mode's migrate commands open the file through adapter-libsql, which resolves it
    against the working directory (the repository root). Left relative, `prisma.migrate`
    wrote `<root>/dev.db` while the application's Client opened `prisma/dev.db`, a new empty
    file ("no such table"). Absolute, every reader opens the same file, in both modes.
    """
    if not url.startswith("file:"):
        return url
    raw, separator, query = url[len("file:") :].partition("?")
    if not raw or raw == ":memory:" or Path(raw).is_absolute():
        return url
    return f"file:{sqlite_path(url, schema_folder)}{separator}{query}"
