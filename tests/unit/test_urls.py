"""Database URLs: masking passwords, swapping and reading the database name (no database)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from prisma_tasks.databases.pg_server import PostgresServer
from prisma_tasks.db.connection import Connection
from prisma_tasks.db.urls import (
    PRISMA_ONLY_PARAMETERS,
    UnreadableUrl,
    database_of,
    hide_password,
    is_provably_local,
    libpq_url,
    mask,
    postgres_url,
    reachable_hosts,
    with_database,
    with_query_parameter,
    without_query_parameters,
)
from prisma_tasks.errors import PrismaTasksError
from prisma_tasks.tenancy.schemas import tenant_url


# -- mask ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "postgresql://user:secret@localhost:5432/app",
            "postgresql://user:***@localhost:5432/app",
        ),
        ("postgres://admin:pw@db.example.com/x", "postgres://admin:***@db.example.com/x"),
        ("POSTGRESQL://User:Secret@HOST/db", "POSTGRESQL://User:***@HOST/db"),
        ("postgresql://:only-password@host/db", "postgresql://:***@host/db"),
        ("postgresql://user:@host/db", "postgresql://user:***@host/db"),
        (
            "postgresql://host/db?sslmode=require&password=secret",
            "postgresql://host/db?sslmode=require&password=***",
        ),
        ("postgresql://host/db?password=secret", "postgresql://host/db?password=***"),
        (
            "postgresql://host/db?PASSWORD=secret&sslmode=require",
            "postgresql://host/db?PASSWORD=***&sslmode=require",
        ),
        (
            "postgresql://user:one@host/db?password=two",
            "postgresql://user:***@host/db?password=***",
        ),
    ],
)
def test_mask_hides_passwords(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "password",
    [
        "p%40ss%3Aw%2Frd%23%3F%25",  # percent-encoded @ : / # ? %
        "pa:ss",
        "pa/ss",
        "pa#ss?x=1",
        "!$&'()*+,;=~",
        "%C3%A9t%C3%A9",  # encoded UTF-8
        "été",
    ],
)
def test_mask_hides_passwords_with_special_characters(password: str) -> None:
    url = f"postgresql://app_user:{password}@127.0.0.1:5432/app?sslmode=disable"
    masked = mask(url)
    assert masked == "postgresql://app_user:***@127.0.0.1:5432/app?sslmode=disable"
    assert password not in masked


def test_mask_handles_every_url_in_a_message() -> None:
    text = (
        'connection to "postgresql://a:first@h1/db" failed; '
        "retried postgres://b:second@h2:5433/db?password=third&x=1\n"
        "then sqlserver://c:fourth@h3"
    )
    masked = mask(text)
    for secret in ("first", "second", "third", "fourth"):
        assert secret not in masked
    assert masked.count("***") == 4
    assert "postgresql://a:***@h1/db" in masked
    assert "postgres://b:***@h2:5433/db?password=***&x=1" in masked


@pytest.mark.parametrize(
    "text",
    [
        "postgresql://user@localhost:5432/app",
        "postgresql://localhost:5432/app",
        "postgresql://localhost/app?sslmode=require",
        "file:/tmp/prisma-tasks/sqlite-x/pt_abc_1.db",
        "no url at all: user:name@host",
        "",
    ],
)
def test_mask_leaves_text_without_passwords_alone(text: str) -> None:
    assert mask(text) == text


def test_mask_of_a_built_url_hides_every_encoded_character() -> None:
    password = "p@ss:w/rd#?&= %é"
    url = postgres_url(user="us er", password=password, host="h", port=5432, database="db")
    masked = mask(url)
    assert masked == "postgresql://us%20er:***@h:5432/db"
    assert conninfo_to_dict(url)["password"] == password  # libpq reads back the exact password


# -- hide_password -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "password"),
    [
        ("postgresql://admin:50%off@127.0.0.1:5432/postgres", "50%off"),  # a raw %: invalid
        ("postgresql://admin:with space@127.0.0.1:5432/postgres", "with space"),
        ("postgresql://admin@127.0.0.1/postgres?password=50%off", "50%off"),
    ],
)
def test_hide_password_covers_malformed_urls(url: str, password: str) -> None:
    # mask() alone misses these; libpq's message quotes the offending token verbatim
    message = f'cannot use {url}: invalid percent-encoded token: "{password}"'
    hidden = hide_password(message, url)
    assert password not in hidden
    assert hidden.endswith('token: "***"')
    assert "postgresql://admin" in hidden


def test_hide_password_hides_the_decoded_spelling_too() -> None:
    url = "postgresql://admin:p%40ss-word@h/db"
    assert hide_password("password p@ss-word was rejected", url) == "password *** was rejected"
    assert hide_password(url, url) == "postgresql://admin:***@h/db"


def test_hide_password_without_a_password_only_masks() -> None:
    assert hide_password("postgresql://x:y@h/db", "postgresql://admin@h/db") == (
        "postgresql://x:***@h/db"
    )
    assert hide_password("plain text", "not a url [") == "plain text"


# -- with_database / database_of -----------------------------------------------------------------
def test_with_database_swaps_only_the_database() -> None:
    url = "postgresql://user:p%40ss@db.example.com:5433/old?sslmode=require&schema=public"
    assert with_database(url, "new_db") == (
        "postgresql://user:p%40ss@db.example.com:5433/new_db?sslmode=require&schema=public"
    )


def test_with_database_adds_a_missing_path() -> None:
    assert with_database("postgresql://h:5432", "app") == "postgresql://h:5432/app"
    assert with_database("postgresql://h:5432/", "app") == "postgresql://h:5432/app"


@pytest.mark.parametrize("name", ["app", "pt_abc123_1", "with space", "a/b?c#d", "été", "a%b"])
def test_with_database_and_database_of_round_trip(name: str) -> None:
    url = with_database("postgresql://u:p@h:5432/postgres?sslmode=disable", name)
    assert database_of(url) == name
    assert url.endswith("?sslmode=disable")
    assert conninfo_to_dict(url)["dbname"] == name


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@h:5432/app", "app"),
        ("postgresql://u:p@h:5432/app?sslmode=require", "app"),
        ("postgresql://h/my%20db", "my db"),
        ("postgresql://h:5432/", ""),
        ("postgresql://h:5432", ""),
    ],
)
def test_database_of(url: str, expected: str) -> None:
    assert database_of(url) == expected


def test_mask_hides_a_password_with_an_unencoded_at_sign() -> None:
    assert mask("postgresql://u:p@ss@host/app") == "postgresql://u:***@host/app"


# -- every spelling of a password ----------------------------------------------------------------
def test_mask_hides_a_password_with_an_unencoded_at_sign_and_a_space() -> None:
    assert mask("postgresql://u:p@ss word@localhost/db") == "postgresql://u:***@localhost/db"


def test_hide_password_hides_the_pieces_libpq_quotes_back() -> None:
    # libpq ends the password at the first @ and reads "ss word@localhost" as the host
    url = "postgresql://u:p@ss word@localhost/db"
    message = (
        'unexpected spaces found in "ss word@localhost", use percent-encoded spaces (%20) instead'
    )
    assert hide_password(message, url) == (
        'unexpected spaces found in "***@localhost", use percent-encoded spaces (%20) instead'
    )
    colon = "postgresql://u:p@ss:word@localhost/db"  # host "ss", port "word@localhost"
    assert hide_password("failed to resolve host 'ss'", colon) == "failed to resolve host '***'"
    assert hide_password('invalid port "word@localhost"', colon) == 'invalid port "***@localhost"'
    assert hide_password("an address and a session", colon) == "an address and a session"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://h/db?password=a b&x=1", "postgresql://h/db?password=***&x=1"),
        ("postgresql://h/db?x=1&password=a b", "postgresql://h/db?x=1&password=***"),
        ("postgresql://h/db?password=a#b", "postgresql://h/db?password=***"),
        ("postgresql://h/db?p%61ssword=secret", "postgresql://h/db?p%61ssword=***"),
        ("postgresql://h/db?%70%41SSWORD=secret", "postgresql://h/db?%70%41SSWORD=***"),
        ("postgresql://h:5432/db?password=p@ssword", "postgresql://h:***"),  # all hidden
        ("postgresql://admin@server:pw@h/db", "postgresql://admin@server:***@h/db"),
        ("postgresql://u:a b://c@h/db", "postgresql://u:***@h/db"),  # one URL: read whole
        ("password=secret host=h", "password=*** host=h"),
        ("host=h password=secret dbname=app", "host=h password=*** dbname=app"),
        ("host=h password = 'a b' dbname=app", "host=h password = *** dbname=app"),
        (r"host=h password='it\'s a \\ b' dbname=app", "host=h password=*** dbname=app"),
        (r"host=h password=a\ b dbname=app", "host=h password=*** dbname=app"),
        ("host=h PASSWORD='unterminated", "host=h PASSWORD=***"),
        ('conninfo "host=h password=s3cret"', 'conninfo "host=h password=***'),
    ],
)
def test_mask_hides_every_spelling(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "host=h dbname=app user=admin",
        "the password is wrong",
        "my_password=x is not a conninfo keyword",
        "https://pris.ly/d/migrate-reset",
    ],
)
def test_mask_leaves_conninfo_without_a_password_alone(text: str) -> None:
    assert mask(text) == text


def test_hide_password_reads_a_conninfo_password() -> None:
    conninfo = r"host=h password='a b\'c' dbname=app"
    assert hide_password("server said: a b'c is wrong", conninfo) == "server said: *** is wrong"


# -- property: generated passwords ---------------------------------------------------------------
# Printable characters (space, @ : / # ? % and quotes included) and a few beyond ASCII.
password_text = st.text(
    st.one_of(st.characters(min_codepoint=0x20, max_codepoint=0x7E), st.sampled_from("éß€")),
    min_size=4,
)


def _fresh(password: str, template: str) -> str:
    """`template` with the password, which must occur nowhere else (not even in the ***)."""
    assume(password not in template.format(password="***"))
    return template.format(password=password)


@settings(max_examples=500, deadline=None)
@given(password_text)
def test_no_password_in_the_user_part_survives(password: str) -> None:
    url = _fresh(password, "postgresql://app_user:{password}@db.example.com:5432/app?ssl=true")
    assert password not in mask(url)
    assert password not in hide_password(url, url)
    assert password not in hide_password(f"cannot connect to {url}: timeout", url)


@settings(max_examples=500, deadline=None)
@given(password_text.filter(lambda p: "://" not in p))
def test_no_password_in_a_url_inside_a_message_survives(password: str) -> None:
    message = 'connection to "postgresql://app_user:{password}@db.example.com:5432/app" failed;'
    text = _fresh(password, message + " retry postgres://u:x@h2/db")
    assert password not in mask(text)


@settings(max_examples=500, deadline=None)
@given(password_text.filter(lambda p: "&" not in p))  # an & ends the value for every reader
def test_no_query_password_survives(password: str) -> None:
    template = "postgresql://db.example.com:5432/app?sslmode=disable&password={password}"
    url = _fresh(password, template)
    # ... nor in the texts around it ('name' is in application_name)
    _fresh(password, template + "&application_name=seeds")
    _fresh(password, f"cannot connect to {template}: timeout")
    assert password not in mask(url)
    assert password not in mask(url + "&application_name=seeds")
    assert password not in hide_password(f"cannot connect to {url}: timeout", url)


@settings(max_examples=500, deadline=None)
@given(password_text)
def test_no_conninfo_password_survives(password: str) -> None:
    assume(password not in make_conninfo(host="db.example.com", password="***", dbname="app"))
    conninfo = make_conninfo(host="db.example.com", password=password, dbname="app")
    assert conninfo_to_dict(conninfo)["password"] == password
    assert password not in mask(conninfo)
    assert password not in mask(f"cannot connect with {conninfo}: timeout")
    assert password not in hide_password("nothing else", conninfo) + hide_password(
        conninfo, conninfo
    )


_piece = st.text(st.sampled_from("ABCDEFGHJKMNPQRSTUVWXYZ23456789"), min_size=4, max_size=8)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_piece, st.sampled_from("@: /%,?")), min_size=2, max_size=4))
def test_no_piece_libpq_quotes_back_survives(pieces: list[tuple[str, str]]) -> None:
    """libpq's own parser reads a malformed URL and its message quotes parts of the password."""
    password = "".join(piece + joint for piece, joint in pieces)[:-1]
    url = f"postgresql://app_user:{password}@db.example.com:5432/app"
    try:
        conninfo_to_dict(url)
    except Exception as exc:
        hidden = hide_password(str(exc), url)
        assert not [piece for piece, _ in pieces if piece in hidden], hidden


