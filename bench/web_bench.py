"""A step's output as a web page: page 150 of 200,000 coloured lines, and a search through
them, against bare Python doing the least any such page must (read every chunk, split it
into lines, escape the thousand shown; for the search, fold each line and look in it).

    .venv/bin/python bench/web_bench.py
"""

from __future__ import annotations

import html
import statistics
import time
from collections.abc import Callable, Iterator

from chatops.web.output_html import OutputQuery, output_page

LINES, PER_CHUNK = 200_000, 100
LINE = "\x1b[33mwarn\x1b[0m " + "request handled in 12 ms by worker 7 " * 2 + "\n"


def chunks() -> Iterator[str]:
    block = LINE * PER_CHUNK
    for _ in range(LINES // PER_CHUNK):
        yield block


def bare_page() -> None:
    shown = []
    n = 0
    for chunk in chunks():
        for line in chunk.split("\n"):
            n += 1
            if 149_000 < n <= 150_000:
                shown.append(html.escape(line))
    assert len(shown) == 1000


def bare_search() -> None:
    hits = 0
    for chunk in chunks():
        for line in chunk.split("\n"):
            hits += "worker 7" in line.casefold()
    assert hits == LINES


def ours_page() -> None:
    assert "lines 149001 to 150000" in output_page(1, 2, "b", chunks(), "t", OutputQuery(page=150))


def ours_search() -> None:
    assert "line(s) with" in output_page(1, 2, "b", chunks(), "t", OutputQuery(q="WORKER 7"))


def timed(fn: Callable[[], None], n: int = 5) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    print("| what | anchor (bare Python) | chatops | ratio |")
    print("| --- | --- | --- | --- |")
    for what, anchor, ours in (
        ("page 150 of 200k coloured lines (with colours)", bare_page, ours_page),
        ("search 200k lines, every line a hit (1000 shown)", bare_search, ours_search),
    ):
        a, o = timed(anchor), timed(ours)
        print(f"| {what} | {a * 1000:.0f} ms | {o * 1000:.0f} ms | {o / a:.1f}x |")


if __name__ == "__main__":
    main()
