"""`scaffold call --protocol connect|grpc-web|http`: the same call over a `web = true` server's HTTP port.

What the call sends and prints is what `scaffold.live.call` sends and prints over gRPC;
only the transport differs, so the three can be compared line for line:
- `connect`: the Connect protocol in protobuf's binary form (a unary POST, or framed
  streams);
- `grpc-web`: `application/grpc-web+proto`, the status in the trailers frame;
- `http`: the method's REST route (`google.api.http`): the request's fields fill the
  path's variables, then the body (`body: "*"` or a field), the rest the query string.
A failure is a `WebCallError` with the status the server sent, told in one line as for gRPC.
Requests are sent whole (HTTP/1.1): a request stream is read to its end first.
"""

from __future__ import annotations

import base64
import http.client
import json
import math
import re
import socket
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO
from urllib.parse import quote, unquote, urlencode

import grpc
from google.protobuf import json_format, message

from scaffold.core.errors import fail
from scaffold.generation import httprules
from scaffold.live import details
from scaffold.live.call import Options
from scaffold.live.methods import Method
from scaffold.live.request import decoded, parse
from scaffold.live.request import requests as read_requests

PROTOCOLS = ("grpc", "connect", "grpc-web", "http")
# Each status by its number (gRPC-Web, REST) and by Connect's name for it.
_GRPC_CODES = {code.value[0]: code.name for code in grpc.StatusCode}
_CONNECT_CODES = {code.name.lower().replace("cancelled", "canceled"): code.name for code in grpc.StatusCode}


class WebCallError(Exception):
    """The status a web call ended with, named as gRPC names it."""

    def __init__(self, code: str, details: str, violations: Sequence[str] = ()) -> None:
        super().__init__(f"{code}: {details}")
        self.code, self.details = code, details
        self.violations = tuple(violations)
        """The lines of the call's rich error details (`scaffold.live.details`)."""


def invoke(method: Method, data: BinaryIO | str, options: Options, protocol: str, origin: str = "-d") -> None:
    """Call `method` over `protocol` at `options.target` (the HTTP port) with the requests in `data`, each
    checked before anything is sent, and print each response as `scaffold.live.call.invoke` prints it;
    the call's failure raises WebCallError."""
    if options.timeout is not None and not 0 < options.timeout < math.inf:
        raise fail("--timeout", f"{options.timeout}: a deadline is a positive number of seconds")
    text = data if isinstance(data, str) else decoded(data.read(), origin)
    if method.client_streaming:
        requests = list(read_requests(text, method.request, origin))
    else:
        requests = [parse(text, method.request, origin)]
    host, _, port = options.target.rpartition(":")
    connection = http.client.HTTPConnection(host.strip("[]") or "localhost", int(port), timeout=options.timeout or 60)
    headers = {key.lower(): _value(value) for key, value in options.metadata}
    if protocol == "http":
        _rule(method)  # a method without a REST route: said before connecting
    try:
        connection.connect()
    except OSError as error:
        raise WebCallError("UNAVAILABLE", f"{options.target}: {error.strerror or error}") from None
    # http.client writes the headers and the body apart: without NODELAY the body waits for an ACK (40 ms).
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if options.timeout is not None:
        headers["connect-timeout-ms" if protocol == "connect" else "grpc-timeout"] = (
            str(int(options.timeout * 1000)) if protocol == "connect" else f"{int(options.timeout * 1000)}m"
        )
    try:
        if protocol == "http":
            answers = _http(connection, method, requests[0], headers)
        else:
            answers = _framed(connection, method, requests, headers, protocol)
        for answer in answers:
            options.out(
                json_format.MessageToJson(
                    answer, indent=None, always_print_fields_with_no_presence=options.emit_defaults
                )
            )
    except (OSError, http.client.HTTPException) as error:
        raise WebCallError("UNAVAILABLE", f"{options.target}: {error}") from None
    finally:
        connection.close()


def _framed(
    connection: http.client.HTTPConnection,
    method: Method,
    requests: list[message.Message],
    headers: dict[str, str],
    protocol: str,
) -> Iterator[message.Message]:
    streams = method.client_streaming or method.server_streaming
    if protocol == "connect" and not streams:
        connection.request(
            "POST", method.path, requests[0].SerializeToString(), {**headers, "content-type": "application/proto"}
        )
        answer = connection.getresponse()
        body = answer.read()
        if answer.status != 200:
            raise _connect_error(_json(body))
        yield method.response.FromString(body)
        return
    kind = "application/connect+proto" if protocol == "connect" else "application/grpc-web+proto"
    body = b"".join(_envelope(0, request.SerializeToString()) for request in requests)
    connection.request("POST", method.path, body, {**headers, "content-type": kind})
    answer = connection.getresponse()
    if answer.status != 200:
        raise WebCallError(
            "UNKNOWN" if answer.status != 404 else "UNIMPLEMENTED", f"HTTP {answer.status} {answer.reason}"
        )
    data = answer.read()
    trailers = {key.lower(): value for key, value in answer.getheaders()}
    for flags, payload in _frames(data):
        if protocol == "connect" and flags & 0x02:
            ended = _json(payload).get("error")
            if ended:
                raise _connect_error(ended)
            return
        if protocol == "grpc-web" and flags & 0x80:
            trailers = _trailers(payload)
            break
        yield method.response.FromString(payload)
    if protocol == "grpc-web":
        status = int(trailers.get("grpc-status", "2"))
        if status != 0:
            code = _GRPC_CODES.get(status, "UNKNOWN")
            violations = details.from_trailers(trailers.items())
            raise WebCallError(code, unquote(trailers.get("grpc-message", "")), violations)


