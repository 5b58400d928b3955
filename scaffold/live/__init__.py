"""The project at work: `watch`, `dev` (and its server, `devserver`), `call`,
and `describe`/`inspect` (`symbols`, `listing`), which read the project's
protos as the generation does.

May import: `scaffold.layout`, `scaffold.core`, `scaffold.record`,
`scaffold.generation` and `scaffold.api`. Never breaking or the CLI. Imports
nothing here.
"""
