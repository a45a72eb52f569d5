"""The datasource block of base.prisma: its provider and where its URLs come from.

Read from the text with comments and strings understood (schema_reader.strip_noise keeps every
offset, so a setting found in the cleaned text is read back from the original at the same place).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from prisma_tasks.errors import PrismaTasksError
from prisma_tasks.schema.reader import strip_noise

_BLOCK = re.compile(r"\bdatasource\s+\w+\s*\{(?P<body>[^}]*)\}")
_SETTING = re.compile(r"^[ \t]*(?P<key>\w+)[ \t]*=[ \t]*(?P<value>[^\n]*)", re.MULTILINE)
_ENV = re.compile(r'^env\(\s*"(?P<name>[^"]+)"\s*\)')
_LITERAL = re.compile(r'^"(?P<text>(?:\\.|[^"\\])*)"')


@dataclass(frozen=True)
class UrlSetting:
    """`key = env("NAME")` (env is set) or `key = "literal"` (literal is set)."""

    env: str | None = None
    literal: str | None = None

    def value(self, environ: dict[str, str]) -> str | None:
        return environ.get(self.env) if self.env else self.literal


@dataclass(frozen=True)
class Datasource:
    provider: str
    url: UrlSetting | None = None
    direct_url: UrlSetting | None = None
    shadow_database_url: UrlSetting | None = None

    @property
    def url_variable(self) -> str:
        """The variable Prisma reads the URL from (DATABASE_URL when the schema names none)."""
        return (self.url.env if self.url else None) or "DATABASE_URL"


def read_datasource(base: Path) -> Datasource:
    text = base.read_text(encoding="utf-8")
    clean = strip_noise(text)
    block = _BLOCK.search(clean)
    if block is None:
        raise PrismaTasksError(f"{base}: no datasource block found")
    settings: dict[str, UrlSetting] = {}
    for match in _SETTING.finditer(clean, block.start("body"), block.end("body")):
        raw = text[match.start("value") : match.end("value")].strip()
        env, literal = _ENV.match(raw), _LITERAL.match(raw)
        if env:
            settings[match["key"]] = UrlSetting(env=env["name"])
        elif literal:
            settings[match["key"]] = UrlSetting(literal=literal["text"])
    provider = settings.get("provider")
    if provider is None or not provider.literal:
        raise PrismaTasksError(f"{base}: the datasource has no provider")
    return Datasource(
        provider={"postgres": "postgresql"}.get(provider.literal, provider.literal),
        url=settings.get("url"),
        direct_url=settings.get("directUrl"),
        shadow_database_url=settings.get("shadowDatabaseUrl"),
    )
