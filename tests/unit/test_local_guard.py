"""The reset / drop guard: which URLs count as local, decided from the URL alone (no database).

A URL is local only when every host any of its readers could connect to is a loopback address,
`localhost` or a Unix socket. Its readers are libpq (psycopg: tenant.drop, the seeds), Prisma's
schema engine and, in wasm mode, node-postgres, which reads only the URL's hostname; so a host
counts wherever the URL names it, even where libpq would let ?host= override it.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from invoke import Context
from invoke.exceptions import Exit
from psycopg.conninfo import conninfo_to_dict

from prisma_tasks.commands import workflow
from prisma_tasks.commands.workflow import is_disposable
from prisma_tasks.db.connection import libpq_url
from prisma_tasks.db.urls import is_provably_local, reachable_hosts
from prisma_tasks.errors import PrismaTasksError
from prisma_tasks.prisma_cli import migrations

LIBPQ_ENVIRONMENT = ("PGHOST", "PGHOSTADDR", "PGSERVICE")


@pytest.fixture(autouse=True)
def _no_libpq_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in LIBPQ_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def plainly_local(host: str) -> bool:
    """The test's own reading of a loopback or socket host, kept apart from the code's."""
    if host == "" or host[0] in "/@" or host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if address.version == 4:
        return address.packed[0] == 127
    return address == ipaddress.IPv6Address("::1")


def libpq_hosts(url: str) -> list[str] | None:
    """The hosts and hostaddrs libpq's own URI parser reads, or None when it refuses the URL."""
    try:
        params = conninfo_to_dict(url)
    except Exception:
        return None
    return [h for key in ("host", "hostaddr") if key in params for h in params[key].split(",")]


# -- regressions: spellings the old guard (authority only) judged local --------------------------
def old_guard_passes(url: str) -> bool:
    """What is_local_host (now removed) said: only urlsplit's hostname was looked at."""
    host = urlsplit(url).hostname or ""
    return host in ("", "localhost", "127.0.0.1", "::1") or host.startswith("/")


BYPASSES = [
    # a query parameter overrides or adds to the authority's host
    "postgresql://u@localhost/db?host=db.internal",
    "postgresql://u@localhost/db?hostaddr=10.0.0.5",
    "postgresql://u@/db?host=db.internal",
    "postgresql://u@127.0.0.1/db?host=%2Ftmp&hostaddr=10.0.0.5",
    "postgresql://u@[::1]/db?host=localhost,db.internal",
    "postgresql://u@localhost/db?h%6Fst=db.internal",  # libpq decodes the key too
    # multi-host lists: libpq tries every host in turn
    "postgresql://u@localhost:5432,db.internal/db",
    "postgresql://u@localhost:5432,10.0.0.5:5433/db",
    "postgresql://u@[::1]:5432,[2001:db8::1]:5432/db",
    # libpq ends the user part at the first @ and ignores ? and # there; urlsplit does not
    "postgresql://localhost?application_name=me@db.internal/db",
    "postgresql://localhost#@db.internal/db",
    "postgresql://localhost/db#?host=db.internal",
]


@pytest.mark.parametrize("url", BYPASSES)
def test_the_guard_refuses_every_spelling_that_reaches_a_remote_host(url: str) -> None:
    assert old_guard_passes(url)
    assert not all(map(plainly_local, libpq_hosts(url) or ["unparsed"]))  # libpq goes remote
    assert not is_disposable(url)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@localhost/db?service=prod",  # the hosts live in pg_service.conf
        "postgresql://u:p@ss@localhost/db",  # libpq reads the host "ss@localhost"
        "postgresql://u@localhost,db.internal:5432/db",
        "postgresql://u@localhost%2Cdb.internal/db",  # libpq decodes, then splits at commas
        "postgresql://u@localhost/db?host",  # libpq refuses it; nothing to prove locality
        "postgresql://u@localhost/db?host=%zz",
        "postgresql://u@localhost/db?host=a=b",
        "postgresql://local\thost/db",
        " postgresql://db.internal/db",
        "postgresql://[::1/db",
        "postgresql://[]/db",
        "postgresql:/db",
        "mysql://root@localhost/db",
        "host=localhost dbname=app",
        "",
    ],
)
def test_a_url_that_cannot_be_read_for_certain_is_not_local(url: str) -> None:
    assert not is_disposable(url)


