"""What every call to the server goes through, outermost first.

`ObserveCalls` times each call and counts its messages, then hands what it saw
to observers: `AccessLog` (one line per call).
They hear of a call once its status has gone out, on a thread of their own:
what they do costs the client no time.
`MapErrors` turns an exception a method did not expect into INTERNAL with a
short message that leaks nothing, and logs its traceback once, naming the
method; a status the method chose (`context.abort`, `context.set_code`) and
the status of a failed gRPC call it made itself pass through unchanged.
Your own interceptors go in `INTERCEPTORS` of `route_guide.server`: they
run inside these, so the access log sees the status they end a call with.

scaffold rewrites this module on every `scaffold gen`: do not edit it.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TypeAlias
from urllib.parse import unquote

import grpc

from route_guide.generated.runtime import logs

ACCESS_LOGGER = logging.getLogger("route_guide.access")
# A client whose deadline passes cancels the call itself, and that can reach the server a moment
# before the server's own clock says the deadline passed: within this much, it was the deadline.
DEADLINE_SLACK_SECONDS = 0.05
ERROR_LOGGER = logging.getLogger("route_guide.errors")
INTERNAL_ERROR_DETAILS = "internal server error"

# Strings: grpc's classes take no type arguments at run time.
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
Context: TypeAlias = "grpc.ServicerContext"
Behavior: TypeAlias = Callable[..., Any]


@dataclass(frozen=True)
class FinishedCall:
    """One call as the observers see it once it has ended."""

    method: str  # "/package.Service/Method"
    shape: str  # "unary", "client_stream", "server_stream" or "bidi_stream"
    code: grpc.StatusCode
    seconds: float
    peer: str
    requests: int
    responses: int


Observer = Callable[[FinishedCall], None]


class AccessLog:
    """Logs one line per call on the `route_guide.access` logger; with `json`, the call's fields
    go in the JSON line too (`logs.JsonLines`)."""

    def __init__(
        self, log_format: str = "text", logger: logging.Logger = ACCESS_LOGGER
    ) -> None:
        self._json = log_format == "json"
        self._logger = logger

    def __call__(self, call: FinishedCall) -> None:
        if not self._logger.isEnabledFor(logging.INFO):
            return
        message = (
            f"{call.method} {call.code.name} {call.seconds * 1000:.1f}ms "
            f"peer={call.peer} requests={call.requests} responses={call.responses}"
        )
        fields = dict(vars(call), code=call.code.name) if self._json else {}
        self._logger.handle(logs.record(self._logger, message, **fields))


def server_interceptors(
    access_log: bool = True,
    log_format: str = "text",
    error_mapping: bool = True,
) -> list[grpc.ServerInterceptor]:
    """scaffold's interceptors, outermost first: what observes each call, then the error mapping."""
    observers: list[Observer] = [AccessLog(log_format)] if access_log else []
    chain: list[grpc.ServerInterceptor] = []
    if observers:
        chain.append(ObserveCalls(observers))
    if error_mapping:
        chain.append(MapErrors())
    return chain


def _shape(handler: Handler) -> str:
    if handler.request_streaming:
        return "bidi_stream" if handler.response_streaming else "client_stream"
    return "server_stream" if handler.response_streaming else "unary"


def _rebuild(handler: Handler, wrap: Callable[[Behavior], Behavior]) -> Handler:
    """The same handler, its behaviour (whichever of the four shapes it has) wrapped by `wrap`."""
    if handler.request_streaming and handler.response_streaming:
        factory, behavior = grpc.stream_stream_rpc_method_handler, handler.stream_stream
    elif handler.request_streaming:
        factory, behavior = grpc.stream_unary_rpc_method_handler, handler.stream_unary
    elif handler.response_streaming:
        factory, behavior = grpc.unary_stream_rpc_method_handler, handler.unary_stream
    else:
        factory, behavior = grpc.unary_unary_rpc_method_handler, handler.unary_unary
    assert behavior is not None
    serializers = handler.request_deserializer, handler.response_serializer
    return factory(wrap(behavior), *serializers)


