"""route_guide's services over HTTP, from the servicers the gRPC server serves: Connect and gRPC-Web.

One ASGI app answers both protocols on every method of every service:
- Connect (connectrpc.com/docs/protocol): unary calls as `application/json` or
  `application/proto` POSTs, or GETs for methods whose proto marks them
  `idempotency_level = NO_SIDE_EFFECTS`; streams as `application/connect+json` or `+proto`.
- gRPC-Web: `application/grpc-web(+proto|+json)` and `application/grpc-web-text`,
  trailers in the body's last frame.
Requests are read whole before the method runs (HTTP/1.1 is half duplex), so client and
bidi streams work when the client sends its whole stream first.

Each call passes the same interceptors as a gRPC call (access log, error mapping, yours)
with a context that serves what grpc's does (`webcalls.WebContext`): metadata comes from
the request's headers (`-bin` ones base64), the deadline from `connect-timeout-ms` or
`grpc-timeout`, and the status, details and trailers go back as each protocol says.
Browsers on `cors_origins` may call it from their pages.

`python -m route_guide.server` serves it on `--http-port`; to mount it in
another ASGI application (FastAPI, Starlette):

    from route_guide.generated.runtime.web import create_app
    from route_guide.server import add_services
    app.mount("/rpc", create_app(add_services))

scaffold rewrites this module on every `scaffold gen`: do not edit it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import importlib
import json
import os
import re
import socket
import threading
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    MutableMapping,
    Sequence,
)
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import grpc
import uvicorn
from google.protobuf import descriptor_pb2, descriptor_pool, message, message_factory

from route_guide.generated.runtime import serving, webcodec, webrest
from route_guide.generated.runtime.webcalls import (
    Calls,
    Ending,
    Handler,
    Metadata,
    Registry,
    WebContext,
)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# Connect's name of each status, and the HTTP status of a unary call that ends with it.
CONNECT_CODES = {
    grpc.StatusCode.CANCELLED: ("canceled", 499),
    grpc.StatusCode.UNKNOWN: ("unknown", 500),
    grpc.StatusCode.INVALID_ARGUMENT: ("invalid_argument", 400),
    grpc.StatusCode.DEADLINE_EXCEEDED: ("deadline_exceeded", 504),
    grpc.StatusCode.NOT_FOUND: ("not_found", 404),
    grpc.StatusCode.ALREADY_EXISTS: ("already_exists", 409),
    grpc.StatusCode.PERMISSION_DENIED: ("permission_denied", 403),
    grpc.StatusCode.RESOURCE_EXHAUSTED: ("resource_exhausted", 429),
    grpc.StatusCode.FAILED_PRECONDITION: ("failed_precondition", 400),
    grpc.StatusCode.ABORTED: ("aborted", 409),
    grpc.StatusCode.OUT_OF_RANGE: ("out_of_range", 400),
    grpc.StatusCode.UNIMPLEMENTED: ("unimplemented", 501),
    grpc.StatusCode.INTERNAL: ("internal", 500),
    grpc.StatusCode.UNAVAILABLE: ("unavailable", 503),
    grpc.StatusCode.DATA_LOSS: ("data_loss", 500),
    grpc.StatusCode.UNAUTHENTICATED: ("unauthenticated", 401),
}
# Request headers that carry the protocol, not the call's metadata.
PROTOCOL_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "access-control-request-headers",
        "access-control-request-method",
        "connection",
        "connect-accept-encoding",
        "connect-content-encoding",
        "connect-protocol-version",
        "connect-timeout-ms",
        "content-encoding",
        "content-length",
        "content-type",
        "grpc-accept-encoding",
        "grpc-encoding",
        "grpc-timeout",
        "host",
        "keep-alive",
        "origin",
        "referer",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "x-grpc-web",
        "x-user-agent",
    }
)
# Response headers a page may read without being told (CORS's safelist).
CORS_SAFELISTED = frozenset(
    {
        "cache-control",
        "content-language",
        "content-length",
        "content-type",
        "expires",
        "last-modified",
        "pragma",
    }
)
STATUS_DETAILS = "grpc-status-details-bin"
# A gRPC-Web answer without messages may carry its status in headers: pages must see them.
TRAILERS_IN_HEADERS = frozenset({"grpc-message", "grpc-status", STATUS_DETAILS})
GRPC_WEB_TRAILERS = 0x80
CONNECT_END_STREAM = 0x02
# A stream of requests may hold many messages; each is held to max_message_bytes.
MAX_STREAMED_REQUEST_BYTES = 64 * 1024 * 1024
_TIMEOUT_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}


def create_app(
    add_services: Callable[[grpc.Server], None],
    interceptors: Sequence[grpc.ServerInterceptor] = (),
    settings: serving.Settings | None = None,
) -> WebApp:
    """An ASGI app serving the services `add_services` registers, with servicers of its own."""
    registry = Registry()
    add_services(registry)
    return app_for(registry, interceptors, settings or serving.Settings())


def app_for(
    registry: Registry,
    interceptors: Sequence[grpc.ServerInterceptor],
    settings: serving.Settings,
) -> WebApp:
    """The app of `registry`'s services, each call through scaffold's interceptors, then `interceptors`."""
    chain = serving.call_interceptors(settings, interceptors)
    calls = Calls(registry, chain, settings.max_workers)
    routes = webrest.Routes.of(registry.methods)
    document = Path(__file__).with_name("openapi.json").read_bytes()
    return WebApp(
        calls,
        settings.max_message_bytes,
        settings.cors_origins,
        routes,
        document,
        settings.ignore_unknown_fields,
    )


@dataclass(frozen=True)
class Method:
    """What the web needs of a method beyond its handler: its input type, whether GET may call it."""

    name: str
    input: type[message.Message]
    no_side_effects: bool


@dataclass
class Request:
    """One HTTP request: its route below the app's mount point, headers (names lowercase), peer."""

    method: str
    route: str
    headers: dict[str, str]
    query: str
    peer: str
    receive: Receive

    @classmethod
    def of(cls, scope: Scope, receive: Receive) -> Request:
        path, root = scope["path"], scope.get("root_path", "")
        route = path[len(root) :] if root and path.startswith(root) else path
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        host, port = scope.get("client") or ("unknown", 0)
        peer = f"ipv6:[{host}]:{port}" if ":" in host else f"ipv4:{host}:{port}"
        return cls(
            scope["method"],
            route,
            headers,
            scope.get("query_string", b"").decode("latin-1"),
            peer,
            receive,
        )

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    async def body(self, limit: int) -> bytes:
        """The whole body; over `limit` bytes, refused before the rest is read."""
        chunks, size = [], 0
        while True:
            event = await self.receive()
            if event["type"] == "http.disconnect":
                raise ConnectionError("the client went away")
            chunk = event.get("body", b"")
            size += len(chunk)
            if size > limit:
                message = f"a request of more than {limit} bytes"
                raise _Refused(grpc.StatusCode.RESOURCE_EXHAUSTED, message)
            chunks.append(chunk)
            if not event.get("more_body", False):
                return b"".join(chunks)


