import os

import pytest

from backend.payments.apart import Apart, in_batches


def _pids(count: int):
    for _ in range(count):
        yield os.getpid()


def _echo(receive):
    while (message := receive()) is not None:
        yield message * 2


class TestApart:
    def test_streams_batches_made_in_another_process(self):
        batches = list(Apart(lambda _: _pids(5), batch=2, position=lambda: "at"))

        assert [len(items) for items, _ in batches] == [2, 2, 1]
        assert {pid for items, _ in batches for pid in items} != {os.getpid()}
        assert {position for _, position in batches} == {"at"}

    def test_makes_what_this_process_sends(self):
        child = Apart(_echo, batch=2)
        for message in (1, 2, 3, None):
            child.send(message)

        assert list(child) == [([2, 4], None), ([6], None)]

    def test_an_error_it_passes_comes_after_the_items_before_it(self):
        def make(_):
            yield from (1, 2, 3)
            raise KeyError("gone")

        made = []
        with pytest.raises(KeyError, match="gone"):
            made.extend(item for items, _ in Apart(make, batch=2, passes=(KeyError,)) for item in items)

        assert made == [1, 2, 3]

    def test_another_error_fails_with_the_childs_traceback(self):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            list(Apart(lambda _: (1 / 0 for _ in range(1)), batch=2))

    def test_a_caller_that_stops_early_ends_the_child(self):
        child = Apart(lambda _: iter(range(10**9)), batch=1)
        made = iter(child)

        assert next(made) == ([0], None)
        made.close()

    def test_closing_ends_a_child_still_waiting_for_more(self):
        child = Apart(_echo, batch=2)
        child.send(1)

        child.close()


def test_in_batches_reads_lists_of_the_size_given():
    assert list(in_batches(range(5), 2)) == [[0, 1], [2, 3], [4]]