# -- deriving URLs: one component changes, every other byte stays ---------------------------------
@pytest.mark.parametrize(
    ("url", "database", "schema", "for_libpq"),
    [
        (  # urlunsplit made these postgresql:/new?...: no longer a URL libpq or Prisma reads
            "postgresql:///app?host=/var/run/postgresql",
            "postgresql:///new?host=/var/run/postgresql",
            "postgresql:///app?host=/var/run/postgresql&schema=t_a",
            "postgresql:///app?host=/var/run/postgresql",
        ),
        (  # parse_qsl + urlencode read + as a space and dropped empty values
            "postgresql://u@h/app?options=-c+x%3D1&application_name=&schema=old",
            "postgresql://u@h/new?options=-c+x%3D1&application_name=&schema=old",
            "postgresql://u@h/app?options=-c+x%3D1&application_name=&schema=t_a",
            "postgresql://u@h/app?options=-c+x%3D1&application_name=",
        ),
        (
            "postgresql://u:p%40ss%25%20w@[::1]:5432,db2.internal:5433/app?host=%2Ftmp&sslmode=require",
            "postgresql://u:p%40ss%25%20w@[::1]:5432,db2.internal:5433/new?host=%2Ftmp&sslmode=require",
            "postgresql://u:p%40ss%25%20w@[::1]:5432,db2.internal:5433/app?host=%2Ftmp&sslmode=require&schema=t_a",
            "postgresql://u:p%40ss%25%20w@[::1]:5432,db2.internal:5433/app?host=%2Ftmp&sslmode=require",
        ),
        (
            "postgres://u:a&b=c+d@h/app?schema=s&connection_limit=5&application_name=x/y:z@w",
            "postgres://u:a&b=c+d@h/new?schema=s&connection_limit=5&application_name=x/y:z@w",
            "postgres://u:a&b=c+d@h/app?connection_limit=5&application_name=x/y:z@w&schema=t_a",
            "postgres://u:a&b=c+d@h/app?application_name=x/y:z@w",
        ),
        (
            "postgresql:////db.internal",  # a socket and the database "/db.internal"
            "postgresql:///new",
            "postgresql:////db.internal?schema=t_a",
            "postgresql:////db.internal",
        ),
        ("postgresql://h", "postgresql://h/new", "postgresql://h?schema=t_a", "postgresql://h"),
        (
            "postgresql://h/db?sch%65ma=x&schema=y&",  # libpq decodes the key; one & may end it
            "postgresql://h/new?sch%65ma=x&schema=y&",
            "postgresql://h/db?schema=t_a&",
            "postgresql://h/db",
        ),
    ],
)
def test_a_derived_url_changes_one_component_only(
    url: str, database: str, schema: str, for_libpq: str
) -> None:
    assert with_database(url, "new") == database
    assert tenant_url(url, "t_a") == schema
    assert libpq_url(url)[0] == for_libpq
    assert reachable_hosts(database, {}) == reachable_hosts(url, {}) == reachable_hosts(schema, {})