class WebApp:
    """The ASGI app: routes each request to its method and answers in the protocol it came in."""

    def __init__(
        self,
        calls: Calls,
        max_message_bytes: int,
        cors_origins: Sequence[str] = (),
        routes: webrest.Routes | None = None,
        document: bytes | None = None,
        ignore_unknown_fields: bool = False,
    ) -> None:
        self._calls = calls
        self._limit = max_message_bytes
        # True: JSON fields the message lacks are dropped; False: the request is refused.
        self.ignore_unknown_fields = ignore_unknown_fields
        self._origins = frozenset(cors_origins)
        self._routes = routes or webrest.Routes(())
        self._document = document  # the OpenAPI document `scaffold gen` wrote
        self._methods: dict[str, Method] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request.of(scope, receive)
        reply = _Reply(send, self._allowed_origin(request))
        with contextlib.suppress(
            ConnectionError
        ):  # the client went away before it was answered
            await self._answer(request, reply)

    async def _answer(self, request: Request, reply: _Reply) -> None:
        if request.method == "OPTIONS":
            await self._preflight(request, reply)
            return
        if (
            request.route == "/openapi.json"
            and self._document
            and request.method == "GET"
        ):
            await reply.send(
                200, [("content-type", "application/json")], self._document
            )
            return
        method = self._method(request.route)
        if method is None or not _speaks_rpc(request):
            bound = self._routes.match(request.method, request.route)
            if bound is not None:
                await self._rest(request, *bound, reply)
                return
        kind = request.content_type
        if method is None:  # 404, as Connect's servers answer a path they do not serve
            unknown = Ending(
                grpc.StatusCode.UNIMPLEMENTED, f"no method {request.route}"
            )
            await reply.connect_error(unknown, status=404)
        elif request.method == "GET":
            await self._connect_unary(request, method, reply, get=True)
        elif request.method != "POST":
            await reply.send(405, [("allow", "GET, POST, OPTIONS")], b"")
        elif kind in ("application/json", "application/proto"):
            await self._connect_unary(request, method, reply, get=False)
        elif kind.startswith("application/connect+"):
            await self._connect_stream(request, method, reply)
        elif kind.startswith("application/grpc-web"):
            await self._grpc_web(request, method, reply)
        else:
            text = f"content-type {kind or '(none)'}: send application/json, application/proto, application/connect+json, application/connect+proto or application/grpc-web"
            await reply.send(
                415, [("content-type", "text/plain; charset=utf-8")], text.encode()
            )

    def _method(self, route: str) -> Method | None:
        known = self._methods.get(route)
        if known is None and self._calls.registry.find(route) is not None:
            known = _describe(route)
            if known is not None:
                self._methods[route] = (
                    known  # only methods that exist: a scan of made-up routes costs no memory
                )
        return known

    def _allowed_origin(self, request: Request) -> str | None:
        origin = request.headers.get("origin")
        if origin is None or not ("*" in self._origins or origin in self._origins):
            return None
        return origin

    async def _preflight(self, request: Request, reply: _Reply) -> None:
        if (
            reply.origin is None
            or "access-control-request-method" not in request.headers
        ):
            await reply.send(
                403,
                [("content-type", "text/plain; charset=utf-8")],
                b"origin not allowed",
            )
            return
        headers = [
            ("access-control-allow-methods", "GET, POST"),
            (
                "access-control-allow-headers",
                request.headers.get("access-control-request-headers", ""),
            ),
            ("access-control-max-age", "7200"),
        ]
        await reply.send(204, headers, b"")

    async def _connect_unary(
        self, request: Request, method: Method, reply: _Reply, get: bool
    ) -> None:
        json_codec = request.content_type == "application/json"
        try:
            if get:
                if not method.no_side_effects:
                    raise _Refused(
                        grpc.StatusCode.UNIMPLEMENTED,
                        f"{method.name} is not marked NO_SIDE_EFFECTS: POST it",
                    )
                data, json_codec = _get_message(request.query, self._limit)
            else:
                data = await request.body(self._limit)
                encoding = request.headers.get("content-encoding", "identity")
                data = _unpacked(data, encoding, self._limit)
            messages = [_decode(data, method, json_codec, self.ignore_unknown_fields)]
            context, responses, _ = await self._start(request, method.name, messages)
            answers = [answer async for answer in responses]
            ending = context.ended or Ending(
                grpc.StatusCode.UNKNOWN, "the call ended without a status"
            )
        except _Refused as refused:
            await reply.connect_error(refused.ending)
            return
        if ending.code != grpc.StatusCode.OK:
            await reply.connect_error(ending, context.initial_metadata)
            return
        if len(answers) != 1:
            await reply.connect_error(
                Ending(
                    grpc.StatusCode.UNIMPLEMENTED,
                    f"{method.name} streams its answer: call it as a stream",
                )
            )
            return
        headers = [
            ("content-type", "application/json" if json_codec else "application/proto")
        ]
        headers += _headers(context.initial_metadata) + _headers(
            ending.trailing, "trailer-"
        )
        await reply.send(200, headers, _encode(answers[0], json_codec))

    async def _connect_stream(
        self, request: Request, method: Method, reply: _Reply
    ) -> None:
        json_codec = request.content_type == "application/connect+json"
        headers = [("content-type", request.content_type)]
        try:
            body = await request.body(MAX_STREAMED_REQUEST_BYTES)
            encoding = request.headers.get("connect-content-encoding")
            messages = [
                _decode(m, method, json_codec, self.ignore_unknown_fields)
                for m in _framed(body, self._limit, encoding)
            ]
            context, responses, _ = await self._start(request, method.name, messages)
        except _Refused as refused:
            await reply.start(200, headers)
            await reply.body(
                webcodec.envelope(CONNECT_END_STREAM, _end_stream(refused.ending)),
                more=False,
            )
            return
        async for answer in reply.streaming(
            200, headers, context, responses, request.receive
        ):
            await reply.body(webcodec.envelope(0, _encode(answer, json_codec)))
        ending = context.ended or Ending(
            grpc.StatusCode.CANCELLED, "the client went away"
        )
        await reply.body(
            webcodec.envelope(CONNECT_END_STREAM, _end_stream(ending)), more=False
        )

    async def _grpc_web(self, request: Request, method: Method, reply: _Reply) -> None:
        text = request.content_type.startswith("application/grpc-web-text")
        json_codec = request.content_type.endswith("+json")
        headers = [("content-type", request.content_type)]

        def framed(flags: int, payload: bytes) -> bytes:
            frame = webcodec.envelope(flags, payload)
            return base64.b64encode(frame) if text else frame

        try:
            body = await request.body(MAX_STREAMED_REQUEST_BYTES)
            if text:
                body = _base64(body, "the grpc-web-text body")
            encoding = request.headers.get("grpc-encoding")
            messages = [
                _decode(m, method, json_codec, self.ignore_unknown_fields)
                for m in _framed(body, self._limit, encoding)
            ]
            context, responses, _ = await self._start(request, method.name, messages)
        except _Refused as refused:
            await reply.start(200, headers)
            await reply.body(
                framed(GRPC_WEB_TRAILERS, _grpc_trailers(refused.ending)), more=False
            )
            return
        async for answer in reply.streaming(
            200, headers, context, responses, request.receive
        ):
            await reply.body(framed(0, _encode(answer, json_codec)))
        ending = context.ended or Ending(
            grpc.StatusCode.CANCELLED, "the client went away"
        )
        await reply.body(framed(GRPC_WEB_TRAILERS, _grpc_trailers(ending)), more=False)

    async def _rest(
        self,
        request: Request,
        binding: webrest.Binding,
        values: dict[str, str],
        reply: _Reply,
    ) -> None:
        try:
            body = await request.body(self._limit)
            try:
                made = webrest.request_of(
                    binding, values, request.query, body, self.ignore_unknown_fields
                )
            except webcodec.BadMessage as error:
                raise _Refused(grpc.StatusCode.INVALID_ARGUMENT, str(error)) from None
            context, responses, handler = await self._start(
                request, binding.method, [made]
            )
            if handler.request_streaming:
                why = f"{binding.method} takes a stream of requests: call it with Connect or gRPC-Web"
                raise _Refused(grpc.StatusCode.UNIMPLEMENTED, why)
        except _Refused as refused:
            await reply.rest_error(refused.ending)
            return
        if (
            handler.response_streaming
        ):  # one JSON object a line, as grpc-gateway streams
            headers = [("content-type", "application/x-ndjson")]
            receive = request.receive
            async for answer in reply.streaming(
                200, headers, context, responses, receive
            ):
                await reply.body(
                    _json_line({"result": webrest.response_of(binding, answer)})
                )
            ending = context.ended or Ending(
                grpc.StatusCode.CANCELLED, "the client went away"
            )
            failed = ending.code != grpc.StatusCode.OK
            await reply.body(
                _json_line({"error": _rest_error(ending)}) if failed else b"",
                more=False,
            )
            return
        answers = [answer async for answer in responses]
        ending = context.ended or Ending(grpc.StatusCode.UNKNOWN, "no status")
        if ending.code != grpc.StatusCode.OK:
            await reply.rest_error(ending, context.initial_metadata)
            return
        headers = [("content-type", "application/json")]
        headers += _headers(context.initial_metadata) + _headers(
            ending.trailing, "trailer-"
        )
        answer = webrest.response_of(binding, answers[0])
        await reply.send(
            200, headers, json.dumps(answer, separators=(",", ":")).encode()
        )

    async def _start(
        self, request: Request, method: str, messages: list[message.Message]
    ) -> tuple[WebContext, AsyncIterator[Any], Handler]:
        """The call's context, its responses and its handler; a call that cannot start is _Refused."""
        metadata = _metadata(request.headers)
        context = WebContext(metadata, request.peer, _timeout(request.headers))
        handler = await self._calls.handler(method, metadata)
        if handler is None:  # an interceptor of yours turned the call away
            raise _Refused(grpc.StatusCode.UNIMPLEMENTED, f"no method {method}")
        if not handler.request_streaming and len(messages) != 1:
            raise _Refused(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"{method} takes one request, not {len(messages)}",
            )
        return context, self._calls.run(handler, messages, context), handler


