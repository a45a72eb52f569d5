"""The current tenant: a context variable, set for a block of code with `tenant_context`.

    with tenant_context("acme"):
        users.find(role="ADMIN")      # only acme's rows

A context variable follows threads started with `contextvars.copy_context()` and asyncio tasks,
and each thread or task starts without a tenant: nothing leaks from one request to the next.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from prisma_tasks.tenancy.errors import TenancyError, TenantContextMissing

TenantId = str | int

_current: ContextVar[TenantId | None] = ContextVar("prisma_tasks_tenant", default=None)


def _checked(tenant_id: object) -> TenantId:
    if isinstance(tenant_id, bool) or not isinstance(tenant_id, (str, int)):
        raise TenancyError(f"a tenant id is a string or an integer, not {tenant_id!r}")
    if isinstance(tenant_id, str) and not tenant_id.strip():
        raise TenancyError("a tenant id must not be empty")
    return tenant_id


@contextmanager
def tenant_context(tenant_id: TenantId) -> Iterator[TenantId]:
    """Run the block as `tenant_id`; nested blocks override and restore the outer tenant."""
    token = _current.set(_checked(tenant_id))
    try:
        yield tenant_id
    finally:
        _current.reset(token)


def current_tenant() -> TenantId:
    """The tenant of this context; raises TenantContextMissing outside `tenant_context`."""
    tenant_id = _current.get()
    if tenant_id is None:
        raise TenantContextMissing(
            "no tenant context: wrap the call in `with tenant_context(tenant_id):` "
            "(tenant-scoped data is never read or written without one)"
        )
    return tenant_id


def current_tenant_or_none() -> TenantId | None:
    return _current.get()
