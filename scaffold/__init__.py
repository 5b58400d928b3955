"""scaffold: turn .proto files into a working gRPC project and keep it in step with them."""

import os
import sys

__version__ = "0.1.0"


def run_identity() -> str:
    """What a no-op stamp holds for besides its files: the tool's version and the Python it runs in, with
    its import path (a proto an installed distribution ships is an input of a project that copies it)."""
    return "\0".join([__version__, sys.prefix, os.environ.get("PYTHONPATH", "")])