def test_a_derived_url_round_trips_its_new_component() -> None:
    url = with_query_parameter("postgresql://h/db?a=1", "schema", "s p+a/c%e")
    assert url == "postgresql://h/db?a=1&schema=s%20p%2Ba%2Fc%25e"
    assert without_query_parameters(url, ["schema", "a"]) == (
        "postgresql://h/db",
        {"a": "1", "schema": "s p+a/c%e"},
    )
    assert libpq_url("postgresql://h/db?schema=a+b") == ("postgresql://h/db", "a b")  # as Prisma


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:p@ss word@localhost/db",  # libpq: password "p", host "ss word@localhost"
        "postgresql://u:se#cret@localhost/db",  # URL parsers: host "u", port "se"
        "postgresql://u:se?cret@localhost/db",  # URL parsers: host "u", the query "cret@..."
        "postgresql://u:secret@localhost/db\n",
        "mysql://u:secret@localhost/db",
    ],
)
def test_nothing_is_derived_where_the_readers_of_a_url_disagree(url: str) -> None:
    for derive in (
        lambda: with_database(url, "new"),
        lambda: tenant_url(url, "t_a"),
        lambda: libpq_url(url),
        lambda: database_of(url),
    ):
        with pytest.raises(UnreadableUrl) as refused:
            derive()
        assert "ss" not in str(refused.value).replace("password", "")


