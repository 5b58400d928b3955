"""The connection of `scaffold call`: its metadata and TLS flags in, and what to say when it fails.

`-H KEY:VALUE` becomes gRPC metadata and `--tls/--ca/--cert/--key` channel
credentials, each refused, located at its flag, before anything is sent.
When the call fails, the user reads one line: the status and its details,
or, where the connection failed for want of a flag (TLS to a plaintext
server, no --ca for a private CA), which flag to pass instead of grpc's
handshake details.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path

import grpc

from scaffold.core.errors import fail


def status_line(error: grpc.RpcError) -> str:
    """`NOT_FOUND: no feature at that point`, as the user reads a failed call."""
    code = error.code() if hasattr(error, "code") else None
    details = error.details() if hasattr(error, "details") else str(error)
    return f"{code.name if code is not None else 'UNKNOWN'}: {details or ''}".rstrip(": ").rstrip()


def failure_line(error: grpc.RpcError, target: str, tls: bool, client_cert: bool = False) -> str:
    """`status_line`, but a connection that failed for want of a flag (TLS to a plaintext server,
    no --ca for a private CA, ...) says which flag to pass instead of grpc's handshake details."""
    line = status_line(error)
    if line.startswith("UNAVAILABLE: "):
        advice = connection_advice(target, line, tls, client_cert)
        if advice is not None:
            return f"UNAVAILABLE: {advice}"
    return line


def connection_advice(target: str, details: str, tls: bool, client_cert: bool = False) -> str | None:
    """What to pass when a connection to `target` failed, read from grpc's `details` of the failure; None
    when no flag would help (no server there, say). The generated `tls.py` says the same to its client."""
    if not tls:
        if "Socket closed" not in details:
            return None
        return (
            f"{target} closed the plaintext connection: if it serves TLS, pass --tls"
            " (and --ca FILE when a private CA signed its certificate)"
        )
    for marker, advice in _TLS_ADVICE:
        if marker in details:
            return advice.format(target=target)
    if "Socket closed" in details:
        if client_cert:
            return f"{target} refused the client certificate: pass a --cert signed by a CA it trusts"
        return f"{target} closed the TLS connection: if it asks for a client certificate, pass --cert FILE --key FILE"
    return None


# grpc's words for a failed TLS handshake, and the flag that fixes it.
_TLS_ADVICE = (
    (
        "CERTIFICATE_VERIFY_FAILED",
        "the certificate of {target} is not signed by a CA this client trusts: pass --ca FILE, the CA that signed it",
    ),
    ("WRONG_VERSION_NUMBER", "{target} does not serve TLS: leave out --tls, --ca, --cert and --key"),
    ("Hostname Verification", "the certificate of {target} is not for that name: use a --target the certificate names"),
)

# gRPC's metadata keys (HTTP/2 header names): lower case letters, digits, `-`, `_` and `.`.
_METADATA_KEY = re.compile(r"[0-9a-z_.-]+")


def header(text: str) -> tuple[str, str | bytes]:
    """`-H KEY:VALUE` as gRPC metadata: keys are lower case on the wire; a key ending `-bin` carries
    bytes, given as base64 (grpcurl's convention); any other value is printable ASCII."""
    name, separator, value = text.partition(":")
    name, value = name.strip().lower(), value.strip()
    if not separator or not name:
        raise fail(f"-H {text}", "metadata is KEY:VALUE")
    if not _METADATA_KEY.fullmatch(name):
        raise fail(f"-H {text}", "a metadata key holds only letters, digits, '-', '_' and '.'")
    if name.startswith("grpc-"):
        raise fail(f"-H {text}", "keys starting with grpc- are gRPC's own")
    if name.endswith("-bin"):
        try:
            return name, _base64(value)
        except (binascii.Error, ValueError):
            raise fail(f"-H {text}", "the value of a key ending -bin is base64") from None
    if not all(" " <= char <= "~" for char in value):
        raise fail(f"-H {text}", "a value is printable ASCII; bytes go in a key ending -bin, as base64")
    return name, value


def _base64(value: str) -> bytes:
    """Standard or URL-safe base64, padded or not (grpcurl reads both)."""
    padded = value + "=" * (-len(value) % 4)
    return base64.b64decode(padded, altchars=b"-_" if {"-", "_"} & set(value) else None, validate=True)


def credentials(tls: bool, ca: Path | None, cert: Path | None, key: Path | None) -> grpc.ChannelCredentials | None:
    """TLS credentials from the flags (None: plaintext); mTLS when a client certificate is given."""
    if not tls and not (ca or cert or key):
        return None
    if (cert is None) != (key is None):
        raise fail("--cert/--key", "a client certificate needs its key, and a key its certificate")

    def read(path: Path | None, flag: str) -> bytes | None:
        if path is None:
            return None
        try:
            data = path.read_bytes()
        except OSError as error:
            raise fail(f"{flag} {path}", f"cannot be read: {error.strerror}") from None
        if b"-----BEGIN " not in data:  # grpc would take it, and fail every handshake as UNAVAILABLE
            raise fail(f"{flag} {path}", "not PEM (no -----BEGIN line)")
        return data

    return grpc.ssl_channel_credentials(read(ca, "--ca"), read(key, "--key"), read(cert, "--cert"))
