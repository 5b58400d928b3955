"""helloworld: a gRPC project for protos/helloworld.proto, made with scaffold."""
