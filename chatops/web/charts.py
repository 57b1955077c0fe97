"""Charts drawn on the server as SVG: no script, no service elsewhere, every label escaped.

`lines` draws values over time (a week per point, a gap where a week has none); `bars`
draws a few numbers per group side by side (per service). Colours are presentation
attributes, which the page's Content-Security-Policy allows (no inline style)."""

from __future__ import annotations

from collections.abc import Sequence

from chatops.web.html import t

__all__ = ["PALETTE", "bars", "lines"]

PALETTE = ("#1264a3", "#e01e5a", "#2eb67d", "#ecb22e")
W, H = 900, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 48


def _nice(top: float) -> float:
    """A round number at or above `top` for the axis' end."""
    if top <= 0:
        return 1.0
    step = 10.0 ** (len(str(int(top))) - 1) if top >= 1 else 0.1
    while step > top:
        step /= 10
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * step >= top:
            return m * step
    return float(top)


def _frame(title: str, top: float, unit: str) -> list[str]:
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" '
        f'aria-label="{t(title)}"><title>{t(title)}</title>'
    ]
    for i in range(5):
        value = top * i / 4
        y = H - BOTTOM - (H - TOP - BOTTOM) * i / 4
        out.append(
            f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#616061">{t(f"{value:.3g}")}{t(unit)}</text>'
        )
    return out


def _legend(names: Sequence[str]) -> list[str]:
    out = []
    for i, name in enumerate(names):
        x = LEFT + i * 190
        out.append(
            f'<rect x="{x}" y="{H - 14}" width="10" height="10" fill="{PALETTE[i % 4]}"/>'
            f'<text x="{x + 14}" y="{H - 5}" font-size="11" fill="#1d1c1d">{t(name)}</text>'
        )
    return out


def lines(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    unit: str = "",
) -> str:
    """One line per series over `labels` (the x axis); None is a gap."""
    values = [v for _n, vs in series for v in vs if v is not None]
    top = _nice(max(values, default=0))
    out = _frame(title, top, unit)
    n = max(len(labels), 1)
    span = (W - LEFT - RIGHT) / max(n - 1, 1)

    def x(i: int) -> float:
        return LEFT + span * i if n > 1 else (LEFT + W - RIGHT) / 2

    def y(v: float) -> float:
        return H - BOTTOM - (H - TOP - BOTTOM) * v / top

    for i, label in enumerate(labels):
        if n <= 8 or i % max(1, n // 6) == 0:
            out.append(
                f'<text x="{x(i):.1f}" y="{H - BOTTOM + 16}" font-size="11" '
                f'text-anchor="middle" fill="#616061">{t(label)}</text>'
            )
    for k, (_name, vs) in enumerate(series):
        colour = PALETTE[k % 4]
        run: list[str] = []
        for i, v in enumerate(vs):
            if v is None:
                if len(run) > 1:
                    out.append(_path(run, colour))
                run = []
                continue
            run.append(f"{x(i):.1f},{y(v):.1f}")
            out.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}">'
                f"<title>{t(labels[i] if i < len(labels) else '')}: "
                f"{t(f'{v:.3g}')}{t(unit)}</title>"
                "</circle>"
            )
        if len(run) > 1:
            out.append(_path(run, colour))
    out += _legend([name for name, _vs in series])
    return "".join(out) + "</svg>"


def _path(points: list[str], colour: str) -> str:
    return f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" stroke-width="2"/>'


def bars(
    title: str, groups: Sequence[tuple[str, Sequence[float]]], names: Sequence[str], unit: str = ""
) -> str:
    """Bars side by side for each group (a service): one bar per name (a number)."""
    top = _nice(max((v for _g, vs in groups for v in vs), default=0))
    out = _frame(title, top, unit)
    width = (W - LEFT - RIGHT) / max(len(groups), 1)
    bar = min(28.0, width * 0.8 / max(len(names), 1))
    for g, (group, vs) in enumerate(groups):
        x0 = LEFT + width * g + (width - bar * len(vs)) / 2
        for k, v in enumerate(vs):
            h = (H - TOP - BOTTOM) * v / top
            out.append(
                f'<rect x="{x0 + k * bar:.1f}" y="{H - BOTTOM - h:.1f}" width="{bar - 2:.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[k % 4]}"><title>{t(group)}: {t(names[k])} '
                f"{t(f'{v:g}')}{t(unit)}</title></rect>"
            )
        out.append(
            f'<text x="{LEFT + width * g + width / 2:.1f}" y="{H - BOTTOM + 16}" font-size="11" '
            f'text-anchor="middle" fill="#616061">{t(group[:24])}</text>'
        )
    out += _legend(names)
    return "".join(out) + "</svg>"
