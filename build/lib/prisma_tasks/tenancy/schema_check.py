"""The row-tenancy rules for module schemas, checked on every collection by the Prisma tasks.

With `tenancy = "row"` every model is tenant-scoped unless listed in `tenant_exempt_models`.
A tenant-scoped model needs a required, single-valued tenant field (`tenantId String`) and an
index, unique constraint or id whose FIRST field is the tenant field: every query filters on
it, so without such an index each one scans the whole table of every tenant.
"""

from __future__ import annotations

from prisma_tasks.config import Settings
from prisma_tasks.errors import SchemaProblem
from prisma_tasks.schema.collect import CollectResult, Definition


def tenant_scoped_models(settings: Settings, result: CollectResult) -> list[Definition]:
    """The models the tenant rules apply to, in file and line order."""
    if settings.tenancy != "row":
        return []
    exempt = set(settings.tenant_exempt_models)
    models = [d for d in result.definitions.values() if d.kind == "model" and d.name not in exempt]
    return sorted(models, key=lambda d: (d.path, d.line))


def tenancy_problems(settings: Settings, result: CollectResult) -> list[SchemaProblem]:
    """Each tenant-scoped model without the tenant field or an index led by it, with file:line."""
    if settings.tenancy != "row":
        return []
    field_name = settings.tenant_field
    problems: list[SchemaProblem] = []
    for definition in tenant_scoped_models(settings, result):
        block = definition.block
        field = next((f for f in block.fields if f.name == field_name), None)
        exempt_hint = f"or list '{block.name}' in tenant_exempt_models if it is shared"
        if field is None:
            problems.append(
                SchemaProblem(
                    definition.path,
                    block.line,
                    f"model {block.name} is tenant-scoped but has no {field_name} field; add "
                    f"`{field_name} String` and `@@index([{field_name}])`, {exempt_hint}",
                )
            )
            continue
        if field.optional or field.is_list:
            problems.append(
                SchemaProblem(
                    definition.path,
                    field.line,
                    f"{block.name}.{field_name} must be required and single-valued "
                    f"(a row without a tenant belongs to nobody); "
                    f"declare it `{field_name} {field.type}`",
                )
            )
        if not any(index.fields[:1] == (field_name,) for index in block.indexes):
            led_by_other = [i for i in block.indexes if field_name in i.fields[1:]]
            detail = (
                f" (@@{led_by_other[0].kind}([{', '.join(led_by_other[0].fields)}]) on line "
                f"{led_by_other[0].line} has it, but not first)"
                if led_by_other
                else ""
            )
            problems.append(
                SchemaProblem(
                    definition.path,
                    field.line,
                    f"model {block.name} has no index that starts with {field_name}{detail}; "
                    f"add `@@index([{field_name}])` or lead a @@unique/@@id with it",
                )
            )
    defined = {d.name for d in result.definitions.values() if d.kind == "model"}
    for name in settings.tenant_exempt_models:
        if name not in defined:
            problems.append(
                SchemaProblem(
                    str(settings.source.name if settings.source else "pyproject.toml"),
                    None,
                    f"tenant_exempt_models names '{name}', but no module defines a model "
                    "of that name",
                )
            )
    return problems
