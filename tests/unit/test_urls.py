"""Database URLs: masking passwords, swapping and reading the database name (no database)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from prisma_tasks.db.urls import (
    database_of,
    hide_password,
    mask,
    postgres_url,
    with_database,
)


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
    url = _fresh(
        password, "postgresql://db.example.com:5432/app?sslmode=disable&password={password}"
    )
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
