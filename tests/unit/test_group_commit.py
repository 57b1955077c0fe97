"""The inbox's writer: what queues while a batch commits is written together after it."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from chatops.store.group_commit import GroupCommit


class Store:
    """Records each batch; the first one waits until the test lets it go."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.fail_next = False

    def write_many(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        self.entered.set()
        assert self.release.wait(10), "the test never released the writer"
        if self.fail_next:
            self.fail_next = False
            raise OSError("disk full")
        return [i * 10 for i in items]


def test_what_queues_during_a_commit_is_written_in_one_batch() -> None:
    store = Store()
    writer: GroupCommit[int, int] = GroupCommit(store.write_many, "test-writer")
    first = writer.submit(0)
    assert store.entered.wait(5)
    later = [writer.submit(i) for i in range(1, 20)]  # all queue behind the first commit
    store.release.set()
    assert first.result(5) == 0
    assert [f.result(5) for f in later] == [i * 10 for i in range(1, 20)]
    assert store.batches == [[0], list(range(1, 20))]
    writer.close()


def test_a_failed_batch_fails_each_of_its_callers_and_the_writer_goes_on() -> None:
    store = Store()
    store.fail_next = True
    writer: GroupCommit[int, int] = GroupCommit(store.write_many, "test-writer")
    first = writer.submit(1)
    assert store.entered.wait(5)
    second = writer.submit(2)
    store.release.set()
    with pytest.raises(OSError, match="disk full"):
        first.result(5)
    assert second.result(5) == 20  # the next batch was written
    writer.close()


def test_close_writes_what_was_queued_then_refuses_more() -> None:
    store = Store()
    writer: GroupCommit[int, int] = GroupCommit(store.write_many, "test-writer")
    first = writer.submit(1)
    assert store.entered.wait(5)
    queued = writer.submit(2)
    closing = threading.Thread(target=writer.close)
    closing.start()
    store.release.set()
    closing.join(5)
    assert (first.result(5), queued.result(5)) == (10, 20)
    with pytest.raises(RuntimeError, match="closed"):
        writer.submit(3).result(1)


def test_a_short_answer_from_the_store_is_an_error_not_a_silent_none() -> None:
    writer: GroupCommit[int, int] = GroupCommit(lambda items: [], "test-writer")
    with pytest.raises(RuntimeError, match="0 results for 1"):
        writer.submit(1).result(5)
    writer.close()
