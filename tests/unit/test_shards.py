import pytest

from prisma_tasks.testing.pytest_plugin import parse_shard, shard_of

IDS = [f"tests/test_{n % 7}.py::test_{n}" for n in range(103)]


@pytest.mark.parametrize("total", [1, 2, 3, 4, 7])
def test_shards_cover_every_test_exactly_once_and_evenly(total: int) -> None:
    shards = [shard_of(IDS, index, total) for index in range(1, total + 1)]
    assert set().union(*shards) == set(IDS)
    assert sum(len(shard) for shard in shards) == len(IDS)  # no overlap
    assert max(map(len, shards)) - min(map(len, shards)) <= 1


def test_shards_do_not_depend_on_collection_order() -> None:
    assert shard_of(IDS, 2, 3) == shard_of(list(reversed(IDS)), 2, 3)


@pytest.mark.parametrize("value", ["0/2", "3/2", "x", "1-2", "1/0"])
def test_bad_shard_values_are_usage_errors(value: str) -> None:
    with pytest.raises(pytest.UsageError):
        parse_shard(value)
