"""buf's rules on the RPCs two sides share: streaming, request and response types, idempotency level."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

from google.protobuf import descriptor_pb2

from scaffold.breaking.protosource import Method, Side
from scaffold.breaking.rulebook import RULES, Break, Rule, _break, _enum_name, _methods, _subject


def _rpc_rule(rule: str, purpose: str) -> Callable[[Callable[[Method, Method], Iterator[Break]]], None]:
    def register(check: Callable[[Method, Method], Iterator[Break]]) -> None:
        def over_pairs(current: Side, previous: Side) -> Iterator[Break]:
            for method, old in _methods(current, previous):
                yield from check(method, old)

        RULES[rule] = Rule(rule, ("CSR", "FILE", "PACKAGE", "WIRE_JSON", "WIRE"), purpose, over_pairs)

    return register


def _rpc(method: Method) -> str:
    return f"RPC {method.service.full_name}.{method.name}"


@_rpc_rule("RPC_SAME_CLIENT_STREAMING", "an RPC keeps its client streaming")
def _rpc_same_client_streaming(method: Method, old: Method) -> Iterator[Break]:
    if method.proto.client_streaming != old.proto.client_streaming:
        how = "now streams" if method.proto.client_streaming else "no longer streams"
        text = f"{_rpc(method)} {how} its requests"
        yield _break(
            "RPC_SAME_CLIENT_STREAMING", text, _subject(method), method.location, old.location, method.file.name
        )


@_rpc_rule("RPC_SAME_SERVER_STREAMING", "an RPC keeps its server streaming")
def _rpc_same_server_streaming(method: Method, old: Method) -> Iterator[Break]:
    if method.proto.server_streaming != old.proto.server_streaming:
        how = "now streams" if method.proto.server_streaming else "no longer streams"
        text = f"{_rpc(method)} {how} its responses"
        yield _break(
            "RPC_SAME_SERVER_STREAMING", text, _subject(method), method.location, old.location, method.file.name
        )


@_rpc_rule("RPC_SAME_REQUEST_TYPE", "an RPC keeps its request type")
def _rpc_same_request_type(method: Method, old: Method) -> Iterator[Break]:
    if method.proto.input_type != old.proto.input_type:
        text = f"{_rpc(method)} changed request type from {old.proto.input_type.lstrip('.')} to {method.proto.input_type.lstrip('.')}"
        yield _break("RPC_SAME_REQUEST_TYPE", text, _subject(method), method.at(2), old.at(2), method.file.name)


@_rpc_rule("RPC_SAME_RESPONSE_TYPE", "an RPC keeps its response type")
def _rpc_same_response_type(method: Method, old: Method) -> Iterator[Break]:
    if method.proto.output_type != old.proto.output_type:
        text = f"{_rpc(method)} changed response type from {old.proto.output_type.lstrip('.')} to {method.proto.output_type.lstrip('.')}"
        yield _break("RPC_SAME_RESPONSE_TYPE", text, _subject(method), method.at(3), old.at(3), method.file.name)


@_rpc_rule("RPC_SAME_IDEMPOTENCY_LEVEL", "an RPC keeps its idempotency_level")
def _rpc_same_idempotency_level(method: Method, old: Method) -> Iterator[Break]:
    before, now = old.options.idempotency_level, method.options.idempotency_level
    if before != now:
        names = functools.partial(_enum_name, descriptor_pb2.MethodOptions.IdempotencyLevel)
        text = f"{_rpc(method)} changed idempotency_level from {names(before)} to {names(now)}"
        yield _break(
            "RPC_SAME_IDEMPOTENCY_LEVEL", text, _subject(method), method.at(4, 34), old.at(4, 34), method.file.name
        )
