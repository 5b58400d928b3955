"""scaffold: turn .proto files into a working gRPC project and keep it in step with them."""

__version__ = "0.1.0"