class _Refused(Exception):
    """A call that ends before its method runs: a bad request, or one no method takes."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.ending = Ending(code, details)


class _Reply:
    """Sends one HTTP response, with the CORS headers its request's origin is allowed."""

    def __init__(self, send: Send, origin: str | None) -> None:
        self._send = send
        self.origin = origin

    async def start(self, status: int, headers: list[tuple[str, str]]) -> None:
        if self.origin is not None:
            names = {name for name, _ in headers}
            exposed = sorted(names - CORS_SAFELISTED | TRAILERS_IN_HEADERS)
            headers = [
                *headers,
                ("access-control-allow-origin", self.origin),
                ("vary", "origin"),
            ]
            headers.append(("access-control-expose-headers", ", ".join(exposed)))
        raw = [
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in headers
        ]
        await self._send(
            {"type": "http.response.start", "status": status, "headers": raw}
        )

    async def body(self, data: bytes, more: bool = True) -> None:
        await self._send(
            {"type": "http.response.body", "body": data, "more_body": more}
        )

    async def send(
        self, status: int, headers: list[tuple[str, str]], data: bytes
    ) -> None:
        """A whole response: its length known, it goes out unchunked."""
        await self.start(status, [*headers, ("content-length", str(len(data)))])
        await self.body(data, more=False)

    async def connect_error(
        self, ending: Ending, initial: Metadata = (), status: int | None = None
    ) -> None:
        headers = [("content-type", "application/json")] + _headers(initial)
        headers += _headers(
            [(k, v) for k, v in ending.trailing if k != STATUS_DETAILS], "trailer-"
        )
        body = json.dumps(_connect_error(ending), separators=(",", ":")).encode()
        status = status or CONNECT_CODES.get(ending.code, ("unknown", 500))[1]
        await self.send(status, headers, body)

    async def rest_error(self, ending: Ending, initial: Metadata = ()) -> None:
        headers = [("content-type", "application/json")] + _headers(initial)
        status = CONNECT_CODES.get(ending.code, ("unknown", 500))[1]
        await self.send(status, headers, _json_line(_rest_error(ending)))

    async def streaming(
        self,
        status: int,
        headers: list[tuple[str, str]],
        context: WebContext,
        responses: AsyncIterator[Any],
        receive: Receive,
    ) -> AsyncIterator[Any]:
        """The responses, the headers sent before the first (they carry the method's initial metadata);
        a client that goes away ends them, and so cancels the call."""
        gone = asyncio.ensure_future(_disconnected(receive))
        started = False
        try:
            while True:
                step = asyncio.ensure_future(responses.__anext__())
                await asyncio.wait((step, gone), return_when=asyncio.FIRST_COMPLETED)
                if not step.done():
                    step.cancel()
                    return
                try:
                    response = step.result()
                except StopAsyncIteration:
                    break
                if not started:
                    await self.start(
                        status, headers + _headers(context.initial_metadata)
                    )
                    started = True
                yield response
            if not started:
                await self.start(status, headers + _headers(context.initial_metadata))
        finally:
            gone.cancel()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _describe(route: str) -> Method | None:
    """`/package.Service/Method` as the protos describe it (its module is imported: its servicer is)."""
    service_name, _, name = route.lstrip("/").partition("/")
    try:
        service = descriptor_pool.Default().FindServiceByName(service_name)
    except KeyError:
        return None
    found = service.methods_by_name.get(name)
    if found is None:
        return None
    level = found.GetOptions().idempotency_level
    no_side_effects = level == descriptor_pb2.MethodOptions.NO_SIDE_EFFECTS
    return Method(
        route, message_factory.GetMessageClass(found.input_type), no_side_effects
    )


