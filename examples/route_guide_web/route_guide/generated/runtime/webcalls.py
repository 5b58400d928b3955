"""Runs a web call through the very handler a gRPC call of the same method gets.

`Registry` is what `add_services` fills for the web: it keeps each method's handler,
and, beside a grpc server (`serving_also`), registers with that server too, so web
and gRPC calls reach the same servicer instances. A call passes the same
interceptors, outermost first, with a `WebContext` that answers what a servicer
asks of grpc's context (metadata, deadline, abort, status, trailers); the status
the call ends with comes back as an `Ending` for the protocol to encode.
Methods run on a thread pool, as grpc's server runs them.

scaffold rewrites this module on every `scaffold gen`: do not edit it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import (
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from concurrent import futures
from dataclasses import dataclass
from typing import Any, NoReturn, TypeAlias

import grpc

Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
Metadata: TypeAlias = "tuple[tuple[str, str | bytes], ...]"
MetadataIn: TypeAlias = Metadata
Resolve: TypeAlias = "Callable[[grpc.HandlerCallDetails], Handler | None]"
# Responses a method may run ahead of the client by before it waits.
BUFFERED_RESPONSES = 16
LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ending:
    """How a call ended: its status, and the trailing metadata the method set."""

    code: grpc.StatusCode
    details: str
    trailing: Metadata = ()


class CallDetails(grpc.HandlerCallDetails):
    """What interceptors are told of a call before it runs: the method and the request's metadata."""

    def __init__(self, method: str, invocation_metadata: Metadata) -> None:
        self.method = method
        self.invocation_metadata = invocation_metadata


class Registry(grpc.Server):
    """The services `add_services` registers, found by method name (`/package.Service/Method`)."""

    def __init__(self) -> None:
        self._registered: dict[str, Handler] = {}
        self._generic: list[grpc.GenericRpcHandler] = []
        self._server: grpc.Server | None = None

    def serving_also(
        self, add_services: Callable[[grpc.Server], None]
    ) -> Callable[[grpc.Server], None]:
        """`add_services`, registering each servicer here as well as with the server it is given."""

        def add_to_both(server: grpc.Server) -> None:
            self._server = server
            try:
                add_services(self)
            finally:
                self._server = None

        return add_to_both

    def find(self, method: str) -> Handler | None:
        handler = self._registered.get(method)
        if handler is None:
            details = CallDetails(method, ())
            handler = next(
                (h for g in self._generic if (h := g.service(details)) is not None),
                None,
            )
        return handler

    @property
    def methods(self) -> list[str]:
        return sorted(self._registered)

    def add_generic_rpc_handlers(
        self, generic_rpc_handlers: Iterable[grpc.GenericRpcHandler]
    ) -> None:
        generic_rpc_handlers = tuple(generic_rpc_handlers)
        self._generic.extend(generic_rpc_handlers)
        if self._server is not None:
            self._server.add_generic_rpc_handlers(generic_rpc_handlers)

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: Mapping[str, Handler]
    ) -> None:
        for name, handler in method_handlers.items():
            self._registered[f"/{service_name}/{name}"] = handler
        if self._server is not None:
            self._server.add_registered_method_handlers(service_name, method_handlers)

    def add_insecure_port(self, address: str) -> int:
        raise NotImplementedError("a web registry binds no gRPC port")

    def add_secure_port(
        self, address: str, server_credentials: grpc.ServerCredentials
    ) -> int:
        raise NotImplementedError("a web registry binds no gRPC port")

    def start(self) -> None:
        raise NotImplementedError("a web registry is served by the web app")

    def stop(self, grace: float | None) -> threading.Event:
        raise NotImplementedError("a web registry is served by the web app")


