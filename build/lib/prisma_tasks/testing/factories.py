"""Row factories on factory_boy: valid rows with sensible defaults and explicit overrides.

factory_boy (with Faker) is the well-kept standard for test data in Python: declarations,
sequences, SubFactory for required related rows, `Params` for non-column inputs. It is made
for ORMs; here `_create` writes plain rows through a Connection, so the same factories
work on PostgreSQL and SQLite without a Python ORM. The connection is bound per test by
the `factories` fixture (a context variable, so parallel threads never mix databases).

    class UserFactory(RowFactory):
        class Meta:
            model = USER                      # a Table shared with the module's seeds
        tenantId = "acme"
        email = factory.Sequence(lambda n: f"user{n}@example.test")
"""

from __future__ import annotations

import contextvars
import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import factory

from prisma_tasks.config import Settings
from prisma_tasks.db.connection import Connection, Table

_bound: contextvars.ContextVar[Connection | None] = contextvars.ContextVar(
    "prisma_tasks_factory_connection", default=None
)


class RowFactory(factory.Factory):
    """Base class: `Meta.model` is a Table; create() inserts a new row.

    A collision with an existing key fails loudly (a unique violation) rather than quietly
    overwriting a seeded row with the factory's defaults; sequences keep generated keys apart.
    """

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class: Table, *args: Any, **kwargs: Any) -> dict[str, Any]:
        connection = _bound.get()
        if connection is None:
            raise RuntimeError(
                f"{cls.__name__}.create() needs a database: use the `factories` fixture or "
                "`bound_to(connection)`"
            )
        return connection.insert(model_class.name, kwargs)

    @classmethod
    def _build(cls, model_class: Table, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return dict(kwargs)


@contextmanager
def bound_to(connection: Connection) -> Iterator[None]:
    token = _bound.set(connection)
    try:
        yield
    finally:
        _bound.reset(token)


def discover_factories(settings: Settings) -> SimpleNamespace:
    """Every RowFactory in modules' factories.py, by name without the 'Factory' suffix."""
    from prisma_tasks.schema.collect import collect

    if str(settings.root) not in sys.path:
        sys.path.insert(0, str(settings.root))
    found: dict[str, type[RowFactory]] = {}
    folders = sorted({source.module_dir for source in collect(settings).sources})
    for folder in folders:
        path = settings.root / folder / "factories.py"
        if path.is_file():
            for name, value in vars(_import(path)).items():
                if (
                    isinstance(value, type)
                    and issubclass(value, RowFactory)
                    and value is not RowFactory
                ) and not value._meta.abstract:
                    found[name.removesuffix("Factory")] = value
    return SimpleNamespace(**found)


def _import(path: Path) -> Any:
    name = "modules." + ".".join(path.parent.relative_to(path.parents[1]).parts) + ".factories"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