@pytest.mark.parametrize(
    "host",
    [
        "db.internal",
        "localhost.evil.com",
        "localhost.",
        "127.0.0.1.nip.io",
        "127.1",  # getaddrinfo would take it for 127.0.0.1, but only names are resolved
        "0.0.0.0",
        "10.0.0.5",
        "[::ffff:127.0.0.1]",
        "[fe80::1]",
        "[2001:db8::1]",
    ],
)
def test_only_loopback_localhost_and_sockets_are_local(host: str) -> None:
    assert not is_disposable(f"postgresql://u:pw@{host}:5432/db")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:p@localhost:5432/db",
        "postgres://LOCALHOST/db",
        "postgresql://127.8.9.10/db",
        "postgresql://[::1]:5432/db",
        "postgresql://[%3A%3A1]/db",
        "postgresql:///db",
        "postgresql://u@/db",
        "postgresql://,/db",
        "postgresql://%2Fvar%2Frun%2Fpostgresql/db",
        "postgresql://u@%40abstract/db",
        "postgresql://u@localhost/db?host=/var/run/postgresql",
        "postgresql://u@localhost,127.0.0.1:5433,[::1]/db?sslmode=disable",
        "postgresql://u@127.0.0.1/db?hostaddr=127.0.0.1&schema=tenant_a&connection_limit=1&",
        "postgresql://u:a b@localhost/db",
        "file:./dev.db",
        "file:/tmp/prisma-tasks/sqlite-x/pt_abc_1.db",
    ],
)
def test_local_spellings_stay_local(url: str) -> None:
    assert is_disposable(url)


def test_every_host_of_every_reader_is_listed() -> None:
    url = "postgresql://u@localhost:5432,[::1]:5433/db?host=%2Ftmp,db.internal&hostaddr=10.0.0.5"
    assert reachable_hosts(url, {}) == ["localhost", "::1", "/tmp", "db.internal", "10.0.0.5"]


# -- libpq's environment fallbacks ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "environ", "local"),
    [
        ("postgresql:///db", {}, True),
        ("postgresql:///db", {"PGHOST": "db.internal"}, False),
        ("postgresql:///db", {"PGHOST": "/var/run/postgresql,localhost"}, True),
        ("postgresql://u@/db?host=/tmp", {"PGHOST": "db.internal"}, False),  # wasm reads PGHOST
        ("postgresql://localhost/db", {"PGHOST": "db.internal"}, True),  # a named host wins
        ("postgresql://localhost/db", {"PGHOSTADDR": "10.0.0.5"}, False),  # libpq connects there
        ("postgresql://localhost/db", {"PGHOSTADDR": "127.0.0.1"}, True),
        ("postgresql://localhost/db", {"PGSERVICE": "prod"}, False),
    ],
)
def test_libpq_environment_fallbacks(url: str, environ: dict[str, str], local: bool) -> None:
    assert is_provably_local(url, environ) is local


def test_the_guard_reads_the_process_environment_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert is_disposable("postgresql:///db")
    monkeypatch.setenv("PGHOST", "db.internal")
    assert not is_disposable("postgresql:///db")


