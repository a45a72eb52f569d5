"""Benchmark the schema reader on one large generated schema file (run on demand, not in CI).

    PYTHONPATH=src python bench/parse_bench.py [--sizes 1,2.7,10] [--runs 3]

For each size in MB, prints the best-of-runs parse time and seconds per MB. A reader that is
linear in the file size keeps seconds per MB flat as the size grows; a quadratic one shows it
growing with the size.
"""

from __future__ import annotations

import argparse
import time

from prisma_tasks.schema.reader import parse_schema


def blocks_text(number: int) -> str:
    """A model with the features the reader looks at (doc comments, strings, relations, block
    comments, field and block indexes) and a small enum, as real schemas mix them."""
    return (
        f"/// Model {number} {{ with a brace in its doc comment\n"
        f"model M{number} {{\n"
        "  id        Int      @id @default(autoincrement())\n"
        f'  label     String   @default("{{not a block}} // not a comment")\n'
        "  /* a block comment\n     over two lines */\n"
        "  ownerId   Int?\n"
        f"  owner     M{max(number - 1, 0)}? @relation(fields: [ownerId], references: [id])\n"
        "  tags      String[]\n"
        "  createdAt DateTime @default(now())\n"
        "  @@index([ownerId, createdAt(sort: Desc)])\n"
        '  @@unique(name: "label_owner", fields: [label, ownerId])\n'
        "}\n\n"
        f"enum Kind{number} {{\n  A\n  B\n}}\n\n"
    )


def schema_of_size(megabytes: float) -> str:
    wanted = int(megabytes * 1_000_000)
    parts: list[str] = []
    size = 0
    number = 0
    while size < wanted:
        part = blocks_text(number)
        parts.append(part)
        size += len(part)
        number += 1
    return "".join(parts)


def best_parse_seconds(text: str, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        parsed = parse_schema(text, "bench.prisma")
        best = min(best, time.perf_counter() - started)
        assert not parsed.problems, parsed.problems[:3]
    return best


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="1,2.7,10", help="comma-separated sizes in MB")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{'size MB':>8} {'blocks':>8} {'parse s':>9} {'s per MB':>9}")
    for megabytes in (float(size) for size in args.sizes.split(",")):
        text = schema_of_size(megabytes)
        seconds = best_parse_seconds(text, args.runs)
        actual = len(text.encode()) / 1_000_000
        blocks = len(parse_schema(text, "bench.prisma").blocks)
        print(f"{actual:8.2f} {blocks:8d} {seconds:9.3f} {seconds / actual:9.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
