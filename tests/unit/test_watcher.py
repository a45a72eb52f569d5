from prisma_tasks.commands.watch import relevant
from prisma_tasks.config import load_settings


def test_relevant_skips_the_suites_own_writes_and_expands_new_folders(tree) -> None:
    settings = load_settings(tree.root, environ={})
    new_module = tree.module("billing", "models.prisma", "model Invoice {\n  id Int @id\n}\n")
    root = str(tree.root)
    changes = [
        (1, f"{root}/prisma/.schemas.tmp-abc123/identity__models.prisma"),  # collect staging
        (1, f"{root}/prisma/schemas/identity__models.prisma"),  # the collected folder
        (1, f"{root}/.prisma-tasks/collect-cache.marshal"),
        (1, f"{root}/prisma/migrations/20260101000000_init/x.prisma"),
        (1, f"{root}/modules/billing"),  # a new folder, reported before its file
        (2, f"{root}/modules/orders/schema/models.prisma"),
    ]
    assert relevant(changes, settings) == [
        str(new_module),
        f"{root}/modules/orders/schema/models.prisma",
    ]
