"""A small reader for Prisma schema files: top-level blocks and the fields of models.

Not a Prisma parser: Prisma itself validates the merged schema. This reader only needs to be
right about which blocks a file declares (and where), which fields reference which types, and
it must not be fooled by comments, doc comments, block comments or strings that contain braces
or block keywords.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

from .errors import SchemaProblem

BLOCK_KINDS = ("model", "enum", "type", "view", "datasource", "generator")
DEFINITION_KINDS = ("model", "enum", "type", "view")

# One pass, leftmost match wins: a string hides the `//` inside it, a comment hides quotes.
_NOISE = re.compile(r'"(?:\\.|[^"\\\n])*"|//[^\n]*|/\*.*?\*/', re.DOTALL)
_BLOCK_HEAD = re.compile(r"([A-Za-z_]\w*)\s+([A-Za-z_]\w*)\s*\{")
_SPACE = re.compile(r"\s*")
_FIELD = re.compile(r"^[ \t]*([A-Za-z_]\w*)[ \t]+([A-Za-z_][\w.]*)(\[\])?(\?)?", re.MULTILINE)
_RELATION_ATTR = re.compile(r"@relation\b")
_FOREIGN_KEY = re.compile(r"@relation\s*\([^)]*\bfields\s*:")
# `@@index([a, b(sort: Desc)], ...)`, `@@unique(name: "x", fields: [a, b])`, `@@id([a, b])`.
_BLOCK_INDEX = re.compile(r"@@(index|unique|id)\s*\(\s*(?:[^()\[\]]*?\bfields\s*:\s*)?\[([^\]]*)\]")
# A field's own `@id` / `@unique` (not `@@id`): a one-field index on that field.
_FIELD_INDEX = re.compile(r"(?<!@)@(id|unique)\b")
_ARGUMENTS = re.compile(r"\([^()]*\)")


class Field(NamedTuple):
    name: str
    type: str
    line: int
    is_list: bool
    optional: bool
    has_relation_attribute: bool
    holds_foreign_key: bool = False  # @relation(fields: [...]): this side has the column


class Index(NamedTuple):
    """An `@@index`, `@@unique` or `@@id` of a model, or a field's own `@id` / `@unique`."""

    kind: str  # "index" | "unique" | "id"
    fields: tuple[str, ...]
    line: int


class Block(NamedTuple):
    kind: str
    name: str
    line: int
    end_line: int
    fields: tuple[Field, ...] = ()
    indexes: tuple[Index, ...] = ()


@dataclass
class ParsedSchema:
    path: str
    blocks: list[Block] = field(default_factory=list)
    problems: list[SchemaProblem] = field(default_factory=list)

    def of_kind(self, *kinds: str) -> list[Block]:
        return [block for block in self.blocks if block.kind in kinds]


def _blank(match: re.Match[str]) -> str:
    text = match.group(0)
    if text.startswith('"'):
        return '"' + re.sub(r"[^\n]", " ", text[1:-1]) + '"'
    return re.sub(r"[^\n]", " ", text)


def strip_noise(text: str) -> str:
    """Blank out comments and string contents, keeping every newline (so lines still match)."""
    return _NOISE.sub(_blank, text)


def parse_schema(text: str, path: str) -> ParsedSchema:
    result = ParsedSchema(path=path)
    clean = strip_noise(text)
    # Whatever survives stripping and still opens a comment or a string was never closed.
    for index, what in ((clean.find("/*"), "block comment"), (_unclosed_quote(clean), "string")):
        if index >= 0:
            result.problems.append(
                SchemaProblem(path, _line_of(clean, index), f"unterminated {what}")
            )
            return result

    position = 0
    length = len(clean)
    while True:
        position = _SPACE.match(clean, position).end()  # type: ignore[union-attr]
        if position >= length:
            break
        head = _BLOCK_HEAD.match(clean, position)
        line = _line_of(clean, position)
        if head is None:
            snippet = clean[position : _line_end(clean, position)]
            result.problems.append(
                SchemaProblem(
                    path,
                    line,
                    f"expected a block such as 'model Name {{', found {snippet.strip()!r}",
                )
            )
            return result
        kind, name = head.group(1), head.group(2)
        close = clean.find("}", head.end())
        nested = clean.find("{", head.end())
        if close < 0:
            result.problems.append(
                SchemaProblem(path, line, f"'{kind} {name}' is never closed with '}}'")
            )
            return result
        if 0 <= nested < close:
            result.problems.append(
                SchemaProblem(
                    path, _line_of(clean, nested), f"unexpected '{{' inside '{kind} {name}'"
                )
            )
            return result
        if kind not in BLOCK_KINDS:
            result.problems.append(
                SchemaProblem(
                    path,
                    line,
                    f"unknown block keyword '{kind}' (expected one of {', '.join(BLOCK_KINDS)})",
                )
            )
        else:
            body = clean[head.end() : close]
            body_line = _line_of(clean, head.end())
            fields = _fields(body, body_line) if kind in ("model", "type", "view") else ()
            indexes = _indexes(body, body_line, fields) if kind in ("model", "view") else ()
            result.blocks.append(Block(kind, name, line, _line_of(clean, close), fields, indexes))
        position = close + 1
    return result


def _fields(body: str, body_line: int) -> tuple[Field, ...]:
    found = []
    for match in _FIELD.finditer(body):
        line_text = body[match.start() : _line_end(body, match.start())]
        found.append(
            Field(
                name=match.group(1),
                type=match.group(2),
                line=body_line + body.count("\n", 0, match.start()),
                is_list=match.group(3) is not None,
                optional=match.group(4) is not None,
                has_relation_attribute=bool(_RELATION_ATTR.search(line_text)),
                holds_foreign_key=bool(_FOREIGN_KEY.search(line_text)),
            )
        )
    return tuple(found)


def _indexes(body: str, body_line: int, fields: tuple[Field, ...]) -> tuple[Index, ...]:
    found = []
    for field_ in fields:
        start = _nth_line_start(body, field_.line - body_line)
        for match in _FIELD_INDEX.finditer(body[start : _line_end(body, start)]):
            found.append(Index(match.group(1), (field_.name,), field_.line))
    for match in _BLOCK_INDEX.finditer(body):
        listing = match.group(2)
        while _ARGUMENTS.search(listing):  # drop `(sort: Desc)`, `(ops: raw("..."))`
            listing = _ARGUMENTS.sub("", listing)
        names = tuple(part.strip() for part in listing.split(",") if part.strip())
        line = body_line + body.count("\n", 0, match.start())
        found.append(Index(match.group(1), names, line))
    return tuple(sorted(found, key=lambda index: index.line))


def _nth_line_start(text: str, n: int) -> int:
    position = 0
    for _ in range(n):
        position = text.index("\n", position) + 1
    return position


def _unclosed_quote(clean: str) -> int:
    """Index of a quote that strip_noise left open, or -1. Closed strings are blanked as `"  "`."""
    index = 0
    while True:
        start = clean.find('"', index)
        if start < 0:
            return -1
        end = clean.find('"', start + 1)
        newline = clean.find("\n", start + 1)
        if end < 0 or (0 <= newline < end):
            return start
        index = end + 1


def _line_end(text: str, index: int) -> int:
    end = text.find("\n", index)
    return len(text) if end < 0 else end


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1
