"""Properties of the schema reader on generated and mutated texts: it never hangs, never raises,
and every problem it reports names the file and a line that exists."""

from __future__ import annotations

import sys
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from prisma_tasks.errors import SchemaProblem
from prisma_tasks.schema.reader import parse_schema, strip_noise

# Generous: a few KB of text parse in well under a millisecond; this only catches a hang.
PER_EXAMPLE = settings(deadline=timedelta(seconds=5), max_examples=200)

IDENTIFIER = st.sampled_from(["A", "User", "Order_2", "enum", "model", "X9"])
FIELD_NAME = st.sampled_from(["id", "name", "a_b", "model", "type", "x1"])
# Text that may sit in a comment or a string: braces, quotes, keywords and comment openers.
NOISE_TEXT = st.text(alphabet='{}"/*\\ model enum @x', max_size=20)
FIELD_ATTRIBUTE = st.sampled_from(
    [
        "",
        " @id",
        " @unique",
        " @default(now())",
        " @relation(fields: [a], references: [id])",
        ' @default("{ // not a comment */")',
    ]
)
# What a mutation inserts: the characters that open, close or hide structure.
SIGNIFICANT = st.sampled_from(
    ["{", "}", '"', "\\", "/", "*", "//", "/*", "*/", "\n", "@@index([", "(", ")", "[", "]"]
)


@st.composite
def field_lines(draw: st.DrawFn) -> str:
    name = draw(FIELD_NAME)
    type_ = draw(st.sampled_from(["Int", "String", "DateTime", "Other"]))
    modifier = draw(st.sampled_from(["", "?", "[]"]))
    comment = draw(st.sampled_from(["", " // ", " /// "]))
    tail = comment + draw(NOISE_TEXT).replace("\n", " ") if comment else ""
    return f"  {name} {type_}{modifier}{draw(FIELD_ATTRIBUTE)}{tail}\n"


@st.composite
def blocks(draw: st.DrawFn) -> tuple[str, str, int, str]:
    """(kind, name, lines before its head, text) of one block, maybe after a comment."""
    kind = draw(st.sampled_from(["model", "enum", "type", "view"]))
    name = draw(IDENTIFIER)
    before = draw(st.sampled_from(["", "/// doc {\n", "/* hidden model X { */\n", "\n"]))
    if kind == "enum":
        body = "".join(f"  {value}\n" for value in draw(st.lists(IDENTIFIER, max_size=4)))
    else:
        body = "".join(draw(st.lists(field_lines(), max_size=6)))
        if kind in ("model", "view") and draw(st.booleans()):
            body += "  @@index([a, b(sort: Desc)])\n"
    return kind, name, before.count("\n"), f"{before}{kind} {name} {{\n{body}}}\n"


@st.composite
def schemas(draw: st.DrawFn) -> tuple[str, list[tuple[str, str, int]]]:
    """A valid schema text and the (kind, name, line) of each block it declares."""
    text = ""
    expected = []
    for kind, name, lines_before_head, block_text in draw(st.lists(blocks(), max_size=8)):
        expected.append((kind, name, text.count("\n") + lines_before_head + 1))
        text += block_text + draw(st.sampled_from(["", "\n", "// trailing } comment\n"]))
    return text, expected


@st.composite
def mutated_schemas(draw: st.DrawFn) -> str:
    """A valid schema with structure-bearing characters inserted, deleted or replaced."""
    text, _ = draw(schemas())
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        at = draw(st.integers(min_value=0, max_value=len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(SIGNIFICANT)
        if action == "insert":
            text = text[:at] + piece + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(min_value=1, max_value=5)) :]
        else:
            text = text[:at] + piece + text[at + len(piece) :]
    return text


def assert_well_formed_outcome(text: str) -> None:
    parsed = parse_schema(text, "fuzz.prisma")
    last_line = text.count("\n") + 1
    for problem in parsed.problems:
        assert isinstance(problem, SchemaProblem) and problem.path == "fuzz.prisma"
        assert problem.line is not None and 1 <= problem.line <= last_line, problem
    for block in parsed.blocks:
        assert 1 <= block.line <= block.end_line <= last_line


@PER_EXAMPLE
@given(schemas())
def test_generated_schemas_are_read_with_every_block_at_its_line(schema) -> None:
    text, expected = schema
    parsed = parse_schema(text, "gen.prisma")
    assert parsed.problems == []
    assert [(b.kind, b.name, b.line) for b in parsed.blocks] == expected


@PER_EXAMPLE
@given(mutated_schemas())
def test_mutated_schemas_give_blocks_or_a_problem_naming_file_and_line(text) -> None:
    assert_well_formed_outcome(text)


@PER_EXAMPLE
@given(st.text(max_size=400))
def test_arbitrary_text_gives_blocks_or_a_problem_naming_file_and_line(text) -> None:
    assert_well_formed_outcome(text)


@PER_EXAMPLE
@given(st.one_of(mutated_schemas(), st.text(max_size=400)))
def test_strip_noise_keeps_every_offset_and_newline(text) -> None:
    clean = strip_noise(text)
    assert len(clean) == len(text)
    assert [i for i, c in enumerate(clean) if c == "\n"] == [
        i for i, c in enumerate(text) if c == "\n"
    ]


def traced_lines(text: str) -> int:
    """How many lines of Python the reader runs for a text: a count of work, not a timing."""
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        parse_schema(text, "big.prisma")
    finally:
        sys.settrace(None)
    return count


def big_model(fields: int) -> str:
    lines = "".join(f"  f{n} Int @unique\n  @@index([f{n}])\n" for n in range(fields))
    return "model Big {\n" + lines + "}\n"


def many_blocks(count: int) -> str:
    block = "model M{n} {{\n  id Int @id\n}}\nenum E{n} {{\n  A\n}}\n"
    return "".join(block.format(n=n) for n in range(count))


def test_work_grows_linearly_with_the_size_of_a_block() -> None:
    small, large = traced_lines(big_model(200)), traced_lines(big_model(800))
    assert large < 5 * small, (small, large)  # 4x the text: about 4x the work, not 16x


def test_work_grows_linearly_with_the_number_of_blocks() -> None:
    small, large = traced_lines(many_blocks(200)), traced_lines(many_blocks(800))
    assert large < 5 * small, (small, large)
