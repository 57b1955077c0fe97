"""Output as a terminal shows it: colours and cursor codes gone, a progress bar at its end."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chatops.engine.runs.printable import Printable, printable


def test_colours_controls_and_progress_bars() -> None:
    raw = "\x1b[1;32mok\x1b[0m\x07 \x1b]0;title\x07done\r\n10%\r55%\r100%\nend\x1b(B"
    assert printable(raw) == "ok done\n100%\nend"


def test_a_sequence_split_across_chunks_is_still_removed() -> None:
    p = Printable()
    out = p.feed("a\x1b[3") + p.feed("1mred\x1b") + p.feed("[0m\n") + p.flush()
    assert out == "ared\n"


def test_a_very_long_line_is_passed_on_without_waiting_for_its_end() -> None:
    p = Printable(max_line=100)
    first = p.feed("x" * 250)
    assert first == "x" * 250  # not held back in memory
    assert p.feed("y\n") == "y\n"


@given(st.text(alphabet=st.sampled_from("ab\x1b[m0;\r\n\x00\x07"), max_size=200), st.data())
def test_streaming_matches_whole_text(text: str, data: st.DataObject) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=5)))
    p = Printable()
    pieces, last = [], 0
    for c in [*cuts, len(text)]:
        pieces.append(p.feed(text[last:c]))
        last = c
    streamed = "".join(pieces) + p.flush()
    assert streamed == printable(text)
    assert "\x1b" not in streamed and "\x00" not in streamed


def test_every_emoji_the_bot_says_has_a_console_symbol() -> None:
    """The console shows a symbol, never `:snowflake:`, for every emoji code in the bot's
    messages."""
    import re

    from chatops.console.render import EMOJI
    from tests.conftest import ROOT

    said = {
        code
        for folder in ("slack", "engine", "console")
        for path in (ROOT / "chatops" / folder).rglob("*.py")
        for code in re.findall(r":[a-z][a-z0-9_]+:", path.read_text())
    }
    assert said and said <= set(EMOJI), sorted(said - set(EMOJI))
