"""Custom templates: exported, overriding one file while the rest fall back,
recorded in the config, and followed by `gen` and `watch`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
from conftest import REPO, at_key, run_python, run_scaffold, tree
from msgspec import structs

from scaffold import api
from scaffold.core.imports import Import
from scaffold.core.model import MessageRef, Project, ProtoFile, Rpc, Service
from scaffold.core.records import field_names
from scaffold.generation import renders
from scaffold.generation.render import Renderer
from scaffold.live.watch import Watcher, WatchEvent

HEADER = "# Reviewed by the platform team.\n"


def custom_templates(directory: Path) -> Path:
    """An exported set reduced to one changed servicer template (the module's body, both layouts include it)."""
    result = run_scaffold("templates", "export", directory)
    assert result.returncode == 0, result.stderr
    assert (directory / "__package__/servicer.py.jinja").is_file() and (directory / "README.md").is_file()
    servicer = directory / "_servicer_module.jinja"
    text = servicer.read_text()
    kept = text.replace("\nfrom __future__ import annotations\n", f"\n{HEADER}from __future__ import annotations\n")
    assert kept != text
    shutil.rmtree(directory)
    servicer.parent.mkdir(parents=True, exist_ok=True)
    servicer.write_text(kept)
    return directory


def template_set(directory: Path, templates: dict[str, str]) -> Path:
    """A directory of the user's own templates holding `templates` (path -> source)."""
    for path, source in templates.items():
        (directory / path).parent.mkdir(parents=True, exist_ok=True)
        (directory / path).write_text(source)
    return directory


def test_export_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x/keep").write_text("")
    result = run_scaffold("templates", "export", tmp_path / "x")
    assert (result.returncode, result.stderr) == (
        2,
        f"{tmp_path / 'x'}: directory is not empty; pass --force to write into it\n",
    )


def test_one_overridden_template_and_the_rest_fall_back(tmp_path: Path) -> None:
    project = tmp_path / "project"
    assert run_scaffold("new", REPO / "protos/helloworld.proto", "-o", project).returncode == 0
    before = tree(project)
    custom_templates(project / "my_templates")
    pyproject = project / "pyproject.toml"
    # Added where scaffold's own template puts the key: at the end of the table.
    pyproject.write_text(pyproject.read_text() + 'templates = "my_templates"\n')

    result = run_scaffold("gen", "-C", project)
    assert result.returncode == 0, result.stderr
    assert "update    helloworld/servicer.py" in result.stdout
    after = tree(project)
    assert HEADER.encode() in after["helloworld/servicer.py"]
    for unchanged in ("helloworld/client.py", "helloworld/server.py", "tests/test_helloworld.py"):
        assert after[unchanged] == before[unchanged], unchanged
    tests = run_python("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert tests.returncode == 0, tests.stdout


def test_new_records_the_template_directory(tmp_path: Path) -> None:
    templates = custom_templates(tmp_path / "shared_templates")
    project = tmp_path / "project"
    result = run_scaffold("new", REPO / "protos/helloworld.proto", "-o", project, "--templates", templates)
    assert result.returncode == 0, result.stderr
    assert 'templates = "../shared_templates"\n' in (project / "pyproject.toml").read_text()
    assert HEADER in (project / "helloworld/servicer.py").read_text()
    assert run_scaffold("gen", "-C", project).stdout == "Up to date (no input changed).\n"


def test_missing_template_directory_is_a_config_error(tmp_path: Path) -> None:
    project = tmp_path / "project"
    assert run_scaffold("new", REPO / "protos/helloworld.proto", "-o", project).returncode == 0
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'templates = "nope"\n')
    result = run_scaffold("gen", "-C", project)
    assert result.returncode == 2
    assert (
        result.stderr
        == f"{at_key(pyproject, 'templates')}: [tool.scaffold] templates: no directory {project / 'nope'}\n"
    )


def test_watch_regenerates_when_a_template_is_saved(tmp_path: Path) -> None:
    templates = custom_templates(tmp_path / "shared_templates")
    project = tmp_path / "project"
    assert (
        run_scaffold("new", REPO / "protos/helloworld.proto", "-o", project, "--templates", templates).returncode == 0
    )
    events: list[WatchEvent] = []
    stop = threading.Event()
    thread = threading.Thread(target=Watcher(project, events.append, stop).run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not events:  # the startup run: the watch is live from here on
            assert time.monotonic() < deadline, "no startup run"
            time.sleep(0.01)
        servicer_template = templates / "_servicer_module.jinja"  # included: watch sees every template file
        servicer_template.write_text(servicer_template.read_text().replace(HEADER, "# Reviewed twice.\n"))
        while "# Reviewed twice." not in (project / "helloworld/servicer.py").read_text():
            if time.monotonic() > deadline:
                pytest.fail(f"the template edit was not regenerated: {events}")
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(20)


def test_a_template_rendering_nothing_writes_no_file_but_an_empty_init_is_kept(tmp_path: Path) -> None:
    """An option can add a module by rendering nothing when it is off; an empty `__init__.py` still
    makes a package, so it is written."""
    templates = template_set(
        tmp_path / "templates",
        {
            "__package__/__init__.py.jinja": "{# nothing #}\n",
            "__package__/__generated__/__init__.py.jinja": "",
            "__package__/extra.py.jinja": "{% if config.aio %}ASYNC = True\n{% endif %}",
        },
    )
    project = tmp_path / "project"
    result = run_scaffold("new", REPO / "protos/helloworld.proto", "-o", project, "--templates", templates)
    assert result.returncode == 0, result.stderr
    assert (project / "helloworld/__init__.py").read_text() == ""
    assert (project / "helloworld/generated/__init__.py").read_text() == ""
    assert not (project / "helloworld/extra.py").exists()
    imported = run_python("-c", "import helloworld.generated.helloworld_pb2_grpc", cwd=project)
    assert imported.returncode == 0, imported.stderr


def test_an_empty_generated_init_is_written_for_protos_without_services(tmp_path: Path) -> None:
    """The generated package's `__init__.py` goes in every directory of protoc's modules, which hold no other
    render when no proto defines a service: an empty template still makes them packages."""
    templates = template_set(tmp_path / "templates", {"__package__/__generated__/__init__.py.jinja": ""})
    proto = tmp_path / "m.proto"
    proto.write_text('syntax = "proto3";\npackage m;\nmessage M {\n  string a = 1;\n}\n')
    result = run_scaffold("new", proto, "-o", tmp_path / "p", "--templates", templates)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "p/m/generated/__init__.py").read_text() == ""
    imported = run_python("-c", "import m.generated.m_pb2", cwd=tmp_path / "p")
    assert imported.returncode == 0, imported.stderr


def test_a_kept_per_file_render_is_reused_only_while_what_its_template_reads_is_unchanged(tmp_path: Path) -> None:
    """Per-file renders are kept between runs, keyed by the context names their template (and what it
    includes) reads: one that reads `project`, through an included template, follows a service added to
    another proto; one that reads only `file` does not change; both equal what a clean `new` writes."""
    templates = template_set(
        tmp_path / "templates",
        {
            "_count.jinja": "{{ project.services | length }} services\n",
            "__package__/__proto___count.txt.jinja": '{% include "_count.jinja" %}',
            "__package__/__proto___name.txt.jinja": "{{ file.name }}\n",
        },
    )
    source = tmp_path / "protos"
    source.mkdir()
    for name in ("a", "b"):
        (source / f"{name}.proto").write_text(
            f'syntax = "proto3";\npackage {name};\nmessage M {{}}\nservice S{name} {{\n  rpc Get(M) returns (M);\n}}\n'
        )
    project = tmp_path / "p"
    result = run_scaffold("new", source, "-o", project, "--name", "shop", "--templates", templates)
    assert result.returncode == 0, result.stderr
    assert (project / "shop/a_count.txt").read_text() == "2 services\n"

    added = project / "protos/b.proto"
    added.write_text(added.read_text() + "service Other {\n  rpc Put(M) returns (M);\n}\n")
    assert run_scaffold("gen", "-C", project).returncode == 0
    assert (project / "shop/a_count.txt").read_text() == "3 services\n"  # a.proto unchanged, its render not
    assert (project / "shop/a_name.txt").read_text() == "a.proto\n"
    clean = tmp_path / "clean"
    shutil.copytree(project / "protos", tmp_path / "clean-protos")
    result = run_scaffold("new", tmp_path / "clean-protos", "-o", clean, "--name", "shop", "--templates", templates)
    assert result.returncode == 0, result.stderr
    assert {p: c for p, c in tree(project).items() if p.startswith("shop/")} == {
        p: c for p, c in tree(clean).items() if p.startswith("shop/")
    }


def test_a_change_no_template_reads_renders_nothing_in_a_process_of_any_hash_seed(tmp_path: Path) -> None:
    """Every render is kept, keyed by what its template reads; a comment added at a proto's end changes
    nothing a template reads, so a `gen` renders nothing and never imports Jinja, whatever the hash seed
    (a key from a set's `repr`, such as the breaking table's keys inside `config`, would miss in the next
    process). The project is what a clean `new` writes."""
    project = tmp_path / "p"
    source = tmp_path / "helloworld.proto"
    shutil.copy(REPO / "protos/helloworld.proto", source)
    assert run_scaffold("new", source, "-o", project).returncode == 0
    pyproject = project / "pyproject.toml"
    breaking = '[tool.scaffold.breaking]\nagainst = "HEAD"\ncategory = "WIRE"\nignore = ["a.proto", "b.proto"]\n'
    pyproject.write_text(pyproject.read_text() + "\n" + breaking)
    proto = project / "protos/helloworld.proto"

    def gen(seed: str) -> bool:
        """Runs `gen` with PYTHONHASHSEED=`seed`; whether it imported Jinja."""
        ran = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "scaffold", "gen", "-C", str(project)],
            check=False,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert ran.returncode == 0, ran.stderr
        return any(line.startswith("import time:") and line.endswith(" jinja2") for line in ran.stderr.splitlines())

    wave = "  rpc Wave (HelloRequest) returns (HelloReply);\n  rpc SayHelloAgain"
    proto.write_text(proto.read_text().replace("  rpc SayHelloAgain", wave))
    assert gen("0")  # an RPC added: rendered, and kept with the config as it is now
    for seed in ("1", "2", "3"):
        proto.write_text(proto.read_text() + f"// Noted in a process of hash seed {seed}.\n")
        assert not gen(seed)

    shutil.copy(proto, source)
    clean = tmp_path / "clean"
    assert run_scaffold("new", source, "-o", clean).returncode == 0
    (clean / "pyproject.toml").write_text((clean / "pyproject.toml").read_text() + "\n" + breaking)
    assert tree(project) == tree(clean)


