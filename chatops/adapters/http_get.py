"""The HTTP client the bot uses for health checks (standard library, no redirects followed)."""

from __future__ import annotations

import urllib.error
import urllib.request

MAX_BODY = 64 * 1024


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class UrllibGetter:
    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(_NoRedirect())

    def get(self, url: str, timeout: float) -> tuple[int, str]:
        if not url.startswith(("http://", "https://")):
            raise OSError(f"refusing to fetch {url!r}: only http(s)")
        req = urllib.request.Request(url, headers={"User-Agent": "chatops-health/1"})  # noqa: S310
        try:
            with self._opener.open(req, timeout=timeout) as resp:
                return int(resp.status), resp.read(MAX_BODY).decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return int(e.code), e.read(MAX_BODY).decode("utf-8", "replace")
        except urllib.error.URLError as e:
            raise OSError(str(e.reason)) from None
