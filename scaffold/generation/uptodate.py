"""Whether a project is exactly what scaffold last wrote from its current inputs, by content.

The no-op path (`scaffold.fastpath`) asks this only when its stamp cannot
answer: it recomputes the inputs' digest (`scaffold.generation.inputs`) and checks that
every file scaffold recorded is still what it wrote. When all of that holds,
it leaves a stamp that vouches (`scaffold.generation.stamps`): the file status
(times, size, inode) of everything it read, taken before reading, so the next
run can answer from `stat` alone.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from scaffold.core import collection, paths
from scaffold.core.text import lacks_a_class
from scaffold.generation import inputs, stamps
from scaffold.layout import BASE_DIR, CACHE_DIR, CONFIG_FILE, MANIFEST, STATE_DIR, TXN_DIR
from scaffold.record.hashes import Hashes


@collection.fewer_collections()
def check_and_stamp(root: Path) -> bool:
    """True when nothing would change; then the stamp is written for the next run (with fewer garbage
    collections, as a run: a sixth of googleapis' 0.8 s check went to them).

    Anything unexpected in what it reads (a manifest of the wrong shape) is
    not its to report: it answers False, and the full pipeline says what is wrong.
    """
    try:
        return _check_and_stamp(Path(os.path.abspath(root)))  # absolute: the stamp names files by cutting it off
    except Exception:  # noqa: BLE001 - the full pipeline reports, with a location
        return False


def _check_and_stamp(root: Path) -> bool:
    # Each status is taken before what it covers is read, so an edit racing this check is seen next time.
    before = stamps.status_of([root / CONFIG_FILE, root / MANIFEST])
    if (root / TXN_DIR).exists() or (root / STATE_DIR).is_symlink() or (root / CACHE_DIR).is_symlink():
        return False  # a run to roll back, a link the full pipeline refuses (`scaffold.record.lock`)
    try:
        text = (root / MANIFEST).read_text(encoding="utf-8")
    except (OSError, ValueError):
        return False
    table = inputs.config_table(root)
    if table is None:
        return False
    before |= stamps.status_of(stamps.inputs_read(root, table))
    inputs_end = len(before)
    # The inputs first: they are what changes most often (a proto saved), and on a large tree stating
    # every output, or parsing the manifest's entry for each, before finding that out took longer than the digest.
    hashes = Hashes(root)
    try:
        if _recorded_inputs(text) != inputs.digest(root, table, hashes):
            return False
        try:
            manifest = json.loads(text)
            recorded, files = manifest["inputs"], manifest["files"]
        except (ValueError, KeyError, TypeError):
            return False
        if recorded != _recorded_inputs(text) or manifest.get("gone"):
            return False  # code reads what a run took away (`scaffold.generation.gone`): the full pipeline says where
        if manifest.get("kept_for_code") or _holds_what_the_protos_dropped(manifest):
            # The servicer holds code kept for the user's (a dropped service's class, an RPC's old shape):
            # each run keeps it only while that code is not scaffold's stub, so undoing it, even to the
            # file exactly as written, changes what `gen` writes. Only the full pipeline can tell.
            return False
        before |= stamps.status_of(_outputs_read(root, files))
        if not _outputs_match(root, files, hashes):
            return False
    finally:
        hashes.save(complete=False)  # kept either way: when something changed, the full run reads fewer files
    stamps.write(root, before, inputs_end, vouches=True)
    return True


def _outputs_match(root: Path, files: dict[str, dict[str, str | None]], hashes: Hashes) -> bool:
    from scaffold.core.errors import ScaffoldError
    from scaffold.generation import configfile

    try:
        configfile.load(root)  # a config the full path rejects is never "up to date" (a templates dir gone, a bad key)
    except ScaffoldError:
        return False
    here = os.fspath(root)
    for path, entry in files.items():
        if paths.recorded_problem(path) is not None:
            return False  # the full pipeline says where the manifest is wrong
        if entry["owner"] == "generated":
            if _sha256(os.path.join(here, path), hashes) != entry["sha256"]:
                return False
        elif _sha256(os.path.join(here, BASE_DIR, path), hashes) != entry["sha256"]:
            return False
        elif _sha256(os.path.join(here, path), hashes) != entry["sha256"] and _edited_so_gen_would_change_it(
            root, path
        ):
            return False  # (a file exactly as its base, a render, is neither: not read)
    return True


def _holds_what_the_protos_dropped(manifest: dict[str, Any]) -> bool:
    """A service, an RPC or an RPC's shape the servicer holds that the protos (`rpcs`) no longer have: what
    `kept_for_code` says, read from a manifest written before it was recorded (a docstring kept is not in
    such a manifest)."""
    protos = manifest.get("rpcs") or {}
    for service in manifest.get("servicer") or ():
        rpcs = protos.get(service["full_name"])  # a split service's parts have entries of their own
        if rpcs is None or any(rpcs.get(rpc["name"]) != _signature(rpc) for rpc in service["rpcs"]):
            return True
    return False


def _signature(rpc: dict[str, Any]) -> str:
    """An RPC's record as `scaffold.core.model.Rpc.proto_signature` says it."""
    client, _, server = rpc["kind"].partition("_")
    request, response = rpc["request"]["full_name"], rpc["response"]["full_name"]
    request = f"stream {request}" if client == "stream" else request
    response = f"stream {response}" if server == "stream" else response
    return f"({request}) returns ({response})"


def _outputs_read(root: Path, files: dict[str, dict[str, str | None]]) -> list[str]:
    """Every file of the manifest, and the merge base of each of the user's (as strings: googleapis has
    45,000, and making a `Path` of each was a third of this check)."""
    here, found = os.fspath(root), []
    for path, entry in files.items():
        found.append(os.path.join(here, path))
        if entry["owner"] == "user":
            found.append(os.path.join(here, BASE_DIR, path))
    return found


_INPUTS_LINE = re.compile(r'^ "inputs": (null|"[0-9a-f]+"),$', re.MULTILINE)


def _recorded_inputs(manifest: str) -> str | None:
    """The manifest's `inputs` digest, read from its own line near the top (`scaffold.record.state` writes it
    there) without parsing the entries of every file; None when it has none."""
    found = _INPUTS_LINE.search(manifest, 0, 4096)
    return json.loads(found[1]) if found else None


def _sha256(path: str, hashes: Hashes) -> str | None:
    try:
        return hashes.sha256(path)
    except OSError:
        return None


def _edited_so_gen_would_change_it(root: Path, path: str) -> bool:
    """Whether a file of the user's that differs from its base holds conflict markers, or may lack a class
    of its base that the next `gen` puts back (`scaffold.generation.adopt.restored_classes`)."""
    try:
        content = (root / path).read_bytes()
    except OSError:
        return False  # a user file the user deleted: the full pipeline reports it, nothing to write
    if _MARKER.search(content) is not None:
        return True
    if not path.endswith(".py"):
        return False
    try:
        base = (root / BASE_DIR / path).read_bytes()
    except OSError:
        return False  # kept without a record (`new --force` over a file of the user's): nothing to compare with
    return lacks_a_class(content, base)


_MARKER = re.compile(rb"(?:\A|[\r\n])(?:<<<<<<<|>>>>>>>) ")
"""A conflict's opening or closing line, however lines end (a file of CR ends holds them too), as
`scaffold.generation.merge.conflict_lines` finds them."""