class _Later:
    """The thread that tells the observers of each call, in the order the calls ended.

    grpc runs a call's callbacks on the one thread that handles every call's
    events: the observers' work there held the next calls up (0.85x the
    throughput with the access log on, 0.92x when the method's thread did it
    before the answer went out); here it costs neither.
    """

    # Past this many waiting (an observer stuck: a full pipe, a collector gone), a call goes
    # untold and is counted, as an exporter's full queue drops spans: grpc's thread, which
    # hands the calls over, must never wait on an observer, or the whole server would.
    MOST_WAITING = 10_000

    def __init__(self) -> None:
        self._start_afresh()
        # A forked child starts with none waiting: its parent tells the calls it handed over.
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._start_afresh)

    def _start_afresh(self) -> None:
        self._waiting: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._untold = 0

    def put(self, tell: Callable[[], None]) -> None:
        if self._waiting.qsize() >= self.MOST_WAITING:
            with self._lock:
                self._untold += 1
            return
        self._waiting.put(tell)
        if self._thread is None:
            self._start()

    def flush(self, timeout: float = 10.0) -> None:
        """Returns once the observers have heard of every call that ended before (at exit, too)."""
        if self._thread is None or self._thread is threading.current_thread():
            return
        told = threading.Event()
        self._waiting.put(told.set)
        told.wait(timeout)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="call-observers", daemon=True
                )
                self._thread.start()
                # Registered now, after the telemetry's providers (made before the first
                # call): exit handlers run last first, so the calls are told before those
                # shut down.
                atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            tell = self._waiting.get()
            try:
                tell()
            except Exception:  # one observer's failure is no call's: logged, and on
                ERROR_LOGGER.exception("an observer of a finished call failed")
            with self._lock:
                untold, self._untold = self._untold, 0
            if untold:
                ERROR_LOGGER.warning("%d calls went untold: observers behind", untold)


_LATER = _Later()


def flush_observers(timeout: float = 10.0) -> None:
    """Returns once the observers (access log, metrics, spans) have heard of every call that
    has ended: a test reads what they wrote after stopping its server."""
    _LATER.flush(timeout)


def _code_of(context: Context) -> grpc.StatusCode | None:
    """The status the method set (`set_code`, `abort`), None if it set none.

    grpc has had `ServicerContext.code()` since 1.38; types-grpcio does not declare it.
    """
    code: grpc.StatusCode | None = getattr(context, "code")()  # noqa: B009
    return code


class _Call:
    """The bookkeeping of one call: when it started and how many messages went each way."""

    def __init__(self, method: str, shape: str, context: Context) -> None:
        self.method, self.shape, self.context = method, shape, context
        self.started = time.perf_counter()
        # Asked now: once a call is cut short, grpc may have let go of its transport.
        self.peer = context.peer()
        self.requests = 0
        self.responses = 0

    def counted(self, requests: Iterator[Any]) -> Iterator[Any]:
        for request in requests:
            self.requests += 1
            yield request

    def finished(self, error: BaseException | None) -> FinishedCall:
        code = _code_of(self.context)
        if code is None or code == grpc.StatusCode.OK:
            code = _unset_code(self.context, error)
        seconds = time.perf_counter() - self.started
        peer = unquote(self.peer)  # "ipv6:%5B::1%5D:50" -> "ipv6:[::1]:50"
        counts = self.requests, self.responses
        return FinishedCall(self.method, self.shape, code, seconds, peer, *counts)


def _unset_code(context: Context, error: BaseException | None) -> grpc.StatusCode:
    """The status of a call whose method set none: grpc's answer to an uncaught exception,
    or what cut the call short before the answer went out: its deadline, or the client
    (grpc then drops a response stream: GeneratorExit)."""
    if error is not None and not isinstance(error, GeneratorExit):
        return grpc.StatusCode.UNKNOWN
    if error is not None or not context.is_active():
        remaining = context.time_remaining()
        if remaining is not None and remaining <= DEADLINE_SLACK_SECONDS:
            return grpc.StatusCode.DEADLINE_EXCEEDED
        return grpc.StatusCode.CANCELLED
    return grpc.StatusCode.OK


