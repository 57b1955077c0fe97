"""What every page shares: the document around a body, its one style sheet and its one
script (both inline, allowed by their hashes in the Content-Security-Policy: nothing is
fetched from elsewhere), and the escaping every text goes through."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from html import escape

__all__ = ["CSP", "LIVE_EVERY", "SCRIPT", "STYLE", "csp", "document", "refusal_page", "t", "when"]

# the 16 terminal colours of ANSI output (classes f0-f15, backgrounds g0-g15), for light paper
_COLOURS = [
    "#000", "#b00", "#070", "#860", "#03c", "#a0a", "#078", "#888",
    "#555", "#e33", "#2a2", "#a80", "#36f", "#c3c", "#0aa", "#bbb",
]  # fmt: skip
STYLE = (
    """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;color:#1d1c1d;
padding:0 1rem}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;
border-bottom:1px solid #ddd}table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:.25rem .5rem;vertical-align:top;border-bottom:1px solid #eee;
overflow-wrap:anywhere}td.when{white-space:nowrap;overflow-wrap:normal}
pre{background:#f6f6f6;padding:.5rem;overflow:auto;white-space:pre-wrap;
word-break:break-all}pre.tail{max-height:24rem}code{font-size:.9em}
.succeeded{color:#1a7f37}.failed,.rolled_back,.interrupted{color:#cf222e}
.running,.waiting{color:#9a6700}.meta{color:#616061}.b{font-weight:bold}
.ln{color:#999;user-select:none;display:inline-block;min-width:4.5em;text-decoration:none}
.hit{background:#fff3b0}nav a{margin-right:.75rem}form.search{margin:.5rem 0}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;
padding:.5rem 1rem;min-width:12rem}.card b{display:block;font-size:1.4rem}
svg{max-width:100%;height:auto}#live-note{color:#9a6700}
"""
    + "".join(f".f{i}{{color:{c}}}" for i, c in enumerate(_COLOURS))
    + "".join(f".g{i}{{background:{c}}}" for i, c in enumerate(_COLOURS))
).strip()

# A live page listens to its run's events (server-sent) and, when the run changes, fetches
# itself again and swaps in the new #live part: no reload, no scroll lost.
SCRIPT = """
(function () {
  var root = document.getElementById("live");
  var note = document.getElementById("live-note");
  if (!root || root.getAttribute("data-live") !== "1" || !window.EventSource) return;
  var source = new EventSource(root.getAttribute("data-events"));
  var busy = false, again = false;
  function say(text) { if (note) note.textContent = text; }
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, {headers: {"Accept": "text/html"}, cache: "no-store"})
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.text(); })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, "text/html");
        var next = doc.getElementById("live");
        if (next) { root.replaceWith(next); root = next; }
        if (root.getAttribute("data-live") !== "1") { source.close(); say(""); }
      })
      .catch(function (e) { say("could not refresh: " + e.message); })
      .then(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  source.onopen = function () { say("live"); };
  source.onmessage = function (e) {
    if (e.data !== root.getAttribute("data-version")) refresh();
  };
  source.addEventListener("end", function () { source.close(); refresh(); });
  source.addEventListener("refused", function (e) { source.close(); say(e.data); });
  source.onerror = function () { say("live updates paused: reconnecting"); };
})();
""".strip()


def _hash(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def csp(script: bool = False, form: bool = False) -> str:
    """The Content-Security-Policy of a page: nothing but its own style (and script, and
    a form sent back to itself, where it has them)."""
    parts = ["default-src 'none'", f"style-src 'sha256-{_hash(STYLE)}'", "img-src 'self'"]
    if script:
        parts += [f"script-src 'sha256-{_hash(SCRIPT)}'", "connect-src 'self'"]
    parts += [
        "base-uri 'none'",
        "form-action 'self'" if form else "form-action 'none'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(parts)


CSP = csp()
LIVE_EVERY = 3  # seconds between reloads of a live page in a browser without script


def t(value: object) -> str:
    """Any text, made inert for HTML (content and attribute values alike)."""
    return escape(str(value), quote=True)


def when(at: datetime | None) -> str:
    return "" if at is None else t(at.strftime("%Y-%m-%d %H:%M:%S UTC"))


def document(title: str, body: str, *, live: bool = False) -> str:
    """A whole page: `live` adds the script (and, for a browser without it, a reload)."""
    head = (
        f'<noscript><meta http-equiv="refresh" content="{LIVE_EVERY}"></noscript>' if live else ""
    )
    script = f"<script>{SCRIPT}</script>" if live else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{head}<title>{t(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}{script}</body></html>"
    )


def refusal_page(status: int, message: str) -> str:
    heading = {403: "Not for this link", 404: "Not found"}.get(status, "Refused")
    return document(heading, f"<h1>{t(heading)}</h1><p>{t(message)}</p>")
