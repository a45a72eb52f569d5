"""The generator blocks of base.prisma, and what wasm mode needs of the Prisma Client's.

Read like the datasource block (comments and strings understood, offsets kept), so a setting in
a comment is never taken for a real one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from prisma_tasks.schema.reader import strip_noise

_BLOCK = re.compile(r"\bgenerator\s+(?P<name>\w+)\s*\{(?P<body>[^}]*)\}")
_SETTING = re.compile(r"^[ \t]*(?P<key>\w+)[ \t]*=[ \t]*(?P<value>[^\n]*)", re.MULTILINE)
_STRING = re.compile(r'"((?:\\.|[^"\\])*)"')
CLIENT_PROVIDERS = ("prisma-client-js",)
DRIVER_ADAPTERS_LINE = 'previewFeatures = ["driverAdapters"]'


@dataclass(frozen=True)
class Generator:
    name: str
    provider: str
    output: str | None
    preview_features: tuple[str, ...]
    line: int


def read_generators(base: Path) -> list[Generator]:
    text = base.read_text(encoding="utf-8")
    clean = strip_noise(text)
    generators = []
    for block in _BLOCK.finditer(clean):
        settings = {}
        for match in _SETTING.finditer(clean, block.start("body"), block.end("body")):
            start, end = match.start("value"), match.end("value")
            if clean[start] == "[":  # a list may run over several lines: up to its `]`
                close = clean.find("]", start, block.end("body"))
                end = close + 1 if close >= 0 else end
            settings[match["key"]] = text[start:end].strip()
        provider = _STRING.match(settings.get("provider", ""))
        output = _STRING.match(settings.get("output", ""))
        generators.append(
            Generator(
                name=block["name"],
                provider=provider.group(1) if provider else "",
                output=output.group(1) if output else None,
                preview_features=tuple(_STRING.findall(settings.get("previewFeatures", ""))),
                line=clean.count("\n", 0, block.start()) + 1,
            )
        )
    return generators


def wasm_client_notices(base: Path) -> list[str]:
    """What stops (or spoils) the generated client in wasm mode, one line per generator."""
    notices = []
    for generator in read_generators(base):
        if generator.provider not in CLIENT_PROVIDERS:
            continue
        where = f"{base}:{generator.line} (generator {generator.name})"
        if "queryCompiler" in generator.preview_features:
            notices.append(
                f"{where}: the queryCompiler preview returned wrong results in Prisma 6.7 (dates, "
                "counts, errors); prisma-tasks leaves such a client as generated"
            )
        elif "driverAdapters" not in generator.preview_features:
            notices.append(
                f"{where}: without native engines this client cannot query; add "
                f"`{DRIVER_ADAPTERS_LINE}` to the block (Prisma 6.7 builds its WebAssembly "
                "query engine into the client only with that preview feature)"
            )
    return notices
