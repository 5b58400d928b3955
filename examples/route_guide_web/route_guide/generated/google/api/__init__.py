"""Modules protoc generated from protos.

scaffold rewrites this package on every `scaffold gen`: do not edit it.
"""
