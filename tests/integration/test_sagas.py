"""The mediator and the reference order saga (orders, catalog, billing) on real databases.

Whatever fails or crashes, and wherever, a saga ends either fully completed (order CONFIRMED,
stock taken once, one OPEN invoice with the right total) or fully compensated (order absent or
CANCELLED, stock as before, no invoice that is not VOID). Figure (printed; run with -s): sagas
in a process SIGKILLed at random points, then resumed.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from modules.billing.invoicing import INVOICE_LIMIT_CENTS
from modules.catalog.stock import stock_of
from modules.orders.place_order import PLACE_ORDER, order_mediator, place_order, saga_id_for
from prisma_tasks.data.mediator import Mediator
from prisma_tasks.data.saga import PENDING, SagaContext, SagaDefinition, SagaState, SagaStatus
from prisma_tasks.db.connection import Connection

from .data_children import order_items
from .data_support import (
    TENANT,
    Children,
    Shop,
    connect,
    count,
    make_shop,
    poll_until,
)

STEPS = [step.name for step in PLACE_ORDER.steps]


@pytest.fixture
def shop(db: Connection) -> Shop:
    return make_shop(db, {"WIDGET": (1_000, 1_000), "GADGET": (2_500, 10)})


# -- checking the end state --------------------------------------------------------------------
def stock(db: Connection, shop: Shop) -> dict[int, int]:
    return {product: stock_of(db, TENANT, product) for product in shop.products.values()}


def topics_for(db: Connection, order_id: int | None) -> list[str]:
    if order_id is None:
        return []
    keys = [f"order:{order_id}"]
    keys += [
        f"invoice:{row[0]}"
        for row in db.execute('SELECT "id" FROM "Invoice" WHERE "orderId" = ?', [order_id])
    ]
    marks = ", ".join("?" for _ in keys)
    rows = db.execute(
        f'SELECT "topic" FROM "OutboxEvent" WHERE "key" IN ({marks}) ORDER BY "id"', keys
    )
    return [row[0] for row in rows]


def assert_all_or_nothing(
    db: Connection, state: SagaState, shop: Shop, stock_before: dict[int, int] | None
) -> str:
    """The saga ended completed or compensated, and every module agrees; returns the status.

    `stock_before`: the stock before this saga alone (None when other sagas moved it too).
    """
    stored = order_mediator(db).state(state.id)
    assert stored.status in (SagaStatus.COMPLETED, SagaStatus.COMPENSATED), stored
    order = db.one(
        'SELECT "id", "status" FROM "Order" WHERE "tenantId" = ? AND "number" = ?',
        [TENANT, stored.data["number"]],
    )
    order_id = None if order is None else order[0]
    invoices = db.execute(
        'SELECT "status", "totalCents" FROM "Invoice" WHERE "orderId" = ?', [order_id]
    )
    items = {int(line["productId"]): int(line["quantity"]) for line in stored.data["lines"]}
    topics = topics_for(db, order_id)
    if stored.status is SagaStatus.COMPLETED:
        prices = dict(db.execute('SELECT "id", "priceCents" FROM "Product"'))
        total = sum(prices[product] * quantity for product, quantity in items.items())
        assert order is not None and str(order[1]) == "CONFIRMED"
        assert [(str(status), int(cents)) for status, cents in invoices] == [("OPEN", total)]
        if stock_before is not None:
            assert stock(db, shop) == {
                product: units - items.get(product, 0) for product, units in stock_before.items()
            }
        assert topics == [
            "orders.order_placed",
            "catalog.stock_reserved",
            "billing.invoice_created",
            "orders.order_confirmed",
        ], "a step's effect (and its event) happened other than exactly once"
    else:
        assert order is None or str(order[1]) == "CANCELLED", order
        assert all(str(status) == "VOID" for status, _ in invoices), invoices
        if stock_before is not None:
            assert stock(db, shop) == stock_before
        assert topics.count("catalog.stock_reserved") == topics.count("catalog.stock_released")
        assert topics.count("billing.invoice_created") == topics.count("billing.invoice_voided")
        assert topics.count("orders.order_placed") == topics.count("orders.order_cancelled") <= 1
    assert count(db, 'SELECT count(*) FROM "SagaInstance" WHERE "id" = ?', [state.id]) == 1
    return stored.status.value


# -- the reference workflow ----------------------------------------------------------------------
def test_an_order_completes_across_three_modules(db: Connection, shop: Shop) -> None:
    before = stock(db, shop)
    items = {shop.products["WIDGET"]: 2, shop.products["GADGET"]: 1}
    state = place_order(order_mediator(db), TENANT, shop.customer, "R-1", items)
    assert state.status is SagaStatus.COMPLETED and state.completed_steps == 4
    assert state.data["totalCents"] == 2 * 1_000 + 2_500
    assert assert_all_or_nothing(db, state, shop, before) == "COMPLETED"
    finished = db.execute(
        'SELECT "key" FROM "OutboxEvent" WHERE "topic" = ?', ["orders.place_order.completed"]
    )
    assert finished == [(state.id,)]


def test_billing_refusal_releases_the_stock_and_cancels_the_order(
    db: Connection, shop: Shop
) -> None:
    before = stock(db, shop)
    too_much = INVOICE_LIMIT_CENTS // 1_000 + 1
    state = place_order(
        order_mediator(db), TENANT, shop.customer, "R-2", {shop.products["WIDGET"]: too_much}
    )
    assert state.status is SagaStatus.COMPENSATED and state.completed_steps == 0
    assert "create invoice: InvoiceRejected" in (state.error or "")
    assert assert_all_or_nothing(db, state, shop, before) == "COMPENSATED"
    assert db.one('SELECT "status" FROM "Order" WHERE "number" = ?', ["R-2"]) == ("CANCELLED",)


def test_short_stock_cancels_the_order(db: Connection, shop: Shop) -> None:
    before = stock(db, shop)
    items = {shop.products["WIDGET"]: 1, shop.products["GADGET"]: 11}
    state = place_order(order_mediator(db), TENANT, shop.customer, "R-3", items)
    assert state.status is SagaStatus.COMPENSATED
    assert "reserve stock: OutOfStock" in (state.error or "")
    assert assert_all_or_nothing(db, state, shop, before) == "COMPENSATED"


def test_placing_the_same_order_again_returns_the_same_saga(db: Connection, shop: Shop) -> None:
    before = stock(db, shop)
    mediator = order_mediator(db)
    first = place_order(mediator, TENANT, shop.customer, "R-4", {shop.products["WIDGET"]: 3})
    again = place_order(mediator, TENANT, shop.customer, "R-4", {shop.products["WIDGET"]: 3})
    assert again == first
    assert assert_all_or_nothing(db, first, shop, before) == "COMPLETED"
    # A second saga for a taken order number fails at its first step and leaves nothing.
    other = mediator.start(PLACE_ORDER.type, {**first.data, "orderId": None}, saga_id="dup")
    assert other.status is SagaStatus.COMPENSATED and "OrderNumberTaken" in (other.error or "")
    assert stock(db, shop) == {
        product: units - (3 if product == shop.products["WIDGET"] else 0)
        for product, units in before.items()
    }


# -- faults: a failing step, a crash, anywhere --------------------------------------------------
class Crash(BaseException):
    """The process dies here (simulated). Not an Exception: nothing treats it as a failure."""


class Injected(Exception):
    """A step fails for a business reason."""


def faulty(
    *,
    fail: str | None = None,
    crash_before: str | None = None,
    crash_after: str | None = None,
    crash_before_undo: str | None = None,
    crash_after_undo: str | None = None,
    fail_undo: str | None = None,
) -> SagaDefinition:
    """PLACE_ORDER with faults around the named steps (failures strike after the effect)."""

    def around(
        function: Callable[[Connection, SagaContext], Any],
        before: BaseException | None,
        after: BaseException | None,
    ) -> Callable[[Connection, SagaContext], Any]:
        def wrapped(db: Connection, saga: SagaContext) -> Any:
            if before is not None:
                raise before
            result = function(db, saga)
            if after is not None:
                raise after
            return result

        return wrapped

    steps = []
    for step in PLACE_ORDER.steps:
        name = step.name
        after = Injected(name) if fail == name else Crash(name) if crash_after == name else None
        action = around(step.action, Crash(name) if crash_before == name else None, after)
        compensation = step.compensation
        if compensation is not None:
            undo_after = (
                Injected(name)
                if fail_undo == name
                else Crash(name)
                if crash_after_undo == name
                else None
            )
            compensation = around(
                compensation, Crash(name) if crash_before_undo == name else None, undo_after
            )
        steps.append(replace(step, action=action, compensation=compensation))
    return replace(PLACE_ORDER, steps=tuple(steps))


def run_with_faults(
    url: str, shop: Shop, number: str, definition: SagaDefinition
) -> tuple[SagaState, bool]:
    """Place an order with a faulty saga; on a Crash, 'restart' and resume. (state, crashed)"""
    items = {shop.products["WIDGET"]: 2, shop.products["GADGET"]: 1}
    with connect(url) as first_life:
        try:
            return place_order(
                Mediator(first_life, [definition]), TENANT, shop.customer, number, items
            ), False
        except Crash:
            pass
    with connect(url) as second_life:  # a new process: fresh connection, healthy code
        stored = order_mediator(second_life).state(saga_id_for(TENANT, number))
        assert stored.status in PENDING, "a crash must leave the saga to resume()"
        resumed = order_mediator(second_life).resume_pending()
        assert [state.id for state in resumed] == [stored.id]
        return resumed[0], True


SCENARIOS: dict[str, tuple[dict[str, str], str]] = {}
for index, step in enumerate(STEPS):
    SCENARIOS[f"fail {step}"] = ({"fail": step}, "COMPENSATED")
    SCENARIOS[f"crash before {step}"] = ({"crash_before": step}, "COMPLETED")
    SCENARIOS[f"crash after {step} before its state write"] = ({"crash_after": step}, "COMPLETED")
    for undone in STEPS[:index]:
        for moment in ("before", "after"):
            SCENARIOS[f"fail {step}, crash {moment} undoing {undone}"] = (
                {"fail": step, f"crash_{moment}_undo": undone},
                "COMPENSATED",
            )


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_failure_and_crash_ends_all_or_nothing(
    url: str, db: Connection, shop: Shop, scenario: str
) -> None:
    faults, expected = SCENARIOS[scenario]
    before = stock(db, shop)
    state, crashed = run_with_faults(url, shop, "F-1", faulty(**faults))
    assert crashed == any(key.startswith("crash") for key in faults)
    assert assert_all_or_nothing(db, state, shop, before) == expected


def test_a_failing_compensation_parks_the_saga_until_retried(
    url: str, db: Connection, shop: Shop
) -> None:
    before = stock(db, shop)
    broken = faulty(fail="create invoice", fail_undo="reserve stock")
    items = {shop.products["WIDGET"]: 1}
    state = place_order(Mediator(db, [broken]), TENANT, shop.customer, "F-2", items)
    assert state.status is SagaStatus.FAILED and state.completed_steps == 2
    assert (state.error or "").startswith("undo reserve stock: Injected")
    healthy = order_mediator(db)
    assert healthy.resume_pending() == []  # FAILED waits for a person
    assert healthy.resume(state.id).status is SagaStatus.FAILED
    done = healthy.resume(state.id, retry_failed=True)
    assert assert_all_or_nothing(db, done, shop, before) == "COMPENSATED"


def test_abort_compensates_a_running_saga(url: str, db: Connection, shop: Shop) -> None:
    before = stock(db, shop)
    with pytest.raises(Crash):
        place_order(
            Mediator(db, [faulty(crash_before="create invoice")]),
            TENANT,
            shop.customer,
            "F-3",
            {shop.products["GADGET"]: 4},
        )
    state = order_mediator(db).abort(saga_id_for(TENANT, "F-3"), "timed out")
    assert state.error == "timed out"
    assert assert_all_or_nothing(db, state, shop, before) == "COMPENSATED"


@pytest.mark.backend("postgres")
def test_two_processes_resuming_one_saga_run_each_step_once(
    fresh_database_url: str,
) -> None:
    url = fresh_database_url
    with connect(url) as db:
        shop = make_shop(db, {"WIDGET": (1_000, 1_000), "GADGET": (2_500, 10)})
        before = stock(db, shop)
    with connect(url) as first_life, pytest.raises(Crash):
        crashing = Mediator(first_life, [faulty(crash_before="reserve stock")])
        place_order(crashing, TENANT, shop.customer, "F-4", {shop.products["WIDGET"]: 1})
    saga_id = saga_id_for(TENANT, "F-4")
    results: list[SagaState] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def resume() -> None:
        try:
            with connect(url) as own:
                start.wait()
                results.append(order_mediator(own).resume(saga_id))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=resume) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert [state.status for state in results] == [SagaStatus.COMPLETED] * 2
    with connect(url) as db:
        assert assert_all_or_nothing(db, results[0], shop, before) == "COMPLETED"


# -- reliability figure: a saga process SIGKILLed at random points -------------------------------
SAGAS = 150
SAGA_KILLS = 15


@pytest.mark.backend("postgres")
def test_sagas_in_a_process_killed_at_random_points_end_all_or_nothing(
    fresh_database_url: str, children: Children
) -> None:
    url = fresh_database_url
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    started = time.perf_counter()
    with connect(url) as db:
        shop = make_shop(db, {"BULK": (1_000, 100_000), "SCARCE": (2_500, 40)})
        bulk, scarce = shop.products["BULK"], shop.products["SCARCE"]
        before = stock(db, shop)
        args = ("sagas", url, str(SAGAS), str(shop.customer), str(bulk), str(scarce))

        def finished() -> int:
            return count(
                db,
                'SELECT count(*) FROM "SagaInstance" WHERE "status" IN (?, ?)',
                ["COMPLETED", "COMPENSATED"],
            )

        in_flight = 0
        for _ in range(SAGA_KILLS):
            target = finished() + rng.randint(1, 8)
            child = children.start(*args)
            child.wait_ready()
            assert poll_until(lambda t=target: finished() >= t, 30), child.stderr.read_text()
            time.sleep(rng.uniform(0, 0.01))
            assert child.kill(), "the saga process finished before it could be killed"
            in_flight += count(
                db,
                'SELECT count(*) FROM "SagaInstance" WHERE "status" IN (?, ?)',
                ["RUNNING", "COMPENSATING"],
            )
        child = children.start(*args)
        child.wait_ready()
        child.finish(timeout=120)
        elapsed = time.perf_counter() - started

        states = [order_mediator(db).state(saga_id_for(TENANT, f"K-{n:04d}")) for n in range(SAGAS)]
        outcomes = {"COMPLETED": 0, "COMPENSATED": 0}
        for state in states:
            assert state.status.value in outcomes, state
            outcomes[state.status.value] += 1
        # Globally: stock went exactly to the completed orders, each order and invoice agrees.
        taken = {bulk: 0, scarce: 0}
        for index, state in enumerate(states):
            items = order_items(index, bulk, scarce)
            assert {
                int(line["productId"]): int(line["quantity"]) for line in state.data["lines"]
            } == items
            if state.status is SagaStatus.COMPLETED:
                for product, quantity in items.items():
                    taken[product] += quantity
        assert stock(db, shop) == {product: before[product] - taken[product] for product in taken}
        for state in states:
            assert_all_or_nothing(db, state, shop, None)
    assert outcomes["COMPLETED"] > 0 and outcomes["COMPENSATED"] > 0
    assert in_flight > 0, "no kill interrupted a saga: the test proved nothing about resume"
    print(
        f"\n[figure] sagas: {SAGAS} order sagas, process SIGKILLed {SAGA_KILLS} times "
        f"({in_flight} kills left a saga mid-flight; seed {seed}), resumed: "
        f"{outcomes['COMPLETED']} fully completed, {outcomes['COMPENSATED']} fully compensated, "
        f"0 inconsistent; {elapsed:.1f}s"
    )