def test_a_template_saved_while_a_run_renders_is_not_kept_under_the_templates_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A render is kept under a digest of the templates taken before rendering. A template saved during
    the run renders its new text; kept under the old digest, it would be served to a later run that meets
    the old templates again (the save undone), and `check` would call the stale file up to date."""
    templates = template_set(
        tmp_path / "templates", {"__package__/note.txt.jinja": "A {{ project.services[0].rpcs | length }}\n"}
    )
    project = tmp_path / "p"
    result = run_scaffold("new", REPO / "protos/helloworld.proto", "-o", project, "--templates", templates)
    assert result.returncode == 0, result.stderr
    note_template = templates / "__package__/note.txt.jinja"
    real = Renderer._render_one

    def saved_meanwhile(self: Renderer, name: str, context: dict[str, object]) -> str:
        if name == "__package__/note.txt.jinja":
            note_template.write_text("B {{ project.services[0].rpcs | length }}\n")
            later = time.time() + 5
            os.utime(note_template, (later, later))  # Jinja sees it changed, whatever the clock's grain
        return real(self, name, context)

    proto = project / "protos/helloworld.proto"
    proto.write_text(
        proto.read_text().replace(
            "  rpc SayHelloAgain", "  rpc Wave (HelloRequest) returns (HelloReply);\n  rpc SayHelloAgain"
        )
    )
    with monkeypatch.context() as patch:
        patch.setattr(Renderer, "_render_one", saved_meanwhile)
        api.regenerate(project)
    assert (project / "helloworld/note.txt").read_text() == "B 3\n"  # rendered from what it read

    note_template.write_text("A {{ project.services[0].rpcs | length }}\n")  # the save undone
    api.regenerate(project)
    assert (project / "helloworld/note.txt").read_text() == "A 3\n"
    assert run_scaffold("check", "-C", project).returncode == 0


def _sets_below(value: object, where: str, depth: int, deepest: int) -> list[str]:
    """Where in `value` a set lies `deepest` levels down or deeper (through records' fields, sequences and
    mapping values)."""
    if isinstance(value, (set, frozenset)):
        return [where] if depth >= deepest else []
    if not isinstance(value, type) and field_names(type(value)) is not None:
        items = [(name, getattr(value, name)) for name in field_names(type(value)) or ()]
    elif isinstance(value, (tuple, list)):
        items = [(str(i), item) for i, item in enumerate(value)]
    elif isinstance(value, dict):
        items = [(repr(k), item) for k, item in value.items()]
    else:
        return []
    return [found for name, item in items for found in _sets_below(item, f"{where}.{name}", depth + 1, deepest)]


def test_render_keys_see_every_set_the_render_context_holds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A render's key sorts every set of the context wherever it lies (`renders.Keys`), but takes each RPC,
    service and proto file by its msgpack encoding, where a set's order follows the hash seed (the key
    would miss in every new process). With every option that adds to the context, none of them holds a set."""
    project = tmp_path / "p"
    options = ("--health", "--reflection", "--metrics", "--otel", "--web", "--layout", "per-service")
    protos = (REPO / "examples/route_guide/protos/route_guide.proto", REPO / "protos/helloworld.proto")
    made = run_scaffold("new", *protos, "-o", project, "--name", "shop", *options)
    assert made.returncode == 0, made.stderr
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.scaffold.breaking]\nagainst = "HEAD"\ncategory = "WIRE"\n')
    seen: list[tuple[Any, ...]] = []
    real = Renderer.render

    def capture(self: Renderer, context: Any, paths: Any, files: Any, services: Any, kept: Any) -> Any:
        seen.append((context, files, services))
        return real(self, context, paths, files, services, kept)

    monkeypatch.setattr(Renderer, "render", capture)
    api.regenerate(project, full=True)
    [(context, files, services)] = seen
    assert services and files and context["config"].breaking.given  # each kind of render was made
    hashed = [
        found
        for value in (context["project"], context["servicer"].services, context["servicer"].pending, files, services)
        for found in _hashed_below(value)
    ]
    assert {type(found) for found in hashed} == renders._HASHED
    assert [where for found in hashed for where in _sets_below(found, repr(found)[:60], 0, 0)] == []


