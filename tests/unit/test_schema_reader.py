from prisma_tasks.schema.reader import parse_schema


def names(text: str) -> list[tuple[str, str, int]]:
    parsed = parse_schema(text, "x.prisma")
    assert parsed.problems == []
    return [(b.kind, b.name, b.line) for b in parsed.blocks]


def test_blocks_with_their_lines() -> None:
    text = "model A {\n  id Int @id\n}\n\nenum Color {\n  RED\n}\n"
    assert names(text) == [("model", "A", 1), ("enum", "Color", 5)]


def test_line_comments_with_braces_and_keywords_are_ignored() -> None:
    text = "// model Fake { }\nmodel A {\n  id Int @id // } model Nope {\n}\n"
    assert names(text) == [("model", "A", 2)]


def test_doc_comments_are_ignored() -> None:
    text = "/// model Doc {\n/// }\nmodel A {\n  /// a field { with braces\n  id Int @id\n}\n"
    assert names(text) == [("model", "A", 3)]


def test_block_comments_spanning_lines_are_ignored_and_lines_still_count() -> None:
    text = "/* model Hidden {\n  id Int\n} */\nmodel A {\n  id Int @id\n}\n"
    assert names(text) == [("model", "A", 4)]


def test_strings_with_braces_comments_and_keywords_are_ignored() -> None:
    text = (
        'model A {\n  id Int @id\n  s String @default("} model B { // not a comment")\n'
        '  t String @default("escaped \\" quote }")\n}\n'
    )
    assert names(text) == [("model", "A", 1)]


def test_fields_record_type_list_optional_and_relation() -> None:
    text = (
        "model Order {\n  id Int @id\n  customer User? @relation(fields: [cid], references: [id])\n"
        "  lines Line[]\n  cid Int?\n  @@index([cid])\n}\n"
    )
    block = parse_schema(text, "o.prisma").blocks[0]
    by_name = {f.name: f for f in block.fields}
    assert set(by_name) == {"id", "customer", "lines", "cid"}
    assert by_name["customer"].type == "User" and by_name["customer"].optional
    assert by_name["customer"].has_relation_attribute and by_name["customer"].line == 3
    assert by_name["lines"].is_list and not by_name["lines"].has_relation_attribute


def test_unterminated_block_comment_is_reported_with_line() -> None:
    parsed = parse_schema("model A {\n id Int @id\n}\n/* open\n", "x.prisma")
    assert [str(p) for p in parsed.problems] == ["x.prisma:4: unterminated block comment"]


def test_unterminated_string_is_reported_with_line() -> None:
    parsed = parse_schema('model A {\n  s String @default("oops)\n}\n', "x.prisma")
    assert [str(p) for p in parsed.problems] == ["x.prisma:2: unterminated string"]


def test_unclosed_block_is_reported_at_its_opening_line() -> None:
    parsed = parse_schema("\nmodel A {\n  id Int @id\n", "x.prisma")
    assert "x.prisma:2: 'model A' is never closed" in str(parsed.problems[0])


def test_garbage_at_top_level_is_reported() -> None:
    parsed = parse_schema("model A {\n id Int @id\n}\nthis is not prisma\n", "x.prisma")
    assert str(parsed.problems[0]).startswith("x.prisma:4: expected a block")


def test_unknown_block_keyword_is_reported() -> None:
    parsed = parse_schema("modle A {\n id Int @id\n}\n", "x.prisma")
    assert "unknown block keyword 'modle'" in str(parsed.problems[0])


def test_block_index_arguments_are_dropped_at_any_depth() -> None:
    text = 'model A {\n  a Int\n  b Int\n  @@index([a(ops: raw("x(y)")), b(sort: Desc)])\n}\n'
    (index,) = parse_schema(text, "x.prisma").blocks[0].indexes
    assert (index.kind, index.fields, index.line) == ("index", ("a", "b"), 4)


def test_the_first_unclosed_string_or_comment_is_the_one_reported() -> None:
    parsed = parse_schema('model A {\n  s String @default("open /* \n}\n/* open\n', "x.prisma")
    assert [str(p) for p in parsed.problems] == ["x.prisma:2: unterminated string"]


def test_a_line_of_unclosed_quotes_and_comment_openers_is_one_problem() -> None:
    parsed = parse_schema('"\\"' * 20_000 + "\n" + "/*" * 20_000, "x.prisma")
    assert [str(p) for p in parsed.problems] == ["x.prisma:1: unterminated string"]
