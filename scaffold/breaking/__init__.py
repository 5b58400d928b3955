"""`scaffold breaking`: the proto changes that break deployed clients, by buf's rules.

The two sides compared (`sides`: the project now, and a git revision, a
directory or a descriptor set), each read as elements with places
(`protosource`); buf's rules over them (`rules`, split by what they compare);
the rules a configuration selects, as buf selects them per config version
(`selection`); a buf.yaml beside the protos read as buf reads it (`bufyaml`);
and the check around them (`check`: ignores, and the user's code each break
touches).

May import: `scaffold.layout`, `scaffold.core`, `scaffold.record` and
`scaffold.generation` (the project's config and protoc). Never the API, the
live loop or the CLI. Imports nothing here.
"""