def _decode(
    data: bytes, method: Method, json_codec: bool, ignore_unknown: bool
) -> message.Message:
    try:
        if json_codec:
            return webcodec.decode_json(data, method.input, ignore_unknown)
        return webcodec.decode_binary(data, method.input)
    except webcodec.TooLarge as error:
        raise _Refused(grpc.StatusCode.RESOURCE_EXHAUSTED, str(error)) from None
    except webcodec.BadMessage as error:
        raise _Refused(grpc.StatusCode.INVALID_ARGUMENT, str(error)) from None


def _encode(answer: message.Message, json_codec: bool) -> bytes:
    return webcodec.encode_json(answer) if json_codec else answer.SerializeToString()


def _framed(body: bytes, limit: int, encoding: str | None) -> Iterator[bytes]:
    try:
        yield from webcodec.envelopes(
            body, limit, None if encoding == "identity" else encoding
        )
    except webcodec.TooLarge as error:
        raise _Refused(grpc.StatusCode.RESOURCE_EXHAUSTED, str(error)) from None
    except webcodec.BadMessage as error:
        raise _Refused(grpc.StatusCode.INVALID_ARGUMENT, str(error)) from None


def _unpacked(data: bytes, encoding: str, limit: int) -> bytes:
    if encoding == "identity":
        return data
    if encoding != "gzip":
        raise _Refused(
            grpc.StatusCode.UNIMPLEMENTED,
            f"content-encoding {encoding}: send gzip or identity",
        )
    try:
        return webcodec.gunzip(data, limit)
    except webcodec.TooLarge as error:
        raise _Refused(grpc.StatusCode.RESOURCE_EXHAUSTED, str(error)) from None
    except webcodec.BadMessage as error:
        raise _Refused(grpc.StatusCode.INVALID_ARGUMENT, str(error)) from None


