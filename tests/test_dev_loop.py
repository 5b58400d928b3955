"""`scaffold dev` as a newcomer meets it (issue 33): one restart per save, the last good code served through a
conflict, a busy port named with its holder, and the port actually bound."""

from __future__ import annotations

import re
import signal
import socket
from pathlib import Path

from conftest import REPO, run_scaffold
from test_dev_call import Dev, call

AGAIN = "  // Answers with a second, warmer greeting for the same name.\n"


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "p"
    assert run_scaffold("new", REPO / "protos/helloworld.proto", "-o", project).returncode == 0
    return project


def _stop(dev: Dev) -> list[str]:
    dev.process.send_signal(signal.SIGINT)
    assert dev.process.wait(timeout=60) == 0
    while not dev.lines.empty():
        dev.seen.append(dev.lines.get())
    return dev.seen


def test_a_proto_save_restarts_once_and_the_first_line_names_no_port_zero(tmp_path: Path) -> None:
    project = _project(tmp_path)
    dev = Dev(project)
    try:
        first = dev.wait_for("Developing helloworld")
        assert ":0 " not in first and "on a free port" in first
        port = dev.wait_for("startup: serving on").rpartition(":")[2].split()[0]
        proto = project / "protos/helloworld.proto"
        proto.write_text(proto.read_text().replace(AGAIN, AGAIN + "  // Twice as warm.\n"))
        dev.wait_for("regenerated: serving on")
        # A save of the servicer is the next restart: had scaffold's own writes counted, one came before it.
        servicer = project / "helloworld/servicer.py"
        servicer.write_text(servicer.read_text() + "\n# saved by the user\n")
        dev.wait_for("helloworld/servicer.py: serving on")
        assert call(project, f"127.0.0.1:{port}", "SayHello", "-d", "{}").stderr.startswith("UNIMPLEMENTED")
    finally:
        seen = _stop(dev)
    restarts = [line for line in seen if re.search(r"\] [^:]*: serving on", line)]
    assert len(restarts) == 3, restarts  # startup, the proto's save, the servicer's save


def test_a_conflicted_regeneration_keeps_the_last_good_server_until_resolved(tmp_path: Path) -> None:
    project = _project(tmp_path)
    client = project / "helloworld/client.py"  # the RPC's comment is its docstring there
    client.write_text(client.read_text().replace("a second, warmer greeting", "MY OWN WORDS", 1))
    dev = Dev(project)
    try:
        port = dev.wait_for("startup: serving on").rpartition(":")[2].split()[0]
        proto = project / "protos/helloworld.proto"
        proto.write_text(proto.read_text().replace("a second, warmer greeting", "THE PROTO'S WORDS"))
        dev.wait_for("conflict markers in helloworld/client.py: resolve them and save")
        assert call(project, f"127.0.0.1:{port}", "SayHello", "-d", "{}").stderr.startswith("UNIMPLEMENTED")
        text = client.read_text()
        resolved = re.sub(r"<<<<<<< [^\n]*\n(.*?)\|\|\|\|\|\|\| .*?>>>>>>> [^\n]*\n", r"\1", text, flags=re.DOTALL)
        assert resolved != text
        client.write_text(resolved)
        dev.wait_for("helloworld/client.py: serving on")
    finally:
        seen = _stop(dev)
    assert not [line for line in seen if "SyntaxError" in line or "server exited" in line], seen


def test_a_busy_port_names_its_holder_and_the_server_starts_once_it_is_free(tmp_path: Path) -> None:
    project = _project(tmp_path)
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    dev = Dev(project, port=port)
    try:
        busy = dev.wait_for(f"port {port} is in use by process")
        assert "python" in busy and "dev starts the server when it is free" in busy
        holder.close()
        assert f":{port} (" in dev.wait_for("startup: serving on")
    finally:
        holder.close()
        _stop(dev)