class _WrapsHandlers(grpc.ServerInterceptor):
    """Wraps each method's handler once, on its first call: grpc hands every call of a
    method the same handler, and wrapping it again on each call would cost time."""

    def __init__(self) -> None:
        self._wrapped: dict[str, tuple[Handler, Handler]] = {}

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Handler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        known = self._wrapped.get(method)
        if known is None or known[0] is not handler:
            known = self._wrapped[method] = (handler, self.wrap(handler, method))
        return known[1]

    def wrap(self, handler: Handler, method: str) -> Handler:
        raise NotImplementedError


class ObserveCalls(_WrapsHandlers):
    """Times and counts every call, and reports it to each observer once it has ended."""

    def __init__(self, observers: Sequence[Observer]) -> None:
        super().__init__()
        self._observers = tuple(observers)

    def report(self, call: _Call, error: BaseException | None) -> None:
        """The observers hear of `call` once its status has gone out: what they do then
        costs its client no time (a unary call made one at a time took 0.85x to 0.88x
        the time once its access line was written after the answer; bench/load.py)."""
        tell = functools.partial(self._tell, call, call.finished(error))
        if not call.context.add_callback(lambda: _LATER.put(tell)):
            tell()  # it had ended already

    def _tell(self, call: _Call, finished: FinishedCall) -> None:
        for observer in self._observers:
            observer(finished)

    def wrap(self, handler: Handler, method: str) -> Handler:
        shape, request_streaming = _shape(handler), handler.request_streaming
        report = self.report

        def observe(behavior: Behavior) -> Behavior:
            def start(request: Any, context: Context) -> tuple[_Call, Any]:
                call = _Call(method, shape, context)
                if not request_streaming:
                    call.requests = 1
                    return call, request
                return call, call.counted(request)

            def unary(request: Any, context: Context) -> Any:
                call, request = start(request, context)
                try:
                    response = behavior(request, context)
                except BaseException as error:
                    report(call, error)
                    raise
                call.responses = 1
                report(call, None)
                return response

            def streamed(request: Any, context: Context) -> Iterator[Any]:
                call, request = start(request, context)
                try:
                    for response in behavior(request, context):
                        call.responses += 1
                        yield response
                except BaseException as error:
                    report(call, error)
                    raise
                report(call, None)

            return streamed if handler.response_streaming else unary

        return _rebuild(handler, observe)


class MapErrors(_WrapsHandlers):
    """An exception a method did not expect becomes INTERNAL, the same for every shape, mid-stream included."""

    def wrap(self, handler: Handler, method: str) -> Handler:
        def guard(behavior: Behavior) -> Behavior:
            def unary(request: Any, context: Context) -> Any:
                try:
                    return behavior(request, context)
                except Exception as error:  # noqa: BLE001 - mapping them is the point
                    _abort_for(error, method, context)

            def streamed(request: Any, context: Context) -> Iterator[Any]:
                try:
                    yield from behavior(request, context)
                except Exception as error:  # noqa: BLE001 - mapping them is the point
                    _abort_for(error, method, context)

            return streamed if handler.response_streaming else unary

        return _rebuild(handler, guard)


def _abort_for(error: Exception, method: str, context: Context) -> NoReturn:
    """Ends the call with the status `error` calls for (see the module's docstring)."""
    code = _code_of(context)
    if code is not None and code != grpc.StatusCode.OK:
        raise error  # context.abort() raised it, or the method set its status and then failed
    if isinstance(error, grpc.RpcError) and isinstance(error, grpc.Call):
        context.abort(error.code(), error.details() or "")
    ERROR_LOGGER.error("%s failed", method, exc_info=error)
    context.abort(grpc.StatusCode.INTERNAL, INTERNAL_ERROR_DETAILS)