def _get_message(query: str, limit: int) -> tuple[bytes, bool]:
    """The message of a Connect GET (`?message=...&encoding=json&base64=1`), and whether it is JSON."""
    fields = {
        key: values[-1]
        for key, values in parse_qs(query, keep_blank_values=True).items()
    }
    encoding = fields.get("encoding")
    if encoding not in ("json", "proto"):
        raise _Refused(
            grpc.StatusCode.INVALID_ARGUMENT,
            "a GET needs ?encoding=json or ?encoding=proto",
        )
    text = fields.get("message", "")
    data = (
        _base64(text.encode(), "?message")
        if fields.get("base64") == "1"
        else text.encode("utf-8", "surrogateescape")
    )
    return _unpacked(
        data, fields.get("compression", "identity"), limit
    ), encoding == "json"


def _base64(data: bytes, what: str) -> bytes:
    """Standard or URL-safe base64, padded or not (gRPC-Web text may pad between frames)."""
    try:
        chunks = re.findall(rb"[^=]+=*", data.replace(b"-", b"+").replace(b"_", b"/"))
        return b"".join(
            base64.b64decode(chunk + b"=" * (-len(chunk) % 4)) for chunk in chunks
        )
    except (binascii.Error, ValueError):
        raise _Refused(
            grpc.StatusCode.INVALID_ARGUMENT, f"{what} is not base64"
        ) from None


