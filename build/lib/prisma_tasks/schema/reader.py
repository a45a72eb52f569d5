"""A small reader for Prisma schema files: top-level blocks and the fields of models.

Not a Prisma parser: Prisma itself validates the merged schema. This reader only needs to be
right about which blocks a file declares (and where), which fields reference which types, and
it must not be fooled by comments, doc comments, block comments or strings that contain braces
or block keywords.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from prisma_tasks.errors import SchemaProblem

BLOCK_KINDS = ("model", "enum", "type", "view", "datasource", "generator")
DEFINITION_KINDS = ("model", "enum", "type", "view")

# One pass, leftmost match wins: a string hides the `//` inside it, a comment hides quotes.
# An unclosed string runs to the end of its line and an unclosed block comment to the end of
# the text (the named groups tell which): each is then one match, not a failed attempt at
# every later quote or `/*`, which made a text full of them quadratic.
_NOISE = re.compile(
    r'"(?:\\.|[^"\\\n])*(?P<closing_quote>")?|//[^\n]*|/\*(?:.*?\*/|(?P<open_comment>.*))',
    re.DOTALL,
)
_NOT_NEWLINE = re.compile(r"[^\n]")
_NEWLINE = re.compile(r"\n")
_BLOCK_HEAD = re.compile(r"([A-Za-z_]\w*)\s+([A-Za-z_]\w*)\s*\{")
_SPACE = re.compile(r"\s*")
_FIELD = re.compile(r"^[ \t]*([A-Za-z_]\w*)[ \t]+([A-Za-z_][\w.]*)(\[\])?(\?)?", re.MULTILINE)
_RELATION_ATTR = re.compile(r"@relation\b")
# `[^()]*`, not `[^)]*`: each attempt stops at the next parenthesis, so a line full of
# unclosed `@relation(` is scanned once, not once per occurrence.
_FOREIGN_KEY = re.compile(r"@relation\s*\([^()]*\bfields\s*:")
# `@@index([a, b(sort: Desc)], ...)`, `@@unique(name: "x", fields: [a, b])`, `@@id([a, b])`.
# The listing stops at the next bracket of either kind, for the same reason.
_BLOCK_INDEX = re.compile(
    r"@@(index|unique|id)\s*\(\s*(?:[^()\[\]]*?\bfields\s*:\s*)?\[([^\[\]]*)\]"
)
# A field's own `@id` / `@unique` (not `@@id`): a one-field index on that field.
_FIELD_INDEX = re.compile(r"(?<!@)@(id|unique)\b")
_PARENTHESIS = re.compile(r"[()]")


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


class _Lines:
    """Line numbers of offsets in one text: its newlines are found once, then each lookup is a
    binary search. Counting newlines from the start for every block made parsing quadratic.
    """

    def __init__(self, text: str) -> None:
        self._newlines = [match.start() for match in _NEWLINE.finditer(text)]

    def number_of(self, index: int) -> int:
        return bisect.bisect_left(self._newlines, index) + 1


class _Unclosed(NamedTuple):
    index: int
    what: str  # "string" | "block comment"


def _strip(text: str) -> tuple[str, list[_Unclosed]]:
    """Blank out comments and string contents, keeping every offset; list what is unclosed.

    A closed string keeps its quotes (`"   "`); an unclosed one keeps its opening quote.
    """
    unclosed: list[_Unclosed] = []

    def blank(match: re.Match[str]) -> str:
        found = match.group(0)
        if found.startswith('"'):
            if match.group("closing_quote") is None:
                unclosed.append(_Unclosed(match.start(), "string"))
                return '"' + _NOT_NEWLINE.sub(" ", found[1:])
            return '"' + _NOT_NEWLINE.sub(" ", found[1:-1]) + '"'
        if match.group("open_comment") is not None:
            unclosed.append(_Unclosed(match.start(), "block comment"))
        return _NOT_NEWLINE.sub(" ", found)

    return _NOISE.sub(blank, text), unclosed


def strip_noise(text: str) -> str:
    """Blank out comments and string contents, keeping every offset (so lines still match)."""
    return _strip(text)[0]


def parse_schema(text: str, path: str) -> ParsedSchema:
    """What a file declares, or the first problem (file and line) that stops reading it.

    Linear in the size of the text: every scan moves forward, line numbers come from _Lines.
    """
    result = ParsedSchema(path=path)
    clean, unclosed = _strip(text)
    lines = _Lines(clean)
    if unclosed:
        first = unclosed[0]
        result.problems.append(
            SchemaProblem(path, lines.number_of(first.index), f"unterminated {first.what}")
        )
        return result

    position = 0
    length = len(clean)
    while True:
        position = _SPACE.match(clean, position).end()  # type: ignore[union-attr]
        if position >= length:
            break
        head = _BLOCK_HEAD.match(clean, position)
        line = lines.number_of(position)
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
        if close < 0:
            result.problems.append(
                SchemaProblem(path, line, f"'{kind} {name}' is never closed with '}}'")
            )
            return result
        nested = clean.find("{", head.end(), close)
        if nested >= 0:
            result.problems.append(
                SchemaProblem(
                    path, lines.number_of(nested), f"unexpected '{{' inside '{kind} {name}'"
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
            result.blocks.append(_block(kind, name, line, clean, head.end(), close, lines))
        position = close + 1
    return result


def _block(
    kind: str, name: str, line: int, clean: str, start: int, close: int, lines: _Lines
) -> Block:
    """The block that starts on `line` and whose body is clean[start:close]."""
    body = clean[start:close]
    field_lines = _field_lines(body, start, lines) if kind in ("model", "type", "view") else []
    indexes = _indexes(body, start, lines, field_lines) if kind in ("model", "view") else ()
    fields = tuple(field_line.field for field_line in field_lines)
    return Block(kind, name, line, lines.number_of(close), fields, indexes)


class _FieldLine(NamedTuple):
    field: Field
    text: str  # the field's line, from the field's name to the end of the line


def _field_lines(body: str, offset: int, lines: _Lines) -> list[_FieldLine]:
    """The fields of a block body that starts at `offset` in the text."""
    found = []
    for match in _FIELD.finditer(body):
        line_text = body[match.start() : _line_end(body, match.start())]
        field_ = Field(
            name=match.group(1),
            type=match.group(2),
            line=lines.number_of(offset + match.start()),
            is_list=match.group(3) is not None,
            optional=match.group(4) is not None,
            has_relation_attribute=bool(_RELATION_ATTR.search(line_text)),
            holds_foreign_key=bool(_FOREIGN_KEY.search(line_text)),
        )
        found.append(_FieldLine(field_, line_text))
    return found


def _indexes(
    body: str, offset: int, lines: _Lines, field_lines: list[_FieldLine]
) -> tuple[Index, ...]:
    found = []
    for field_line in field_lines:
        field_ = field_line.field
        for match in _FIELD_INDEX.finditer(field_line.text):
            found.append(Index(match.group(1), (field_.name,), field_.line))
    for match in _BLOCK_INDEX.finditer(body):
        listing = _without_arguments(match.group(2))  # drop `(sort: Desc)`, `(ops: raw("..."))`
        names = tuple(part.strip() for part in listing.split(",") if part.strip())
        found.append(Index(match.group(1), names, lines.number_of(offset + match.start())))
    return tuple(sorted(found, key=lambda index: index.line))


def _without_arguments(listing: str) -> str:
    """`a, b(sort: Desc), c(ops: raw(x))` -> `a, b, c`: drops parentheses at any depth, in one
    pass (an unmatched `)` is dropped, text after an unmatched `(` too)."""
    kept = []
    depth = 0
    position = 0
    for match in _PARENTHESIS.finditer(listing):
        if depth == 0:
            kept.append(listing[position : match.start()])
        depth = depth + 1 if match.group(0) == "(" else max(depth - 1, 0)
        position = match.end()
    if depth == 0:
        kept.append(listing[position:])
    return "".join(kept)


def _line_end(text: str, index: int) -> int:
    end = text.find("\n", index)
    return len(text) if end < 0 else end
