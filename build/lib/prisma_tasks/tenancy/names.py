"""Tenant names for schema-per-tenant: checked as identifiers before any SQL is built.

A name becomes part of a schema name (`<tenant_schema_prefix><name>`), so it is held to a
strict pattern; the SQL that uses it quotes it as an identifier as well (defence in depth).
"""

from __future__ import annotations

import re

from prisma_tasks.config import Settings
from prisma_tasks.errors import ConfigError
from prisma_tasks.tenancy.errors import InvalidTenantName

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,40}")
PREFIX_PATTERN = re.compile(r"[a-z_][a-z0-9_]{0,21}")  # 22 + 41 characters fit PostgreSQL's 63
MAX_NAME = 41


def validate_tenant_name(name: object) -> str:
    """The name itself when it is a safe tenant name; InvalidTenantName (exit 2) otherwise."""
    if isinstance(name, str) and NAME_PATTERN.fullmatch(name):
        return name
    shown = repr(name) if not isinstance(name, str) or len(name) <= 60 else repr(name[:57] + "...")
    if isinstance(name, str) and len(name) > MAX_NAME and NAME_PATTERN.fullmatch(name[:MAX_NAME]):
        why = f"it is {len(name)} characters long, at most {MAX_NAME} are allowed"
    elif isinstance(name, str) and name[:1].isdigit():
        why = "it starts with a digit"
    elif isinstance(name, str) and name != name.lower() and NAME_PATTERN.fullmatch(name.lower()):
        why = f"it has upper-case letters (use {name.lower()!r})"
    elif isinstance(name, str) and name:
        bad = sorted({c for c in name if not re.fullmatch(r"[a-zA-Z0-9_]", c)})
        listed = ", ".join(repr(c) for c in bad[:8]) + (", ..." if len(bad) > 8 else "")
        upper = any(c.isupper() for c in name)
        if bad:
            why = f"it contains {listed}" + (" and upper-case letters" if upper else "")
        else:
            why = "it has upper-case letters" if upper else "it starts with '_'"
    else:
        why = "it is empty"
    raise InvalidTenantName(
        f"tenant name {shown} is not valid: {why}. A tenant name is 1 to {MAX_NAME} characters: "
        "a lower-case letter, then lower-case letters, digits or underscores (e.g. acme_corp)"
    )


def check_prefix(prefix: str) -> str:
    if not PREFIX_PATTERN.fullmatch(prefix):
        raise ConfigError(
            f"[tool.prisma-tasks] tenant_schema_prefix = {prefix!r} is not valid: use 1 to 22 "
            "lower-case letters, digits or underscores, not starting with a digit "
            "(e.g. 'tenant_')"
        )
    return prefix


def schema_for(settings: Settings, name: str) -> str:
    """The PostgreSQL schema of a tenant: the configured prefix + the validated name."""
    return check_prefix(settings.tenant_schema_prefix) + validate_tenant_name(name)


def tenant_of(settings: Settings, schema: str) -> str | None:
    """The tenant name of a schema, or None when the schema is not a tenant's."""
    prefix = settings.tenant_schema_prefix
    if not schema.startswith(prefix):
        return None
    name = schema[len(prefix) :]
    return name if NAME_PATTERN.fullmatch(name) else None
