"""Every path and file name of a scaffold project, in one place.

Standard library only, and nothing but constants: the no-op path
(`scaffold.fastpath`) imports this before anything else, and every stage
that reads or writes the project names its files from here, so no two
modules can disagree on where a thing lives.
"""

CONFIG_FILE = "pyproject.toml"
"""The project's pyproject.toml: the config lives under `[tool.scaffold]`."""
TABLE = "tool.scaffold"
PROTO_DIR = "protos"
"""Where `new` copies the protos it was given (and every proto they import)."""

STATE_DIR = ".scaffold"
"""scaffold's record of the project (commit it)."""
MANIFEST = f"{STATE_DIR}/manifest.json"
BASE_DIR = f"{STATE_DIR}/base"
"""The merge base of every user file: what scaffold last rendered for it."""
TXN_DIR = f"{STATE_DIR}/txn"
"""A transaction in progress, or one a killed run left behind (see `scaffold.record.write`)."""
JOURNAL = "journal.json"

CACHE_DIR = f"{STATE_DIR}/cache"
"""What makes the next run fast, never what makes it right (ignored by git; safe to delete)."""
PROTOC_RECORD = "protoc"
"""A directory: the record of protoc's results, in shards (see `scaffold.generation.incremental`)."""
STAMP = f"{CACHE_DIR}/no-op.marshal"
STAMP_FORMAT = 5
LOCK_FILE = f"{CACHE_DIR}/lock"

BACKUP_SUFFIX = ".mine"
"""A hand-edited (or unknown) generated file is kept beside its new version as NAME.mine."""