def test_the_records_render_keys_encode_can_hold_no_set_or_mapping() -> None:
    """What the context can ever hold, not only what these protos make: the types of every field below
    an RPC, a service and a proto file, as msgspec reads them, hold no set and no mapping (a mapping's
    order is the template's to follow; a set's follows the hash seed)."""
    seen: set[object] = set()
    pending: list[Any] = [msgspec.inspect.type_info(kind) for kind in renders._HASHED]
    kinds: set[str] = set()
    while pending:
        info = pending.pop()
        if id(info) in seen:
            continue
        seen.add(id(info))
        kinds.add(type(info).__name__)
        if isinstance(info, msgspec.inspect.StructType):
            pending += [field.type for field in info.fields]
        for name in ("item_type", "item_types", "types"):
            inner = getattr(info, name, None)
            pending += list(inner) if isinstance(inner, tuple) else [inner] if inner is not None else []
    assert "StructType" in kinds and "StrType" in kinds
    assert kinds.isdisjoint({"SetType", "FrozenSetType", "DictType", "AnyType", "CustomType"}), kinds


def _hashed_below(value: object) -> list[Any]:
    """Every RPC, service and proto file in `value` (through records' fields, sequences and mapping values)."""
    if type(value) in renders._HASHED:
        return [
            value,
            *(found for name in field_names(type(value)) or () for found in _hashed_below(getattr(value, name))),
        ]
    if not isinstance(value, type) and field_names(type(value)) is not None:
        items = [getattr(value, name) for name in field_names(type(value)) or ()]
    elif isinstance(value, (tuple, list)):
        items = list(value)
    elif isinstance(value, dict):
        items = list(value.values())
    else:
        return []
    return [found for item in items for found in _hashed_below(item)]


