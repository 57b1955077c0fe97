"""The ends received per host, waiting for the next start there (executors/delivered.py)."""

from chatops.executors.delivered import Delivered


def test_ids_wait_per_host_and_are_taken_once() -> None:
    d = Delivered()
    d.add("a", ["j1"])
    d.add("b", ["k1"])
    d.add("a", ["j2", "j1"])  # given back after a start that may not have been sent
    assert d.take("a") == ("j1", "j2")
    assert d.take("a") == ()
    assert d.take("b") == ("k1",)


def test_a_start_line_carries_a_bounded_number() -> None:
    d = Delivered(limit=3)
    d.add("a", [f"j{i}" for i in range(10)])
    assert d.take("a") == ("j7", "j8", "j9")  # the oldest wait for the host's sweep
