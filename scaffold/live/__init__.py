"""The project at work: `watch`, `dev` (and its server, `devserver`), `call`
(the method from `methods`, the requests from `request`, metadata, TLS and
failures from `connection`), and `describe`/`inspect` (`symbols`,
`listing`), which read the project's protos as the generation does.

May import: `scaffold.layout`, `scaffold.core`, `scaffold.record`,
`scaffold.generation` and `scaffold.api`. Never breaking or the CLI. Imports
nothing here.
"""