def test_with_database_refuses_a_dbname_parameter_libpq_would_connect_to() -> None:
    with pytest.raises(UnreadableUrl, match=r"\?dbname="):
        with_database("postgresql://h/postgres?dbname=prod", "pt_1")
    with pytest.raises(UnreadableUrl, match=r"\?dbname="):
        with_database("postgresql://h/postgres?db%6Eame=prod", "pt_1")


# Generated URLs: hosts, ports, user, password, database and parameters, each percent-encoded
# with a random choice of the characters every reader takes literally in its place.
_TEXT = st.text(
    st.one_of(st.characters(min_codepoint=0x20, max_codepoint=0x7E), st.sampled_from("é€\t")),
    max_size=12,
)
_HOST = st.sampled_from(["localhost", "127.0.0.1", "[::1]", "[2001:db8::7]", "db.internal", "h"])
_PORT = st.sampled_from(["", ":5432", ":6543"])
_KEY = st.sampled_from(["sslmode", "application_name", "options", "host", "connect_timeout"])
_PRISMA_KEY = st.sampled_from(["schema", "connection_limit", "pgbouncer"])


def _encoded(draw, text: str, literal: str) -> str:
    return quote(text, safe="".join(draw(st.sets(st.sampled_from(literal)))))


@st.composite
def generated_urls(draw):
    """(url, the parts of it as [(key, raw text)], the password): the url is "".join of the
    raw texts; keys are scheme, user, password, hosts, path and one per query parameter."""
    user = _encoded(draw, draw(_TEXT.filter(bool)), "!$&'()*+,;=~")
    password = draw(st.none() | _TEXT.filter(lambda p: len(p) >= 4))
    userinfo = user + (":" + _encoded(draw, password, "!$&'()*+,;=:~") if password else "")
    hosts = draw(st.lists(st.tuples(_HOST, _PORT), min_size=1, max_size=3))
    database = draw(st.none() | _TEXT)
    # a literal @ in the query is taken for the user part's end unless a path comes first
    literal = "/:@!$'()*+,;~" if database is not None else "/:!$'()*+,;~"
    parameters = [
        (key, f"{quote(key)}={_encoded(draw, value, literal)}")
        for key, value in draw(st.lists(st.tuples(_KEY | _PRISMA_KEY, _TEXT), max_size=5))
    ]
    parts = [
        ("scheme", draw(st.sampled_from(["postgresql://", "postgres://"]))),
        ("userinfo", userinfo + "@"),
        ("hosts", ",".join(host + port for host, port in hosts)),
        ("path", "" if database is None else "/" + _encoded(draw, database, "+:@!$&'()*,;=~")),
    ]
    for index, (key, pair) in enumerate(parameters):
        parts.append((key, ("?" if index == 0 else "&") + pair))
    return "".join(text for _, text in parts), parts, password


