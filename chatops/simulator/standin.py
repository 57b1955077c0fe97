"""A local stand-in for Slack's Web API that records every call.

Point a WebClient at `standin.api_url` (CHATOPS_SLACK_API_URL). It keeps channels, threads,
ephemeral messages, views and uploaded files, answers like Slack for the methods chatops
uses, and on demand answers 429 with Retry-After, or 500, so retries can be tested.

It checks what Slack checks: every message's blocks and every view (`blockkit.py`), refused
as Slack refuses them (`invalid_blocks`, `msg_blocks_too_long`; kept in `refusals`); with
`limits` (`ratelimits.Limits()`) it enforces Slack's rate limits, answering 429 with
`Retry-After` past them. `sends` counts updates that changed nothing (`identical`).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chatops.simulator.blockkit import refusal
from chatops.simulator.faults import Faults
from chatops.simulator.ratelimits import Limits

JSON_FIELDS = ("blocks", "attachments", "view", "metadata")


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    status: int
    at: float = field(default_factory=time.monotonic)


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    user: str = "UBOT"
    broadcast: bool = False
    edits: int = 0
    files: list[dict[str, Any]] = field(default_factory=list)

    def all_text(self) -> str:
        """The text a person would read: the text and every text in the blocks."""
        parts = [self.text]

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for k, v in node.items():
                    if k == "text" and isinstance(v, str):
                        parts.append(v)
                    else:
                        walk(v)
            elif isinstance(node, list):
                for x in node:
                    walk(x)

        walk(self.blocks)
        return "\n".join(parts)

    def buttons(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for b in self.blocks:
            if b.get("type") == "actions":
                out.extend(e for e in b.get("elements", []) if e.get("type") == "button")
        return out

    def controls(self) -> list[dict[str, Any]]:
        """The buttons that act on a run: all but View run, which only asks for a link."""
        return [b for b in self.buttons() if b.get("action_id") != "chatops.view"]


#: Every refusal of every stand-in in this process, oldest first: the tests' conftest fails a
#: test during which Slack would have refused something the bot sent.
REFUSED: list[Refusal] = []


@dataclass
class Refusal:
    method: str
    error: str
    problems: list[str]
    args: dict[str, Any]


class SlackStandIn:
    def __init__(
        self,
        bot_user: str = "UBOT",
        groups: dict[str, list[str]] | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.bot_user = bot_user
        self.limits = limits
        self.refusals: list[Refusal] = []
        self.identical = 0  # chat.update calls that changed nothing
        self.groups = groups or {}
        self.calls: list[Call] = []
        self.messages: list[Message] = []
        self.ephemeral: list[dict[str, Any]] = []
        self.views: list[dict[str, Any]] = []
        self.files: dict[str, dict[str, Any]] = {}
        self.faults = Faults()  # errors answered on demand (fail, refuse, heal)
        self.latency: dict[str, float] = {}  # method -> seconds each call takes (a slow Slack)
        self.socket_url: str | None = None  # what apps.connections.open hands out (Socket Mode)
        #: the tokens this workspace knows (None: any); another one gets `invalid_auth`
        self.tokens: set[str] | None = None
        self._seq = itertools.count(1)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._port = 0

    # -- control ---------------------------------------------------------------------------
    def start(self, port: int | None = None) -> SlackStandIn:
        """Listen (again, on the port it had, after `stop`: an outage that ends), keeping
        every message and call recorded so far."""
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                standin._http(self)

            def do_GET(self) -> None:
                standin._http(self)

            def log_message(self, *_a: object) -> None:
                return None

        if port is None:
            port = self._port
        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused until `start` again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._port, "the stand-in was never started"
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def fail(self, method: str, status: int = 429, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with an error status."""
        self.faults.fail(method, status, retry_after, times)

    def refuse(self, method: str, ts: str, status: int = 500) -> None:
        """Answer every call of `method` about the message `ts` with an error (until `heal`)."""
        self.faults.refuse(method, ts, status)

    def heal(self) -> None:
        """Answer every call as usual again."""
        self.faults.heal()

    def forget_calls(self, upto: int) -> None:
        """Drop the first `upto` calls recorded (a long-running stand-in printed them)."""
        with self._lock:
            del self.calls[:upto]

    # -- queries for tests -----------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def channel(self, channel: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.channel == channel and m.thread_ts is None]

    def thread(self, channel: str, ts: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.channel == channel and m.thread_ts == ts]

    def message(self, channel: str, ts: str) -> Message:
        with self._lock:
            return next(m for m in self.messages if m.channel == channel and m.ts == ts)

    def ephemerals(self, user: str) -> list[str]:
        with self._lock:
            return [e["text"] for e in self.ephemeral if e["user"] == user]

    # -- HTTP ------------------------------------------------------------------------------
    def _http(self, req: BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlparse(req.path)
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        if parsed.path.startswith("/upload/"):
            file_id = parsed.path.rsplit("/", 1)[1]
            with self._lock:
                self.files.setdefault(file_id, {})["content"] = raw
            self._send(req, 200, b"OK - " + str(len(raw)).encode(), "text/plain")
            return
        method = parsed.path.removeprefix("/api/")
        args = self._args(req, parsed.query, raw)
        bearer = req.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.tokens is not None and (bearer or args.get("token")) not in self.tokens:
            with self._lock:
                self.calls.append(Call(method, args, 200))
            self._send(req, 200, json.dumps({"ok": False, "error": "invalid_auth"}).encode())
            return
        if self.latency.get(method):
            time.sleep(self.latency[method])
        fault = self.faults.take(method, args)
        if fault is None and self.limits is not None:
            wait = self.limits.check(method, args)
            if wait is not None:
                fault = (429, wait)
        if fault is not None:
            status, retry_after = fault
            with self._lock:
                self.calls.append(Call(method, args, status))
            headers = {"Retry-After": str(retry_after)} if status == 429 else {}
            error = "ratelimited" if status == 429 else "internal_error"
            self._send(
                req, status, json.dumps({"ok": False, "error": error}).encode(), headers=headers
            )
            return
        refused = refusal(method, args)
        with self._lock:
            self.calls.append(Call(method, args, 200))
            if refused is not None:
                error, problems = refused
                self.refusals.append(Refusal(method, error, problems, args))
                REFUSED.append(self.refusals[-1])
                said = [f"[ERROR] {p}" for p in problems]
                result = {"ok": False, "error": error, "response_metadata": {"messages": said}}
            else:
                handler = getattr(self, "m_" + method.replace(".", "_"), None)
                result = handler(args) if handler else {"ok": False, "error": "unknown_method"}
        self._send(req, 200, json.dumps(result).encode())

    @staticmethod
    def _args(req: BaseHTTPRequestHandler, query: str, raw: bytes) -> dict[str, Any]:
        args: dict[str, Any] = dict(urllib.parse.parse_qsl(query))
        ctype = req.headers.get("Content-Type", "")
        if raw and "json" in ctype:
            args.update(json.loads(raw))
        elif raw:
            args.update(urllib.parse.parse_qsl(raw.decode()))
        for key in JSON_FIELDS:
            if isinstance(args.get(key), str) and args[key][:1] in "[{":
                args[key] = json.loads(args[key])
        return args

    @staticmethod
    def _send(
        req: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        ctype: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        req.send_response(status)
        req.send_header("Content-Type", ctype)
        req.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            req.send_header(k, v)
        req.end_headers()
        req.wfile.write(body)

    def _ts(self) -> str:
        return f"{1700000000 + next(self._seq)}.000100"

    # -- Web API methods -------------------------------------------------------------------
    def m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://standin.invalid/",
            "team": "Test",
            "user": "chatops",
            "team_id": "T0TEST",
            "user_id": self.bot_user,
            "bot_id": "B0TEST",
        }

    def m_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.socket_url is None:
            return {"ok": False, "error": "socket_mode_not_enabled"}
        return {"ok": True, "url": self.socket_url}

    def m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        m = Message(
            str(args["channel"]),
            self._ts(),
            str(args.get("text") or ""),
            list(args.get("blocks") or []),
            args.get("thread_ts") or None,
            broadcast=str(args.get("reply_broadcast")).lower() in ("true", "1"),
        )
        self.messages.append(m)
        return {
            "ok": True,
            "channel": m.channel,
            "ts": m.ts,
            "message": {"text": m.text, "ts": m.ts, "user": self.bot_user},
        }

    def m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        for m in self.messages:
            if m.channel == args.get("channel") and m.ts == args.get("ts"):
                if str(args.get("text") or m.text) == m.text and (
                    "blocks" not in args or list(args.get("blocks") or []) == m.blocks
                ):
                    self.identical += 1
                m.text = str(args.get("text") or m.text)
                if "blocks" in args:
                    m.blocks = list(args.get("blocks") or [])
                m.edits += 1
                return {"ok": True, "channel": m.channel, "ts": m.ts, "text": m.text}
        return {"ok": False, "error": "message_not_found"}

    def m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        self.ephemeral.append(
            {
                "channel": args.get("channel"),
                "user": args.get("user"),
                "text": str(args.get("text") or ""),
                "blocks": args.get("blocks"),
            }
        )
        return {"ok": True, "message_ts": self._ts()}

    def _view(self, args: dict[str, Any], kind: str) -> dict[str, Any]:
        view = dict(args.get("view") or {})
        view_id = args.get("view_id") or f"V{next(self._seq)}"
        view.update(id=view_id, hash=f"h{next(self._seq)}")
        self.views.append(
            {
                "kind": kind,
                "view": view,
                "user_id": args.get("user_id"),
                "trigger_id": args.get("trigger_id"),
            }
        )
        return {"ok": True, "view": view}

    def m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._view(args, "open")

    def m_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._view(args, "update")

    def m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._view(args, "publish")

    def m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{next(self._seq)}"
        self.files[file_id] = {"filename": args.get("filename"), "length": args.get("length")}
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        entries = args.get("files")
        if isinstance(entries, str):
            entries = json.loads(entries)
        out = []
        for f in entries or []:
            info = self.files.setdefault(f["id"], {})
            info.update(
                title=f.get("title"),
                channel=args.get("channel_id"),
                thread_ts=args.get("thread_ts"),
            )
            out.append({"id": f["id"], "title": f.get("title")})
            m = Message(
                str(args.get("channel_id")),
                self._ts(),
                f"file: {f.get('title')}",
                [],
                args.get("thread_ts") or None,
                files=[{"id": f["id"], **info}],
            )
            self.messages.append(m)
        return {"ok": True, "files": out}

    def m_usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args.get("usergroup"))
        if group not in self.groups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": self.groups[group]}

    def m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": {"id": "D" + str(args.get("users", "")).split(",")[0]}}

    def m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user"))
        return {"ok": True, "user": {"id": user, "name": user.lower(), "tz": "UTC"}}
