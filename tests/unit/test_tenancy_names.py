"""Tenant names, schema names and tenant URLs: pure checks, no database."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from prisma_tasks.config import Settings
from prisma_tasks.errors import EXIT_USAGE, ConfigError
from prisma_tasks.tenancy.errors import InvalidTenantName
from prisma_tasks.tenancy.names import check_prefix, schema_for, tenant_of, validate_tenant_name
from prisma_tasks.tenancy.schemas import failure_reason, require_schema_tenancy, tenant_url

SETTINGS = Settings(root=Path("/repo"), tenancy="schema")


@pytest.mark.parametrize("name", ["a", "acme", "acme_corp", "t1", "a" + "b" * 40, "x_1_2"])
def test_valid_names_pass_unchanged(name: str) -> None:
    assert validate_tenant_name(name) == name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "it is empty"),
        ("1acme", "starts with a digit"),
        ("_acme", "starts with '_'"),
        ("Acme", "upper-case letters (use 'acme')"),
        ("a" * 42, "42 characters long, at most 41"),
        ('acme"; DROP SCHEMA public CASCADE; --', "contains ' ', '\"', '-', ';'"),
        ("acme;drop", "contains ';'"),
        ("acme$1", "contains '$'"),
        ("ac me", "contains ' '"),
        ("acme\n", "contains '\\n'"),
        ("acmé", "contains 'é'"),
        ("acme-corp", "contains '-'"),
        ("a.b", "contains '.'"),
    ],
)
def test_invalid_names_are_refused_with_the_reason(name: str, why: str) -> None:
    with pytest.raises(InvalidTenantName) as caught:
        validate_tenant_name(name)
    message = str(caught.value)
    assert why in message, message
    assert "a lower-case letter, then lower-case letters, digits or underscores" in message
    assert caught.value.exit_code == EXIT_USAGE


@pytest.mark.parametrize("name", [None, 7, b"acme", ["acme"]])
def test_non_strings_are_refused(name: object) -> None:
    with pytest.raises(InvalidTenantName):
        validate_tenant_name(name)


def test_a_long_bad_name_is_shortened_in_the_message() -> None:
    with pytest.raises(InvalidTenantName) as caught:
        validate_tenant_name("x;" * 500)
    assert len(str(caught.value)) < 400


def test_schema_is_prefix_plus_name_and_checks_both() -> None:
    assert schema_for(SETTINGS, "acme") == "tenant_acme"
    assert schema_for(dataclasses.replace(SETTINGS, tenant_schema_prefix="t_"), "a1") == "t_a1"
    with pytest.raises(InvalidTenantName):
        schema_for(SETTINGS, "Robert'); DROP TABLE students;--")
    for prefix in ("", "Tenant_", "t-", "1t_", "t" * 23, 't"'):
        with pytest.raises(ConfigError, match="tenant_schema_prefix"):
            check_prefix(prefix)
    # the longest prefix and the longest name still fit PostgreSQL's 63-character identifiers
    assert len(check_prefix("p" * 22) + validate_tenant_name("n" * 41)) == 63


def test_tenant_of_recognises_only_prefixed_valid_schemas() -> None:
    assert tenant_of(SETTINGS, "tenant_acme") == "acme"
    assert tenant_of(SETTINGS, "public") is None
    assert tenant_of(SETTINGS, "tenant_") is None
    assert tenant_of(SETTINGS, "tenant_Bad") is None
    assert tenant_of(SETTINGS, "tenantx_acme") is None


def test_schema_tasks_need_schema_tenancy() -> None:
    require_schema_tenancy(SETTINGS)
    for mode in ("none", "row"):
        with pytest.raises(ConfigError, match="tenancy = 'schema'"):
            require_schema_tenancy(dataclasses.replace(SETTINGS, tenancy=mode))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@h:5432/db", "postgresql://u:p@h:5432/db?schema=tenant_a"),
        (
            "postgresql://u:p@h:5432/db?schema=public&sslmode=disable",
            "postgresql://u:p@h:5432/db?sslmode=disable&schema=tenant_a",
        ),
        ("postgresql://u:p%40x@h/db?schema=x", "postgresql://u:p%40x@h/db?schema=tenant_a"),
    ],
)
def test_tenant_url_sets_or_replaces_the_schema(url: str, expected: str) -> None:
    assert tenant_url(url, "tenant_a") == expected


def test_failure_reason_keeps_the_error_and_drops_the_engine_trace() -> None:
    stderr = (
        "Error: external connector error\n"
        'Error querying the database: ERROR: type "Role" already exists\n'
        "   0: sql_schema_connector::apply_migration::apply_script\n"
        '           with migration_name="20261125200630_init"\n'
    )
    assert failure_reason(stderr) == (
        'external connector error / Error querying the database: ERROR: type "Role" already exists'
    )
    assert failure_reason("Prisma schema loaded\nError: The database schema is not empty.") == (
        "The database schema is not empty."
    )
    assert failure_reason("") == "no output"