def _joined(parts: list[tuple[str, str]]) -> str:
    """The url of `parts`, the first of its query parameters led by ? and the others by &."""
    text, query = "", False
    for key, piece in parts:
        if key not in ("scheme", "userinfo", "hosts", "path"):
            piece = ("&" if query else "?") + piece[1:]
            query = True
        text += piece
    return text


@settings(max_examples=400, deadline=None)
@given(generated_urls(), _TEXT)
def test_deriving_keeps_every_other_component_as_written(case, name: str) -> None:
    url, parts, password = case
    assert reachable_hosts(url, {})  # readable: every reader finds the same components
    moved_parts = [*parts[:3], ("path", "/" + quote(name, safe="")), *parts[4:]]
    assert with_database(url, name) == _joined(moved_parts)
    assert database_of(with_database(url, name)) == name
    kept = [(key, piece) for key, piece in parts if key != "schema"]
    derived = tenant_url(url, name)
    assert derived == _joined([*kept, ("schema", "&schema=" + quote(name, safe=""))])
    assert without_query_parameters(derived, ["schema"])[1] == {"schema": name}
    for_libpq = [(key, piece) for key, piece in parts if key not in PRISMA_ONLY_PARAMETERS]
    assert libpq_url(url)[0] == libpq_url(derived)[0] == _joined(for_libpq)
    # libpq reads the derived URLs as the original, but for the component that changed
    original = conninfo_to_dict(libpq_url(url)[0])
    assert conninfo_to_dict(libpq_url(derived)[0]) == original
    moved = conninfo_to_dict(libpq_url(with_database(url, name))[0])
    assert moved.pop("dbname", "") == name
    original.pop("dbname", None)
    assert moved == original
    for each in (with_database(url, name), derived, libpq_url(url)[0]):
        assert reachable_hosts(each, {}) == reachable_hosts(url, {})
        assert is_provably_local(each, {}) == is_provably_local(url, {})
        if password and password not in _starred(each, parts):
            assert password not in mask(each)
            assert password not in hide_password(each, each)
            assert password not in hide_password(f"cannot connect to {each}: timeout", each)