def _metadata(headers: dict[str, str]) -> Metadata:
    pairs: list[tuple[str, str | bytes]] = []
    for name, value in headers.items():
        if name in PROTOCOL_HEADERS or name.startswith(
            ("sec-", ":", "grpc-", "connect-")
        ):
            continue
        pairs.append(
            (
                name,
                _base64(value.encode("latin-1"), name)
                if name.endswith("-bin")
                else value,
            )
        )
    return tuple(pairs)


def _headers(
    metadata: Iterable[tuple[str, str | bytes]], prefix: str = ""
) -> list[tuple[str, str]]:
    return [
        (
            prefix + key,
            base64.b64encode(value).decode() if isinstance(value, bytes) else value,
        )
        for key, value in metadata
    ]


def _timeout(headers: dict[str, str]) -> float | None:
    """The call's deadline, in seconds from now, from Connect's or gRPC's header."""
    connect = headers.get("connect-timeout-ms")
    if connect is not None:
        if not re.fullmatch(r"\d{1,10}", connect):
            raise _Refused(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"connect-timeout-ms: {connect!r} is not milliseconds",
            )
        return int(connect) / 1000
    grpc_timeout = headers.get("grpc-timeout")
    if grpc_timeout is not None:
        match = re.fullmatch(r"(\d{1,8})([HMSmun])", grpc_timeout)
        if match is None:
            raise _Refused(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"grpc-timeout: {grpc_timeout!r} is not a gRPC timeout",
            )
        return int(match[1]) * _TIMEOUT_UNITS[match[2]]
    return None


def _connect_error(ending: Ending) -> dict[str, Any]:
    error: dict[str, Any] = {
        "code": CONNECT_CODES.get(ending.code, ("unknown", 500))[0]
    }
    if ending.details:
        error["message"] = ending.details
    details = _error_details(ending.trailing)
    if details:
        error["details"] = details
    return error


