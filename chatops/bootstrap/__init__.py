"""The one place that wires adapters (SQL store, executors, HTTP) to the engine: `build()`
makes every process (`build.py`) as a `Container` (`container.py`); a Slack process's half
is `slack.py` (and its HTTP app, `http_app`); what several kinds of process share, `parts.py`."""

from chatops.bootstrap.build import build
from chatops.bootstrap.container import Container
from chatops.bootstrap.slack import http_app

__all__ = ["Container", "build", "http_app"]