# -- property: generated URLs --------------------------------------------------------------------
loopback_v4 = st.ip_addresses(network="127.0.0.0/8").map(str)
remote_v4 = st.ip_addresses(v=4).filter(lambda a: not a.is_loopback).map(str)
remote_v6 = st.ip_addresses(v=6).filter(lambda a: int(a) != 1).map(str)
remote_name = st.one_of(
    st.sampled_from(
        ["db.internal", "localhost.evil.com", "localhost.", "127.0.0.1.nip.io", "0.0.0.0", "127.1"]
    ),
    st.from_regex(r"[a-z][a-z0-9-]{0,8}(\.[a-z]{2,4}){0,2}", fullmatch=True).filter(
        lambda name: name != "localhost"
    ),
)
socket = st.sampled_from(["", "/tmp", "/var/run/postgresql", "@pg-abstract"])
local_host = st.one_of(st.sampled_from(["localhost", "LocalHost", "::1"]), loopback_v4, socket)
remote_host = st.one_of(remote_v4, remote_v6, remote_name)
# (host, is it local?) so the test knows the answer by construction
tagged_host = st.one_of(local_host.map(lambda h: (h, True)), remote_host.map(lambda h: (h, False)))
tagged_address = st.one_of(
    st.one_of(loopback_v4, st.just("::1")).map(lambda h: (h, True)),
    st.one_of(remote_v4, remote_v6).map(lambda h: (h, False)),
)

# Characters that must be encoded where a host is written: they would end or split it.
AUTHORITY_SPECIAL = set("%@/?#,:[]&=")
QUERY_SPECIAL = set("%&=#,")


@st.composite
def percent_encoded(draw: st.DrawFn, text: str, special: set[str]) -> str:
    """`text` with its special characters, and a random choice of the others, encoded."""
    return "".join(
        quote(char, safe="") if char in special or draw(st.booleans()) else char for char in text
    )


@st.composite
def in_authority(draw: st.DrawFn, host: str) -> str:
    if ":" in host:  # IPv6: in brackets, where libpq still decodes what it finds
        return "[" + draw(percent_encoded(host, {"%", "]"})) + "]"
    port = draw(st.sampled_from(["", ":5432", ":6543"]))
    return draw(percent_encoded(host, AUTHORITY_SPECIAL)) + port


@st.composite
def generated_urls(draw: st.DrawFn) -> tuple[str, bool]:
    """A postgresql URL and whether every host it names is local."""
    authority = draw(st.lists(tagged_host, min_size=1, max_size=3))
    host_params = draw(st.lists(st.lists(tagged_host, min_size=1, max_size=2), max_size=2))
    address_params = draw(st.lists(st.lists(tagged_address, min_size=1, max_size=2), max_size=1))
    params = [
        ("host", ",".join(draw(percent_encoded(h, QUERY_SPECIAL)) for h, _ in hosts))
        for hosts in host_params
    ] + [
        ("hostaddr", ",".join(draw(percent_encoded(h, QUERY_SPECIAL)) for h, _ in addresses))
        for addresses in address_params
    ]
    params += draw(st.lists(st.sampled_from([("sslmode", "disable"), ("connect_timeout", "5")])))
    params = draw(st.permutations(params))
    key_spelling = st.sampled_from(["host", "h%6Fst", "%68ost"])
    query = "&".join(
        f"{draw(key_spelling) if key == 'host' else key}={value}" for key, value in params
    )
    user = draw(st.sampled_from(["", "u@", "u:pw@", "app%40corp:p%40ss@"]))
    scheme = draw(st.sampled_from(["postgresql", "postgres"]))
    hosts = ",".join(draw(in_authority(h)) for h, _ in authority)
    url = f"{scheme}://{user}{hosts}/db" + (f"?{query}" if query else "")
    every = authority + [h for group in host_params + address_params for h in group]
    return url, all(local for _, local in every)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_urls())
def test_a_url_is_local_exactly_when_every_host_it_names_is_local(case: tuple[str, bool]) -> None:
    url, every_host_local = case
    assert is_provably_local(url, {}) is every_host_local
    local_environment = {"PGHOST": "/tmp", "PGHOSTADDR": "127.0.0.1"}
    assert is_provably_local(url, local_environment) is every_host_local
    assert not is_provably_local(url, {"PGHOSTADDR": "10.0.0.5"})  # libpq would connect there


@settings(max_examples=250, deadline=None)
@given(generated_urls())
def test_whatever_libpq_reads_from_a_local_url_is_local(case: tuple[str, bool]) -> None:
    url, _ = case
    hosts = libpq_hosts(url)
    if hosts is not None and not all(map(plainly_local, hosts)):
        assert not is_provably_local(url, {})