def _http(
    connection: http.client.HTTPConnection, method: Method, request: message.Message, headers: dict[str, str]
) -> Iterator[message.Message]:
    rule = _rule(method)
    kind = rule.WhichOneof("pattern")
    verb = rule.custom.kind.upper() if kind == "custom" else kind.upper()
    fields = json_format.MessageToDict(request, preserving_proto_field_name=True)
    path = _filled(httprules.rule_template(rule), fields)
    body: bytes | None = None
    if rule.body == "*":
        body, fields = json.dumps(fields).encode(), {}
    elif rule.body:
        body = json.dumps(fields.pop(rule.body, {})).encode()
    query = urlencode(list(_flattened(fields)), doseq=True)
    connection.request(
        verb, path + (f"?{query}" if query else ""), body, {**headers, "content-type": "application/json"}
    )
    answer = connection.getresponse()
    text = answer.read()
    if answer.status != 200:
        error = _json(text)
        code = error.get("code", 2)
        raise WebCallError(
            _GRPC_CODES[code] if isinstance(code, int) and code < len(_GRPC_CODES) else "UNKNOWN",
            error.get("message", ""),
            details.from_connect(error.get("details")),
        )
    for line in text.splitlines() if method.server_streaming else [text]:
        value = _json(line) if method.server_streaming else _any_json(line)
        if method.server_streaming and "error" in value:
            error = value["error"]
            raise WebCallError(_GRPC_CODES.get(error.get("code"), "UNKNOWN"), error.get("message", ""))
        if method.server_streaming:
            value = value.get("result", {})
        if rule.response_body:
            value = {rule.response_body: value}
        yield json_format.ParseDict(value, method.response(), ignore_unknown_fields=True)


def _rule(method: Method) -> Any:
    """The method's (first) REST rule; a method without one is a located error, before anything is sent."""
    rules = httprules.rules_in_options(method.descriptor.GetOptions().SerializeToString())
    if not rules or rules[0].WhichOneof("pattern") is None:
        raise fail(method.path, "has no REST route (google.api.http): call it with --protocol connect or grpc-web")
    return rules[0]


def _filled(template: str, fields: dict[str, Any]) -> str:
    """The template with each variable's field taken out of `fields`; a missing one is an error."""

    def take(found: re.Match[str]) -> str:
        name, _, inner = found.group(1).partition("=")
        path = name.strip().split(".")
        holder = fields
        for part in path[:-1]:
            holder = holder.get(part, {})
        value = holder.pop(path[-1], None)
        if value in (None, ""):
            raise fail(template, f"the request's {name.strip()} fills this path: set it")
        return quote(str(value), safe="/" if inner and inner != "*" else "")

    return re.sub(r"\{([^}]*)\}", take, template)


def _flattened(fields: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in fields.items():
        if isinstance(value, dict):
            yield from _flattened(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _connect_error(error: dict[str, Any]) -> WebCallError:
    code = _CONNECT_CODES.get(error.get("code", ""), "UNKNOWN")
    return WebCallError(code, error.get("message", ""), details.from_connect(error.get("details")))


def _envelope(flags: int, payload: bytes) -> bytes:
    return bytes([flags]) + len(payload).to_bytes(4, "big") + payload


def _frames(data: bytes) -> Iterator[tuple[int, bytes]]:
    offset = 0
    while offset + 5 <= len(data):
        size = int.from_bytes(data[offset + 1 : offset + 5], "big")
        yield data[offset], data[offset + 5 : offset + 5 + size]
        offset += 5 + size


def _trailers(payload: bytes) -> dict[str, str]:
    pairs = (line.partition(":") for line in payload.decode("latin-1").split("\r\n") if line)
    return {key.strip().lower(): value.strip() for key, _, value in pairs}


def _any_json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        raise WebCallError("UNKNOWN", f"the server answered what is not JSON: {data[:200]!r}") from None


def _json(data: bytes) -> dict[str, Any]:
    value = _any_json(data)
    if not isinstance(value, dict):
        raise WebCallError("UNKNOWN", f"the server answered {value!r}")
    return value


def _value(value: str | bytes) -> str:
    return base64.b64encode(value).decode() if isinstance(value, bytes) else value
