"""The record: everything scaffold keeps under a project's `.scaffold/`.

The write stage (`write`: all of a run's files or none; what it refuses,
`validate`; the swap of one file, `swap`; the journal and the rollback,
`journal`; the file primitives they share, `fileops`), the lock (`lock`),
the manifest and the merge bases (`state`, `bases`), and what only makes
the next run fast: the cache directory (`cache`), hashes known from file
status (`hashes`), sharded entries (`shards`), the memo of earlier results
(`memo`), and the project directory read once (`disk`).

May import: `scaffold.layout` and `scaffold.core`. Never the generation, nor
anything above it. Imports nothing here.
"""
