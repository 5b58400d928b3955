"""The generation: from a project's config and protos to the plan of every file.

Stages, in order: the config (`config`, its schema; `configfile`, the file
found and read; `configkeys`, each key checked; `packagename`; `formatting`),
the inputs and their digest (`inputs`, `uptodate` for the no-op check), the
inputs read once (`project`, `replay`), protoc (`protoc`, `incremental`,
`repair`, `relocate`), the model (`describe`; each file's `summary`;
`unusable`: names refused at their line), the user's code kept
(`reconcile`, `merge`, `pysource`, `relayout` with `oldlayout`, `arrival`,
`leftover` and `moveproof`), the render (`render`, `renders`, `generate`),
the plan (`plan`) and the one pipeline over them (`pipeline`).

May import: `scaffold.layout`, `scaffold.core` and `scaffold.record`. Never
breaking, live, the API or the CLI (one exception, held by
tests/test_architecture.py: `configkeys` checks `ignore_only`'s rule IDs
against `scaffold.breaking.rules`, lazily). Imports nothing here.
"""
