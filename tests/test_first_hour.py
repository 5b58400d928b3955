"""What a newcomer meets in the first hour (issue 33, items 8 to 12), each through the real CLI in a
subprocess, with the exact lines asserted: a TLS mismatch said in one line with the flag to pass,
messages that read right, `diff` saying what changed in the messages, answering with its exit code
under -q, and paging a long diff on a terminal (a pseudo-terminal here) but never into a pipe.
"""

from __future__ import annotations

import os
import pty
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import DEADLINE_SECONDS, REPO, run_python, run_scaffold, served
from test_production import make_certificates

FLAVOURS = pytest.mark.parametrize("aio", [False, True], ids=["sync", "aio"])
PLAINTEXT_TO_TLS = (
    "{target} closed the plaintext connection: if it serves TLS, pass --tls"
    " (and --ca FILE when a private CA signed its certificate)"
)
UNTRUSTED = (
    "the certificate of {target} is not signed by a CA this client trusts: pass --ca FILE, the CA that signed it"
)
MENU_PROTO = """syntax = "proto3";
package first;
import "google/protobuf/empty.proto";
message Choice {
  oneof pick {
    string a = 1;
    int32 b = 2;
  }
}
message Order {
  Choice choice = 1;
}
service Menu {
  rpc Place(Order) returns (google.protobuf.Empty);
}
"""


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_certificates(tmp_path_factory.mktemp("certs"))


def _client(project: Path, target: str, *flags: str | Path) -> subprocess.CompletedProcess[str]:
    return run_python("-m", "helloworld.client", "--target", target, *map(str, flags), cwd=project, timeout=60)


# Item 8: a TLS mismatch is one line that says what to pass, and C-core's log lines stay out unless -v.


@FLAVOURS
def test_the_client_says_which_tls_flag_to_pass(
    generated,
    certificates: dict[str, Path],
    aio: bool,  # type: ignore[no-untyped-def]
) -> None:
    project = generated("helloworld", aio)
    tls = ["--tls-cert", str(certificates["server.pem"]), "--tls-key", str(certificates["server.key"])]
    with served(project, "helloworld", tls) as server:
        target = f"localhost:{server.port}"
        plaintext = _client(project, target)
        assert (plaintext.returncode, plaintext.stdout, plaintext.stderr) == (
            1,
            PLAINTEXT_TO_TLS.format(target=target) + "\n",
            "",
        )
        untrusted = _client(project, target, "--tls")
        assert (untrusted.returncode, untrusted.stdout, untrusted.stderr) == (
            1,
            UNTRUSTED.format(target=target) + "\n",
            "",
        )
        verbose = _client(project, target, "--tls", "-v")
        assert "Handshake failed" in verbose.stderr  # grpc's own lines, asked for
        assert verbose.stdout == UNTRUSTED.format(target=target) + "\n"
        trusted = _client(project, target, "--ca", certificates["ca.pem"])
        assert trusted.stdout.startswith("SayHello failed: UNIMPLEMENTED"), trusted.stdout + trusted.stderr
    with served(project, "helloworld") as plain:
        target = f"localhost:{plain.port}"
        not_tls = _client(project, target, "--tls")
        assert not_tls.stdout == f"{target} does not serve TLS: leave out --tls, --ca, --cert and --key\n"
        assert not_tls.stderr == ""


def test_call_says_which_tls_flag_to_pass(generated, certificates: dict[str, Path]) -> None:  # type: ignore[no-untyped-def]
    project = generated("helloworld")
    tls = ["--tls-cert", str(certificates["server.pem"]), "--tls-key", str(certificates["server.key"])]
    with served(project, "helloworld", tls) as server:
        target = f"localhost:{server.port}"

        def call(*flags: str | Path) -> subprocess.CompletedProcess[str]:
            return run_scaffold("call", "-C", project, "--target", target, *flags, "SayHello", "-d", "{}")

        plaintext = call()
        assert (plaintext.returncode, plaintext.stdout) == (1, "")
        assert plaintext.stderr == f"UNAVAILABLE: {PLAINTEXT_TO_TLS.format(target=target)}\n"
        untrusted = call("--tls")
        assert untrusted.stderr == f"UNAVAILABLE: {UNTRUSTED.format(target=target)}\n"
        assert "Handshake failed" in call("-v", "--tls").stderr
        assert call("--ca", certificates["ca.pem"]).stderr.startswith("UNIMPLEMENTED: ")


# Item 9: the messages that read wrong.


def test_a_keyword_package_name_says_so(tmp_path: Path) -> None:
    result = run_scaffold("new", REPO / "protos/helloworld.proto", "--name", "class", "-o", tmp_path / "p")
    assert (result.returncode, result.stderr) == (
        2,
        "--name: 'class' is not a valid Python package name (a Python keyword)\n",
    )