def _project(doc: str, extra: tuple[str, ...] = ()) -> Project:
    """A project of one service of two RPCs, built fresh (no object shared with another call's)."""
    module = Import("shop.generated", "shop_pb2", "shop_pb2")
    item = MessageRef("shop.Item", module, "Item")
    rpcs = tuple(
        Rpc(name, f"/shop.Shop/{name}", "unary_unary", item, item, text, False, name.lower())
        for name, text in (("Get", doc), ("Put", "Stores an item."), *((n, "") for n in extra))
    )
    service = Service("Shop", "shop.Shop", "shop", module, "ShopServicer", "", False, rpcs, "shop")
    return Project("shop", "shop.generated", (ProtoFile("shop.proto", "shop", (service,), "shop"),))


def test_a_render_key_takes_records_msgpack_cannot_say_from_a_hand_edited_manifest() -> None:
    """The servicer's view holds services read back from the manifest, unchecked: one edited by hand to an
    int past 64 bits, or a lone surrogate in a docstring, is keyed by its `repr` (msgpack refuses both),
    never a traceback, and apart from the record as it was."""
    project = _project("Finds an item.")
    service = project.files[0].services[0]
    odd = [structs.replace(service, deprecated=2**70), structs.replace(service, doc="a \ud800 note")]  # type: ignore[arg-type]
    digests = [renders.Keys().digest_of(value) for value in (service, *odd)]
    assert len(set(digests)) == 3 and digests[1:] == [renders.Keys().digest_of(value) for value in odd]


