"""scaffold's runtime of route_guide: how its server runs and how its clients connect.

scaffold rewrites this package on every `scaffold gen`, like protoc's modules
beside it: do not edit it. `route_guide.server` and the client modules,
which are yours, put it together; each module says where it can be changed.
"""
