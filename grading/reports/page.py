"""What the report's pages share: the HTML frame, its Content-Security-Policy, escaping, a figure as a PNG.

The report (grading/reports/report.py), its misconceptions section and the similarity page all
build on this module and nothing here imports them: the sections are made first, the report puts
them in its page.
"""
from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# The pages run no script at all: even a string that escaped escaping could not run.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

STYLE = ("body{{font-family:sans-serif;max-width:{width};margin:2em auto;color:#222}}"
         "table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.3em .6em;"
         "text-align:left}}th{{background:#eef}}a{{color:#1f5a8f}}")


def escape(value: object) -> str:
    """Any value as HTML text (quotes too): a student id like ``<img onerror=...>`` stays text."""
    return html.escape(str(value), quote=True)


def png_base64(fig: Figure, dpi: int = 90) -> str:
    """A matplotlib figure as base64 PNG for a data: URI (the report's pages load nothing else);
    the figure is closed."""
    import matplotlib.pyplot as plt
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def page(title: str, body: str, width: str = "70em") -> str:
    """A whole offline page around ``body`` (HTML its maker escaped), under ``CSP``; ``title`` is escaped."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}"><title>{escape(title)}</title>
<style>{STYLE.format(width=width)}</style></head><body>
{body}
</body></html>
"""
