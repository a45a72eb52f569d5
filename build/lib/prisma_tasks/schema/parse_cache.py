"""Remember what each schema file declared, keyed by its stat, so a no-op collect reads nothing.

Stored with `marshal` (tuples, strings and ints only) because loading it is several times
faster than JSON for thousands of files; any unreadable or foreign cache is ignored.
"""

from __future__ import annotations

import contextlib
import marshal
import os
from pathlib import Path

from prisma_tasks.fsutil import write_atomically
from prisma_tasks.schema.reader import Block, Field, Index

_FORMAT = 3  # 3: blocks carry their indexes

StatKey = tuple[int, int, int, int]  # mtime_ns, ctime_ns, size, inode
Record = tuple[StatKey, tuple]


def stat_key(path: str) -> StatKey | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino)


class ParseCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[str, Record] = {}
        self.dirty = False
        try:
            loaded = marshal.loads(path.read_bytes())
            if isinstance(loaded, tuple) and loaded[0] == _FORMAT:
                self.records = loaded[1]
        except (OSError, EOFError, ValueError, TypeError, IndexError):
            self.records = {}

    def get(self, relative: str, key: StatKey | None) -> list[Block] | None:
        record = self.records.get(relative)
        if key is None or record is None or record[0] != key:
            return None
        return [
            Block(
                k,
                n,
                line,
                end,
                tuple(map(Field._make, fields)),
                tuple(Index(kind, tuple(names), at) for kind, names, at in indexes),
            )
            for k, n, line, end, fields, indexes in record[1]
        ]

    def put(self, relative: str, key: StatKey | None, blocks: list[Block]) -> None:
        if key is None:
            return
        encoded = tuple(
            (
                b.kind,
                b.name,
                b.line,
                b.end_line,
                tuple(
                    (
                        f.name,
                        f.type,
                        f.line,
                        f.is_list,
                        f.optional,
                        f.has_relation_attribute,
                        f.holds_foreign_key,
                    )
                    for f in b.fields
                ),
                tuple((i.kind, i.fields, i.line) for i in b.indexes),
            )
            for b in blocks
        )
        self.records[relative] = (key, encoded)
        self.dirty = True

    def save(self, keep: set[str]) -> None:
        stale = set(self.records) - keep
        for relative in stale:
            del self.records[relative]
        if not (self.dirty or stale):
            return
        with contextlib.suppress(OSError):  # a cache that cannot be written only costs time
            write_atomically(self.path, marshal.dumps((_FORMAT, self.records)))