def _starred(url: str, parts: list[tuple[str, str]]) -> str:
    """`url` with *** for its password: what holds the password nowhere else."""
    scheme, userinfo = parts[0][1], parts[1][1]
    user = userinfo.partition(":")[0]
    return f"{scheme}{user}:***@{url[len(scheme) + len(userinfo) :]}"


# -- every printed path hides an unencoded password ----------------------------------------------
def _messages(url: str) -> list[str]:
    """What the package prints about `url`: the masked forms, the errors of connecting to it
    (psycopg's own text included), and a clone's URL derived from it (as a kept database is
    shown) or the error of deriving it. Nothing reaches a server: libpq's parser, psycopg or
    the derivation refuses each URL below."""
    server = PostgresServer(url)
    printed = [mask(url), hide_password(url, url), server.shown_url]
    for attempt in (lambda: Connection.open(url), lambda: server.connect().__enter__()):
        with pytest.raises(PrismaTasksError) as failed:
            attempt()
        printed.append(str(failed.value))
    return [*printed, _kept(url)]


def _kept(admin_url: str) -> str:
    """A kept clone's URL as the provisioner shows it, or the error of deriving it."""
    server = PostgresServer(admin_url)
    try:
        return server.hide(server.url_for("pt_1"))
    except PrismaTasksError as failed:
        return str(failed)


@pytest.mark.parametrize(
    ("url", "pieces"),
    [
        ("postgresql://u:p@ss word@localhost/db", ["p@ss", "ss word"]),
        ("postgresql://u:p@ss word@localhost/db?schema=s&sslmode=disable", ["p@ss", "ss word"]),
        ("postgresql://u:Qx@Zk Wv@localhost:5432/db", ["Qx", "Zk", "Wv"]),
        ("postgresql://u:Qx@Zk:Wv@localhost/db", ["Qx", "Zk", "Wv"]),
        ("postgresql://u:Qx%Zk Wv@localhost/db", ["Qx", "Zk", "Wv"]),  # a raw % and a space
        ("postgresql://u:Qx%zzWv@127.0.0.1/db", ["Qx%zzWv"]),  # readable, refused by libpq
        ("postgresql://u@127.0.0.1/db?password=Qx%zzWv&schema=s", ["Qx%zzWv"]),
        # an unencoded & in ?password=: libpq quotes the piece after it back
        ("postgresql://u@127.0.0.1/db?password=Qx&Zk%&Wv&sslmode=disable", ["Qx", "Zk", "Wv"]),
        ("postgresql://u@127.0.0.1/db?password=Qx=Zk&Wv", ["Qx", "Zk", "Wv"]),
        ("postgresql://u:Qx%84Wv@127.0.0.1/db", ["Qx%84Wv"]),  # psycopg: not UTF-8
    ],
)
def test_no_printed_path_shows_any_piece_of_the_password(url: str, pieces: list[str]) -> None:
    for message in _messages(url):
        assert not [piece for piece in pieces if piece in message], message
        assert "***" in message


def test_a_kept_clone_of_an_admin_url_hides_what_the_admin_url_had_for_its_password() -> None:
    # every reader takes Zk for the host and the rest for the database; mask() of the admin
    # URL hid "Qx@Zk/Wv" as the password, so a clone's URL must not show Zk either
    assert mask("postgresql://u:Qx@Zk/Wv@127.0.0.1/db") == "postgresql://u:***@127.0.0.1/db"
    assert _kept("postgresql://u:Qx@Zk/Wv@127.0.0.1/db") == "postgresql://u:***@***/pt_1"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://h/db?password=Qx=Zk&sslmode=disable",
        "postgresql://h/db?password=Qx&Zk",
        "postgresql://u:Qx@Zk Wv@localhost/db",
        "postgresql://u:Qx#Zk@localhost/db",
    ],
)
def test_unreadable_url_never_quotes_the_url(url: str) -> None:
    with pytest.raises(UnreadableUrl) as refused:
        with_database(url, "x")
    assert not [piece for piece in ("Qx", "Zk", "Wv") if piece in str(refused.value)]