URL_PIECES = [
    "localhost", "127.0.0.1", "[::1]", "::1", "db.internal", "10.0.0.5", "u", "pw", "db",
    "5432", "host", "hostaddr", "sslmode", "@", ":", "/", "?", "&", "=", ",", "#", "[", "]",
    "%2C", "%2F", "%40", "%3F", "%26", "%3D", "%68", " ",
]  # fmt: skip


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    st.sampled_from(["postgresql://", "postgres://"]),
    st.lists(st.sampled_from(URL_PIECES), max_size=10),
)
def test_no_reader_of_a_local_url_reaches_a_remote_host(scheme: str, pieces: list[str]) -> None:
    """Odd URLs from URL syntax: when the guard says local, libpq's own parser (on the URL and on
    what tenant.drop hands to psycopg) and urlsplit (Prisma-style parsers) find no remote host."""
    url = scheme + "".join(pieces)
    assume(is_provably_local(url, {}))
    for reading in (url, libpq_url(url)[0]):
        assert all(map(plainly_local, libpq_hosts(reading) or []))
    try:
        parts = urlsplit(url)
        hostname = parts.hostname or ""
    except ValueError:
        return
    # node-postgres decodes the hostname; a comma list is not one name any resolver would find
    assert all(map(plainly_local, unquote(hostname).split(",")))
    query_hosts = [v for k, v in parse_qsl(parts.query) if k.lower() in ("host", "hostaddr")]
    assert all(plainly_local(h) for value in query_hosts for h in value.split(","))


# -- the destructive tasks decide before anything connects --------------------------------------
REMOTE = "postgresql://app:s3cr3t-pw@localhost/prod?host=db.internal"


def test_reset_refuses_before_touching_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(migrations, "reset", _must_not_run)
    with pytest.raises(PrismaTasksError) as refused:
        workflow.reset(object(), REMOTE, force=False, seed=False, say=print)  # type: ignore[arg-type]
    assert "refusing to reset" in str(refused.value) and "--force" in str(refused.value)
    assert "s3cr3t-pw" not in str(refused.value)


def test_reset_with_force_goes_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    done: list[str] = []
    monkeypatch.setattr(migrations, "reset", lambda prisma, url: done.append(url))
    workflow.reset(object(), REMOTE, force=True, seed=False, say=print)  # type: ignore[arg-type]
    assert done == [REMOTE]


@pytest.mark.parametrize(("module", "task"), [("prisma", "reset"), ("db", "reset")])
def test_the_reset_tasks_use_the_guard(
    monkeypatch: pytest.MonkeyPatch, module: str, task: str
) -> None:
    import importlib

    tasks = importlib.import_module(f"prisma_tasks.tasks.{module}_tasks_collection")
    monkeypatch.setattr(tasks, "settings", lambda: None)
    monkeypatch.setattr(workflow, "prepare", lambda config, say: object())
    monkeypatch.setattr(workflow, "target_url", lambda config, say: REMOTE)
    monkeypatch.setattr(migrations, "reset", _must_not_run)
    with pytest.raises(Exit) as refused:
        getattr(tasks, task)(Context())
    assert "refusing to reset" in str(refused.value.message)


def test_tenant_drop_refuses_before_touching_the_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prisma_tasks.tasks import tenant_tasks_collection as tenant_tasks

    class Tenants:
        url = REMOTE

        def drop(self, name: str) -> None:
            _must_not_run()

    monkeypatch.setattr(tenant_tasks, "_tenants", lambda name: Tenants())
    with pytest.raises(Exit) as refused:
        tenant_tasks.drop(Context(), "acme")
    message = str(refused.value.message)
    assert "refusing to drop tenant acme" in message and "--force" in message
    assert "s3cr3t-pw" not in message


def _must_not_run(*args: object) -> None:
    raise AssertionError("the guard let a remote database through")
