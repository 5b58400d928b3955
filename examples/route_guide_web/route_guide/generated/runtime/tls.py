"""TLS for the server and the client: certificates read from PEM files, and checked before use.

The server re-reads its certificate files on the first handshake after any of
them changes (grpc's dynamic server credentials), so a rotated certificate
takes effect without a restart; a rotation caught half-written keeps the old
certificate until the files are whole again.

scaffold rewrites this module on every `scaffold gen`: do not edit it.
"""

from __future__ import annotations

import argparse
import os
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import cast

import grpc

Configuration = grpc.ServerCertificateConfiguration


class TlsError(Exception):
    """A certificate, key or CA file that cannot serve: its message names the file and why."""


def read_pem(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise TlsError(f"cannot read {path}: {error.strerror}") from None


def readable_file(value: str) -> Path:
    """An argparse type: a file that can be read (argparse names the flag when it cannot)."""
    path = Path(value)
    try:
        read_pem(path)
    except TlsError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return path


def check_key_pair(cert: Path, key: Path) -> None:
    """Fails unless `cert` is a PEM certificate (chain) and `key` its private key."""
    for path in (cert, key):
        read_pem(path)
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except ssl.SSLError as error:
        message = f"{cert} and {key} are not a PEM certificate and its private key"
        raise TlsError(message + _reason(error)) from None


def check_ca(ca: Path) -> None:
    read_pem(ca)
    try:
        ssl.create_default_context().load_verify_locations(ca)
    except ssl.SSLError as error:
        raise TlsError(f"{ca} holds no PEM certificate{_reason(error)}") from None


def _reason(error: ssl.SSLError) -> str:
    """OpenSSL's reason in parentheses, when it gave one (it often gives none: no "(None)")."""
    return f" ({error.reason})" if error.reason else ""


class ServerCertificates:
    """The server's certificate and key, and the CA its clients' certificates must be signed by (mTLS)."""

    def __init__(self, cert: Path, key: Path, client_ca: Path | None = None) -> None:
        check_key_pair(cert, key)
        if client_ca is not None:
            check_ca(client_ca)
        self.cert, self.key, self.client_ca = cert, key, client_ca
        self._seen = self._stamps()

    def credentials(self) -> grpc.ServerCredentials:
        # types-grpcio says the fetcher must always return a configuration; grpc's own
        # documentation says None means "no change", which is what `_reloaded` relies on.
        fetcher = cast("Callable[[], Configuration]", self._reloaded)
        return grpc.dynamic_ssl_server_credentials(
            self._configuration(),
            fetcher,
            require_client_authentication=self.client_ca is not None,
        )

    def _configuration(self) -> Configuration:
        return grpc.ssl_server_certificate_configuration(
            [(read_pem(self.key), read_pem(self.cert))],
            read_pem(self.client_ca) if self.client_ca is not None else None,
        )

    def _stamps(self) -> tuple[tuple[int, int], ...]:
        paths = [self.cert, self.key]
        if self.client_ca is not None:
            paths.append(self.client_ca)
        stamps = []
        for path in paths:
            try:
                status = os.stat(path)
            except OSError:
                return ()
            stamps.append((status.st_mtime_ns, status.st_size))
        return tuple(stamps)

    def _reloaded(self) -> Configuration | None:
        """grpc asks before each handshake: a new configuration once the files changed, else None."""
        stamps = self._stamps()
        if not stamps or stamps == self._seen:
            return None
        try:
            check_key_pair(self.cert, self.key)
            if self.client_ca is not None:
                check_ca(self.client_ca)
            configuration = self._configuration()
        except TlsError:
            return None
        self._seen = stamps
        return configuration


def connection_advice(
    target: str, details: str, tls: bool, client_cert: bool = False
) -> str | None:
    """What to pass when a connection to `target` failed, read from grpc's `details` of the failure
    (a call only says UNAVAILABLE); None when no flag would help (no server there, say)."""
    if not tls:
        if "Socket closed" not in details:
            return None
        return (
            f"{target} closed the plaintext connection: if it serves TLS, pass --tls"
            " (and --ca FILE when a private CA signed its certificate)"
        )
    if "CERTIFICATE_VERIFY_FAILED" in details:
        return (
            f"the certificate of {target} is not signed by a CA this client trusts:"
            " pass --ca FILE, the CA that signed it"
        )
    if "WRONG_VERSION_NUMBER" in details:
        return f"{target} does not serve TLS: leave out --tls, --ca, --cert and --key"
    if "Hostname Verification" in details:
        return f"the certificate of {target} is not for that name: use a --target the certificate names"
    if "Socket closed" in details:
        if client_cert:
            return f"{target} refused the client certificate: pass a --cert signed by a CA it trusts"
        return f"{target} closed the TLS connection: if it asks for a client certificate, pass --cert FILE --key FILE"
    return None


def channel_credentials(
    ca: Path | None = None, cert: Path | None = None, key: Path | None = None
) -> grpc.ChannelCredentials:
    """TLS for a client: the server checked against `ca` (default: the system's roots), and the
    client's own certificate and key when the server asks for one (mTLS)."""
    if ca is not None:
        check_ca(ca)
    if (cert is None) != (key is None):
        raise TlsError("a client certificate needs its key, and a key its certificate")
    if cert is not None and key is not None:
        check_key_pair(cert, key)
    return grpc.ssl_channel_credentials(
        read_pem(ca) if ca is not None else None,
        read_pem(key) if key is not None else None,
        read_pem(cert) if cert is not None else None,
    )