def _error_details(trailing: Metadata) -> list[dict[str, str]]:
    """The rich error details a method sent (grpc_status.rpc_status), as Connect lists them."""
    packed = next(
        (v for k, v in trailing if k == STATUS_DETAILS and isinstance(v, bytes)), None
    )
    if packed is None:
        return []
    try:  # googleapis-common-protos: there when the method could send details
        status = importlib.import_module("google.rpc.status_pb2").Status.FromString(
            packed
        )
    except (ImportError, message.DecodeError):
        return []
    unpadded = (base64.b64encode(d.value).decode().rstrip("=") for d in status.details)
    return [
        {"type": d.type_url.rpartition("/")[2], "value": v}
        for d, v in zip(status.details, unpadded, strict=False)
    ]


def _speaks_rpc(request: Request) -> bool:
    """Whether the request is a Connect or gRPC-Web call, not one of a REST route."""
    if request.method == "GET":
        return "encoding=" in request.query
    kinds = (
        "application/json",
        "application/proto",
        "application/connect+",
        "application/grpc-web",
    )
    return request.method == "POST" and request.content_type.startswith(kinds)


def _rest_error(ending: Ending) -> dict[str, Any]:
    """A failed REST call's body: google.rpc.Status in JSON, as grpc-gateway answers."""
    error: dict[str, Any] = {"code": ending.code.value[0], "message": ending.details}
    details = _error_details(ending.trailing)
    if details:
        error["details"] = details
    return error


def _json_line(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode() + b"\n"


def _end_stream(ending: Ending) -> bytes:
    """The last message of a Connect stream: the error, if any, and the trailers."""
    end: dict[str, Any] = {}
    if ending.code != grpc.StatusCode.OK:
        end["error"] = _connect_error(ending)
    trailers: dict[str, list[str]] = {}
    for key, value in _headers(
        [(k, v) for k, v in ending.trailing if k != STATUS_DETAILS]
    ):
        trailers.setdefault(key, []).append(value)
    if trailers:
        end["metadata"] = trailers
    return json.dumps(end, separators=(",", ":")).encode()


def _grpc_trailers(ending: Ending) -> bytes:
    """The trailers frame of a gRPC-Web response: status, message, then the method's trailers."""
    lines = [f"grpc-status:{ending.code.value[0]}"]
    if ending.details:
        lines.append(f"grpc-message:{_percent_encoded(ending.details)}")
    lines += [f"{key}:{value}" for key, value in _headers(ending.trailing)]
    return "".join(line + "\r\n" for line in lines).encode()


def _percent_encoded(text: str) -> str:
    """grpc-message as gRPC sends it: printable ASCII as is, but for '%', the rest percent-encoded."""
    return "".join(
        c if " " <= c <= "~" and c != "%" else quote(c, safe="") for c in text
    )


async def _lifespan(receive: Receive, send: Send) -> None:
    """Start-up and shutdown need nothing: the servicers exist before the app does."""
    while True:
        event = await receive()
        if event["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif event["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class HttpServer:
    """uvicorn serving an app on a socket bound first, so that a busy port is a BindError at once."""

    def __init__(self, app: WebApp, host: str, port: int, grace_seconds: float) -> None:
        self.socket = _bind(host, port)
        self.port: int = self.socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,  # the access log of the calls logs them
            ws="none",
            timeout_graceful_shutdown=int(grace_seconds) or None,
        )
        self._server = _QuietUvicorn(config)
        self._thread = threading.Thread(target=self._serve, name="web", daemon=True)

    def _serve(self) -> None:
        asyncio.run(self._server.serve(sockets=[self.socket]))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stops accepting connections and lets calls in flight finish, within the grace time."""
        self._server.should_exit = True
        self._thread.join()


class _QuietUvicorn(uvicorn.Server):
    """uvicorn that leaves signals alone: `serving.serve` stops it with the gRPC server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    address = host.strip("[]")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    both = family == socket.AF_INET6 and address == "::" and socket.has_dualstack_ipv6()
    try:
        bound = socket.create_server(
            (address, port), family=family, dualstack_ipv6=both
        )
    except OSError as error:
        # create_server adds the address to strerror; the errno's own words say it once.
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise serving.BindError(f"web: cannot bind {host}:{port}: {reason}") from None
    # Connections inherit it: a response's head and body go out at once, not 40 ms apart
    # (Nagle's algorithm waiting on the client's delayed ACK of a kept-alive connection).
    bound.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return bound
