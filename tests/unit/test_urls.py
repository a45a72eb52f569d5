"""Database URLs: masking passwords, swapping and reading the database name (no database)."""

from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict

from prisma_tasks.databases.urls import (
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
