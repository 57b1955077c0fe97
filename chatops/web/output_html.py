"""A step's whole output on one host, as a page: a thousand lines at a time (never all of
it in memory: the chunks are read a page of rows at a time and only the shown lines are
kept), with its colours or as plain text, and searched (case-insensitive, every matching
line with its number and a link to it in context)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from chatops.web.ansi import AnsiHtml, lines_of, plain
from chatops.web.html import document, t

__all__ = ["MAX_HITS", "PAGE_LINES", "OutputQuery", "output_page"]

PAGE_LINES = 1000
MAX_HITS = 1000  # matching lines shown a page
MAX_QUERY = 200


@dataclass(frozen=True)
class OutputQuery:
    view: str = "ansi"  # or "plain"
    q: str = ""
    page: int = 1

    @classmethod
    def of(cls, params: dict[str, str]) -> OutputQuery:
        view = "plain" if params.get("view") == "plain" else "ansi"
        page_text = params.get("page", "1")
        page = int(page_text) if page_text.isdigit() and len(page_text) < 9 else 1
        return cls(view, params.get("q", "")[:MAX_QUERY], max(page, 1))


def _href(base: str, token: str, **params: object) -> str:
    query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items() if v != "")
    return f"{base}?t={quote(token, safe='')}" + (f"&{query}" if query else "")


def _nav(base: str, token: str, at: OutputQuery, pages: int, **extra: object) -> str:
    view = "" if at.view == "ansi" else at.view

    def go(page: int, label: str) -> str:
        if page < 1 or page > pages or page == at.page:
            return f"<span class='meta'>{t(label)}</span> "
        return f'<a href="{t(_href(base, token, view=view, page=page, **extra))}">{t(label)}</a>'

    return (
        f"<nav>{go(1, '« first')}{go(at.page - 1, '< previous')}"
        f"<span>page {at.page} of {pages}</span> "
        f"{go(at.page + 1, 'next >')}{go(pages, 'last »')}</nav>"
    )


def output_page(
    run_id: int,
    step_run_id: int,
    title: str,
    chunks: Iterable[str],
    token: str,
    q: OutputQuery,
) -> str:
    base = f"/runs/{run_id}/output/{step_run_id}"
    other = "plain" if q.view == "ansi" else ""
    head = (
        f"<h1>Run #{run_id}: {t(title)}</h1>"
        f'<p><a href="{t(_href(f"/runs/{run_id}", token))}#step-{step_run_id}">back to the run</a>'
        f' · <a href="{t(_href(base, token, view=other, q=q.q))}">'
        f"{'as text' if q.view == 'ansi' else 'with colours'}</a>"
        f' · <a href="{t(_href(base + "/download", token))}">download</a>'
        f' · <a href="{t(_href(base + "/download", token, raw=1))}">raw (with escapes)</a></p>'
        f'<form class="search" method="get" action="{t(base)}">'
        f'<input type="hidden" name="t" value="{t(token)}">'
        + (f'<input type="hidden" name="view" value="{t(q.view)}">' if q.view != "ansi" else "")
        + f'<input type="search" name="q" value="{t(q.q)}" placeholder="search this output" '
        f'maxlength="{MAX_QUERY}"> <button type="submit">Search</button></form>'
    )
    body = _hits(base, token, chunks, q) if q.q else _lines(base, token, chunks, q)
    return document(f"Run #{run_id} output", head + body)


def _lines(base: str, token: str, chunks: Iterable[str], q: OutputQuery) -> str:
    first = (q.page - 1) * PAGE_LINES + 1
    last = first + PAGE_LINES - 1
    colours = AnsiHtml()
    shown: list[str] = []
    total = 0
    for n, raw in enumerate(lines_of(chunks), 1):
        total = n
        if n < first:
            if q.view == "ansi":
                colours.skip(raw)  # the colours carry over from before the page
            continue
        if n > last:
            continue  # counted, not read further
        text = colours.line(raw) if q.view == "ansi" else t(plain(raw))
        shown.append(f'<a class="ln" id="L{n}" href="#L{n}">{n}</a>{text}')
    pages = max(1, -(-total // PAGE_LINES))
    nav = _nav(base, token, q, pages)
    if not shown:
        what = "no output" if total == 0 else f"no line {first}: the output has {total}"
        return f"{nav}<p>{t(what)}.</p>"
    return (
        f'<p class="meta">lines {first} to {min(last, total)} of {total}</p>{nav}'
        f'<pre id="output">{chr(10).join(shown)}</pre>{nav}'
    )


def _hits(base: str, token: str, chunks: Iterable[str], q: OutputQuery) -> str:
    needle = q.q.casefold()
    skip = (q.page - 1) * MAX_HITS
    shown: list[str] = []
    hits = 0
    for n, raw in enumerate(lines_of(chunks), 1):
        text = plain(raw)
        if needle not in text.casefold():
            continue
        hits += 1
        if skip < hits <= skip + MAX_HITS:
            page = (n - 1) // PAGE_LINES + 1
            view = "" if q.view == "ansi" else q.view
            href = _href(base, token, view=view, page=page) + f"#L{n}"
            shown.append(f'<a class="ln" href="{t(href)}">{n}</a>{_mark(text, needle)}')
    pages = max(1, -(-hits // MAX_HITS))
    nav = _nav(base, token, q, pages, q=q.q)
    if not hits:
        return f'<p id="hits">No line has “{t(q.q)}”.</p>'
    return (
        f'<p class="meta" id="hits">{hits} line(s) with “{t(q.q)}”</p>{nav}'
        f'<pre id="output">{chr(10).join(shown)}</pre>{nav}'
    )


def _mark(text: str, needle: str) -> str:
    """The line, escaped, each match of the search marked."""
    out, at, folded = [], 0, text.casefold()
    while needle and (i := folded.find(needle, at)) >= 0 and len(folded) == len(text):
        out += [t(text[at:i]), f'<mark class="hit">{t(text[i : i + len(needle)])}</mark>']
        at = i + len(needle)
    out.append(t(text[at:]))
    return "".join(out)
