"""A step's output for the web: lines as they stream, colours as classes, pages and hits;
and the charts: every label escaped, the axis rounded."""

from __future__ import annotations

from collections.abc import Iterator

from chatops.web.ansi import AnsiHtml, lines_of, plain
from chatops.web.charts import bars, lines
from chatops.web.output_html import PAGE_LINES, OutputQuery, output_page


def test_lines_split_across_chunks_and_a_long_line_is_cut() -> None:
    assert list(lines_of(["a\r\nb", "c\nd"])) == ["a", "bc", "d"]
    assert list(lines_of(["x" * 25], max_line=10)) == ["x" * 10, "x" * 10, "x" * 5]
    assert list(lines_of([])) == []


def test_colours_become_classes_that_carry_over_and_the_rest_is_dropped() -> None:
    a = AnsiHtml()
    assert a.line("\x1b[1;31mred <b>") == '<span class="b f1">red &lt;b&gt;</span>'
    assert a.line("still red\x1b[0m plain") == '<span class="b f1">still red</span> plain'
    assert a.line("\x1b[38;5;200mx\x1b[92;44my") == 'x<span class="f10 g4">y</span>'
    assert AnsiHtml().line("\x1b]0;title\x07\x1b[2Kdone\x00") == "done"  # OSC, erase, NUL
    assert AnsiHtml().line("10%\r50%\r100%") == "100%"  # a progress bar's last state
    assert plain("\x1b[31m<i>\x1b[0m") == "<i>"


def test_an_output_page_shows_its_thousand_lines_and_a_search_its_hits() -> None:
    chunks = [f"line {i}\n" for i in range(1, 2 * PAGE_LINES + 11)]
    html = output_page(3, 9, "step on h1", iter(chunks), "tok", OutputQuery(page=3))
    assert "lines 2001 to 2010 of 2010" in html and 'id="L2010"' in html
    assert 'id="L2000"' not in html and "page 3 of 3" in html
    found = output_page(3, 9, "s", iter(chunks), "tok", OutputQuery(q="LINE 150"))
    assert "11 line(s)" in found  # 150, 1500-1509
    assert "page=2#L1500" in found and '<mark class="hit">line 150</mark>' in found
    hostile = output_page(3, 9, "<b>", iter(["<script>x</script>\n"]), "t&x", OutputQuery())
    assert "<script>x" not in hostile and "&lt;script&gt;" in hostile and "t&amp;x" in hostile


def test_the_query_of_an_output_page_is_read_strictly() -> None:
    assert OutputQuery.of({"view": "plain", "page": "2", "q": "x"}) == OutputQuery("plain", "x", 2)
    assert OutputQuery.of({"view": "<x>", "page": "-1"}) == OutputQuery("ansi", "", 1)
    assert OutputQuery.of({"page": "9" * 40}).page == 1
    assert len(OutputQuery.of({"q": "q" * 5000}).q) == 200


def test_charts_escape_their_labels_and_round_their_axis() -> None:
    svg = lines("<t>", ["<w1>", "w2", "w3"], [("a&b", [1.0, None, 3.2])], " h")
    assert "&lt;t&gt;" in svg and "&lt;w1&gt;" in svg and "a&amp;b" in svg and "<w1>" not in svg
    assert ">5 h</text>" in svg  # 3.2 rounds up to an axis of 5
    assert svg.count("<circle") == 2 and "<polyline" not in svg  # a gap: no line across it
    chart = bars("per service", [("web", [3.0, 1.0]), ("<api>", [0.0, 0.0])], ["x", "y"])
    assert chart.count("<rect") == 4 + 2 and "&lt;api&gt;" in chart  # 4 bars, 2 in the legend


def test_a_page_of_a_huge_output_holds_a_page_not_the_output() -> None:
    import tracemalloc

    def chunks() -> Iterator[str]:  # 100k lines of 100 characters: 10 MB, as stored
        line = "\x1b[33m" + "x" * 90 + "\x1b[0m\n"
        for _ in range(1000):
            yield line * 100

    tracemalloc.start()
    try:
        html = output_page(1, 2, "big", chunks(), "tok", OutputQuery(page=75))
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "lines 74001 to 75000 of 100000" in html
    assert '<span class="f3">' + "x" * 90 in html  # with its colours
    assert peak < 3 * 1024 * 1024, peak  # a page and a chunk, not 10 MB


def test_a_colour_set_before_the_page_still_colours_it() -> None:
    before = ["plain\n"] * (PAGE_LINES - 2) + ["\x1b[1;32mgreen from here\n", "\x1b[0m\x1b[34m\n"]
    html = output_page(1, 2, "s", iter([*before, "still blue\n"]), "t", OutputQuery(page=2))
    assert '<span class="f4">still blue</span>' in html  # set on page 1, after a reset
    skipped = AnsiHtml()
    skipped.skip("\x1b[31mred\x1b[0m\x1b[1mbold")
    assert skipped.line("x") == '<span class="b">x</span>'  # what came before the reset is gone