def test_a_render_key_follows_what_each_rpc_holds_not_which_object_holds_it() -> None:
    """`renders.Keys` hashes each RPC, service and proto file once per pass, found by identity: equal models
    built apart key alike, in one pass or two, and a change anywhere in an RPC (its comment, a message's
    import, one RPC more) changes the key of everything that holds it, the whole project and its file."""
    keys = renders.Keys()
    first, again = _project("Finds an item."), _project("Finds an item.")
    assert keys.digest_of(first) == keys.digest_of(again) == renders.Keys().digest_of(_project("Finds an item."))
    assert keys.digest_of(first.files[0]) == keys.digest_of(again.files[0])
    changed = [
        _project("Finds an item by its name."),
        _project("Finds an item.", extra=("Drop",)),
        structs.replace(
            first,
            files=tuple(
                structs.replace(
                    file,
                    services=tuple(
                        structs.replace(
                            service,
                            rpcs=(
                                structs.replace(
                                    service.rpcs[0],
                                    request=structs.replace(
                                        service.rpcs[0].request, module=Import("shop.generated", "shop_pb2", "s_pb2")
                                    ),
                                ),
                                *service.rpcs[1:],
                            ),
                        )
                        for service in file.services
                    ),
                )
                for file in first.files
            ),
        ),
    ]
    digests = {keys.digest_of(project) for project in (first, *changed)}
    assert len(digests) == 1 + len(changed)
    assert len({keys.digest_of(project.files[0]) for project in (first, *changed)}) == 1 + len(changed)
    assert keys.fingerprint("s", {"modules": frozenset({"b", "a", "c"})}) == keys.fingerprint(
        "s", {"modules": frozenset({"c", "a", "b"})}
    )