def test_a_toml_syntax_error_is_located_where_toml_says(tmp_path: Path) -> None:
    project = tmp_path / "project"
    assert run_scaffold("new", REPO / "protos/helloworld.proto", "-o", project).returncode == 0
    pyproject = project / "pyproject.toml"
    lines = pyproject.read_text().splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines, 1) if line.startswith("aio = "))
    lines[number - 1] = "aio = fals\n"
    pyproject.write_text("".join(lines))
    result = run_scaffold("gen", cwd=project)
    assert (result.returncode, result.stderr) == (2, f"{pyproject}:{number}:7: not valid TOML: Invalid value\n")


def test_a_file_that_is_not_pem_is_said_without_none(generated, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project = generated("helloworld")
    text = tmp_path / "notes.txt"
    text.write_text("not a certificate\n")
    key = tmp_path / "server.key"
    key.write_text("not a key\n")
    result = run_python(
        "-m", "helloworld.server", "--port", "0", "--tls-cert", str(text), "--tls-key", str(key), cwd=project
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"server.py: error: {text} and {key} are not a PEM certificate and its private key"
    )


def test_a_oneof_given_twice_and_an_empty_response_read_right(tmp_path: Path) -> None:
    (tmp_path / "menu.proto").write_text(MENU_PROTO)
    project = tmp_path / "menu"
    assert run_scaffold("new", tmp_path / "menu.proto", "-o", project).returncode == 0
    assert "        # TODO: return an empty_pb2.Empty.\n" in (project / "menu/servicer.py").read_text()
    result = run_scaffold("call", "-C", project, "Place", "-d", '{"choice": {"a": "x", "b": 2}}')
    oneof = 'Message type "first.Choice" should not have multiple "pick" oneof fields at "Order.choice".'
    assert (result.returncode, result.stderr) == (2, f"-d:1:2: field choice: {oneof}\n")


def test_how_many_protos_protoc_compiled_reads_right(tmp_path: Path) -> None:
    (tmp_path / "protos").mkdir()
    (tmp_path / "protos/menu.proto").write_text(MENU_PROTO)
    (tmp_path / "protos/extra.proto").write_text('syntax = "proto3";\npackage extra;\nmessage Thing {}\n')
    project = tmp_path / "project"
    assert run_scaffold("new", tmp_path / "protos", "--name", "menu", "-o", project).returncode == 0
    extra = project / "protos/extra.proto"
    extra.write_text(extra.read_text() + "message Other {}\n")
    one = run_scaffold("-v", "gen", cwd=project)
    assert one.stdout.startswith("protoc compiled 1 of 2 protos; the other one was unchanged\n"), one.stdout
    full = run_scaffold("-v", "gen", "--full", cwd=project)
    assert full.stdout.startswith("protoc compiled all 2 protos\n"), full.stdout
    single = tmp_path / "single"
    assert run_scaffold("new", REPO / "protos/helloworld.proto", "-o", single).returncode == 0
    alone = run_scaffold("-v", "gen", "--full", cwd=single)
    assert alone.stdout.startswith("protoc compiled the project's one proto\n"), alone.stdout


def test_recreate_refuses_a_path_scaffold_does_not_write(generated) -> None:  # type: ignore[no-untyped-def]
    project = generated("helloworld")
    for path, why in [
        ("nonexistent.py", "scaffold writes no such file in the project"),
        ("/etc/passwd", "outside the project: name a file scaffold writes in it"),
        ("../elsewhere.py", "outside the project: name a file scaffold writes in it"),
    ]:
        result = run_scaffold("gen", "--recreate", path, cwd=project)
        assert (result.returncode, result.stdout, result.stderr) == (2, "", f"--recreate {path}: {why}\n")


def test_new_help_shows_the_protos_as_the_readme_does() -> None:
    result = run_scaffold("new", "--help")
    assert result.returncode == 0
    assert result.stdout.splitlines()[0].endswith(" new [OPTIONS] PROTO...")
    assert "{" not in result.stdout.splitlines()[0]


class _Lines:
    """A process's output, line by line, waited for with a deadline."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.queue: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.queue.put(line.rstrip("\n"))

    def until(self, wanted: str) -> list[str]:
        """Every line from now on up to the first that contains `wanted`."""
        got: list[str] = []
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not got or wanted not in got[-1]:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"no line with {wanted!r}; seen: {self.seen}")
            try:
                got.append(self.queue.get(timeout=remaining))
            except queue.Empty:
                continue
            self.seen.append(got[-1])
        return got


@contextmanager
def _watching(project: Path) -> Iterator[_Lines]:
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "scaffold", "watch"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield _Lines(process)
    finally:
        process.terminate()
        process.wait(timeout=DEADLINE_SECONDS)
        assert process.stdout is not None
        process.stdout.close()


def test_watch_after_its_own_conflict_says_save_not_run_gen(tmp_path: Path) -> None:
    project = tmp_path / "project"
    assert run_scaffold("new", REPO / "protos/helloworld.proto", "-o", project).returncode == 0
    client = project / "helloworld/client.py"  # the RPC's comment is its docstring there
    client.write_text(client.read_text().replace("a second, warmer greeting", "MY OWN WORDS", 1))
    proto = project / "protos/helloworld.proto"
    with _watching(project) as output:
        output.until("startup: up to date")
        proto.write_text(proto.read_text().replace("a second, warmer greeting", "THE PROTO'S WORDS"))
        written = output.until("resolve the conflict markers")
        assert (
            written[-1] == "  resolve the conflict markers in helloworld/client.py and save: watch goes on from there"
        )
        proto.write_text(proto.read_text().replace("THE PROTO'S WORDS", "THE PROTO'S WORDS, AGAIN"))
        refused = output.until("unresolved conflict marker")
    # Its own conflicted write of client.py started no run of its own (one reporting the markers).
    assert not [line for line in output.seen if re.search(r"\] helloworld/client\.py: ", line)], output.seen
    assert refused[0].endswith(": not regenerated, outputs untouched"), refused
    assert refused[-1].endswith(": unresolved conflict marker; resolve it and save it")
    assert not [line for line in output.seen if "scaffold gen" in line], output.seen


# Items 10 and 11: diff says what changed in the messages, and -q keeps the answer.


def _route_guide_with_changed_messages(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    assert run_scaffold("new", REPO / "protos/route_guide.proto", "-o", project).returncode == 0
    proto = project / "protos/route_guide.proto"
    text = proto.read_text()
    text = text.replace("  int32 longitude = 2;", "  int32 longitude = 2;\n  int32 altitude = 3;")
    text = text.replace("  int32 latitude = 1;", "  int64 latitude = 1;")
    text = text.replace("  string message = 2;", "")
    proto.write_text(text)
    return project


def test_diff_sums_up_the_changed_messages(tmp_path: Path) -> None:
    project = _route_guide_with_changed_messages(tmp_path)
    result = run_scaffold("diff", cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(
        "routeguide.Point\n"
        "  + altitude (int32, field 3)\n"
        "  ~ latitude: int32 -> int64\n"
        "routeguide.RouteNote\n"
        "  - message (string, field 2)\n"
        "(2 of protoc's modules left out; --all shows them)\n"
    ), result.stdout
    everything = run_scaffold("diff", "--all", cwd=project).stdout
    assert "+++ b/route_guide/generated/route_guide_pb2.pyi\n" in everything
    assert "+++ b/route_guide/generated/route_guide_pb2.py\n" not in everything  # serialized bytes
    assert "AddSerializedFile" not in everything
    assert everything.endswith(
        "  - message (string, field 2)\n(1 _pb2.py left out: serialized descriptors, which the _pb2.pyi above shows)\n"
    )


def test_quiet_diff_keeps_the_answer(tmp_path: Path) -> None:
    project = _route_guide_with_changed_messages(tmp_path)
    quiet = run_scaffold("-q", "diff", cwd=project)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (1, "", "")  # protoc's modules alone changed
    assert run_scaffold("diff", "--exit-code", cwd=project).returncode == 1
    assert run_scaffold("gen", cwd=project).returncode == 0
    settled = run_scaffold("-q", "diff", cwd=project)
    assert (settled.returncode, settled.stdout) == (0, "")


# Item 12: a pager on a terminal, never into a pipe.


def _with_a_new_rpc(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    assert run_scaffold("new", REPO / "protos/helloworld.proto", "-o", project).returncode == 0
    proto = project / "protos/helloworld.proto"
    again = "  rpc SayHelloAgain (HelloRequest) returns (HelloReply) {}\n"
    proto.write_text(proto.read_text().replace(again, again + "  rpc SayBye (HelloRequest) returns (HelloReply) {}\n"))
    return project


def _on_a_terminal(project: Path, *args: str, env: dict[str, str]) -> str:
    """`scaffold ARGS` with its output on a pseudo-terminal: what the terminal showed."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "scaffold", *args],
        cwd=project,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env={**os.environ, "NO_COLOR": "1", **env},
    )
    os.close(follower)
    shown = bytearray()
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: every writer of the terminal is gone
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert process.wait(timeout=DEADLINE_SECONDS) == 0
    return shown.decode().replace("\r\n", "\n")


def test_a_long_diff_goes_through_the_pager_on_a_terminal_only(tmp_path: Path) -> None:
    project = _with_a_new_rpc(tmp_path)
    record = tmp_path / "paged.txt"
    pager = tmp_path / "pager.sh"
    pager.write_text(f'cat > "{record}"\n')
    env = {"PAGER": f"sh {pager}"}
    piped = run_scaffold("diff", cwd=project, env=env)
    assert piped.returncode == 0 and "+    def SayBye(" in piped.stdout
    assert not record.exists()  # a pipe never sees a pager

    shown = _on_a_terminal(project, "diff", env=env)
    assert shown == ""  # all of it went to the pager
    assert record.read_text() == piped.stdout

    record.unlink()
    assert _on_a_terminal(project, "diff", "--no-pager", env=env) == piped.stdout
    assert _on_a_terminal(project, "diff", env={**env, "NO_PAGER": "1"}) == piped.stdout
    assert not record.exists()