class WebContext(grpc.ServicerContext):
    """grpc's servicer context, for a call that came over HTTP."""

    def __init__(self, metadata: Metadata, peer: str, timeout: float | None) -> None:
        self._metadata = metadata
        self._peer = peer
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._code: grpc.StatusCode | None = None
        self._details: str | None = None
        self._trailing: Metadata = ()
        self._cancelled = False
        self.initial_metadata: Metadata = ()
        self.ended: Ending | None = None
        # What runs once the call is over (None: it is, and they ran).
        self._callbacks: list[Callable[[], None]] | None = []
        self._closing = threading.Lock()

    def invocation_metadata(self) -> Metadata:
        return self._metadata

    def peer(self) -> str:
        return self._peer

    def peer_identities(self) -> None:
        return None

    def peer_identity_key(self) -> None:
        return None

    def auth_context(self) -> Mapping[str, bytes]:
        return {}

    def set_compression(self, compression: grpc.Compression) -> None:
        """Web responses go out uncompressed."""

    def disable_next_message_compression(self) -> None:
        """Web responses go out uncompressed."""

    def send_initial_metadata(self, initial_metadata: MetadataIn) -> None:
        self.initial_metadata = tuple(initial_metadata)

    def set_trailing_metadata(self, trailing_metadata: MetadataIn) -> None:
        self._trailing = tuple(trailing_metadata)

    def trailing_metadata(self) -> Metadata:
        return self._trailing

    def abort(
        self,
        code: grpc.StatusCode,
        details: str = "",
        trailing_metadata: MetadataIn = (),
    ) -> NoReturn:
        if trailing_metadata:
            self._trailing = tuple(trailing_metadata)
        # As grpc does: OK is no status to abort with.
        self._code = grpc.StatusCode.UNKNOWN if code == grpc.StatusCode.OK else code
        self._details = details
        raise CallAborted(details)

    def abort_with_status(self, status: grpc.Status) -> NoReturn:
        self.abort(status.code, status.details, status.trailing_metadata)

    def set_code(self, code: grpc.StatusCode) -> None:
        self._code = code

    def set_details(self, details: str) -> None:
        self._details = details

    def code(self) -> grpc.StatusCode | None:
        return self._code

    def details(self) -> str | None:
        return self._details

    # grpc's answers None when the call has no deadline; types-grpcio says float.
    def time_remaining(self) -> float | None:  # type: ignore[override]
        return (
            None
            if self._deadline is None
            else max(0.0, self._deadline - time.monotonic())
        )

    def expired(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def is_active(self) -> bool:
        return not self._cancelled and not self.expired()

    def add_callback(self, callback: Callable[[], None]) -> bool:
        with self._closing:
            if self._callbacks is None:
                return False  # as grpc answers once a call is over
            self._callbacks.append(callback)
            return True

    def cancel(self) -> bool:
        """The client went away, or the deadline passed: the method is told, as grpc tells it."""
        self._cancelled = True
        self.close()
        return True

    def close(self) -> None:
        """The call is over: what waits for that runs, once."""
        with self._closing:
            callbacks, self._callbacks = self._callbacks or [], None
        for callback in callbacks:
            try:
                callback()
            except Exception:  # as grpc does: logged, and the others still run
                LOGGER.exception("a callback of a finished web call failed")

    def ending(self, error: BaseException | None) -> Ending:
        """The status of the call, from what the method set and what it raised."""
        code, details = self._code, self._details or ""
        if code is None or code == grpc.StatusCode.OK:
            if self.expired():
                code, details = grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"
            elif (
                error is not None
            ):  # grpc answers an exception no one mapped the same way
                code, details = (
                    grpc.StatusCode.UNKNOWN,
                    f"Exception calling application: {error}",
                )
            else:
                code = grpc.StatusCode.OK
        return Ending(code, details, self._trailing)


class CallAborted(Exception):
    """What `WebContext.abort` raises to end the method, as grpc's own context does."""


class Calls:
    """Finds each web call's handler through the interceptors, and runs it."""

    def __init__(
        self,
        registry: Registry,
        interceptors: Sequence[grpc.ServerInterceptor],
        max_workers: int,
    ) -> None:
        self.registry = registry
        self._interceptors = tuple(interceptors)
        self._resolve = self._continuation(0)
        self._executor = futures.ThreadPoolExecutor(
            max_workers, thread_name_prefix="web-call"
        )

    async def handler(self, method: str, metadata: Metadata) -> Handler | None:
        """The handler a gRPC call of `method` with `metadata` would get, each interceptor applied."""
        return self._resolve(CallDetails(method, metadata))

    def _continuation(self, index: int) -> Resolve:
        """What the interceptor at `index` calls to go on: the next one, or the registry after the last."""
        if index == len(self._interceptors):
            return lambda details: self.registry.find(details.method)
        interceptor, following = (
            self._interceptors[index],
            self._continuation(index + 1),
        )
        return lambda details: interceptor.intercept_service(following, details)

    async def run(
        self, handler: Handler, requests: list[Any], context: WebContext
    ) -> AsyncIterator[Any]:
        """The call's responses as the method makes them; `context.ended` says how it ended.

        A deadline that passes, or a client that stops reading, cancels the method as grpc
        would: its context turns inactive."""
        queue: asyncio.Queue[Any] = asyncio.Queue()
        credits = threading.Semaphore(BUFFERED_RESPONSES)
        loop = asyncio.get_running_loop()

        def put(item: Any) -> bool:
            credits.acquire()
            if not context.is_active():
                return False
            loop.call_soon_threadsafe(queue.put_nowait, item)
            return True

        def end(ending: Ending) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, ending)

        self._executor.submit(_produce, handler, requests, context, put, end)
        try:
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), context.time_remaining())
                except asyncio.TimeoutError:
                    context.ended = context.ending(None)
                    return
                if isinstance(item, Ending):
                    context.ended = item
                    return
                credits.release()
                yield item
        finally:
            if context.ended is None:
                context.cancel()
            credits.release()  # a method waiting to hand over a response sees the call is over


def _behavior(handler: Handler) -> Callable[..., Any]:
    """The method behind `handler`, whichever of the four shapes it has."""
    behavior: Callable[..., Any] | None
    if handler.request_streaming:
        behavior = (
            handler.stream_stream
            if handler.response_streaming
            else handler.stream_unary
        )
    else:
        behavior = (
            handler.unary_stream if handler.response_streaming else handler.unary_unary
        )
    assert behavior is not None
    return behavior


def _produce(
    handler: Handler,
    requests: list[Any],
    context: WebContext,
    put: Callable[[Any], bool],
    end: Callable[[Ending], None],
) -> None:
    """Runs the method on a worker thread, handing over each response, then how it ended."""
    error: BaseException | None = None
    request: Any = iter(requests) if handler.request_streaming else requests[0]
    try:
        if handler.response_streaming:
            responses: Iterator[Any] = _behavior(handler)(request, context)
            for response in responses:
                if not put(response):
                    getattr(
                        responses, "close", lambda: None
                    )()  # the method sees GeneratorExit
                    break
        else:
            put(_behavior(handler)(request, context))
    except BaseException as caught:  # noqa: BLE001 - its status is the answer
        error = caught
    try:
        end(context.ending(error))
    finally:
        context.close()  # here, on the method's thread: never holding up the event loop
