"""scaffold: turn .proto files into a working gRPC project and keep it in step with them."""

import os
import sys

__version__ = "0.1.0"


def run_identity() -> str:
    """What a no-op stamp holds for besides its files: the tool's version and the Python it runs in, with
    its import path (a proto an installed distribution ships is an input of a project that copies it)."""
    return "\0".join([__version__, sys.prefix, os.environ.get("PYTHONPATH", "")])


def user_cache(part: str) -> str:
    """`part` of scaffold's cache in the user's home (`$XDG_CACHE_HOME/scaffold/PART`): what every project on
    this machine shares (compiled templates, what each template reads, the help texts)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "scaffold", part)
