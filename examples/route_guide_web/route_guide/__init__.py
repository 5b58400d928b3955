"""route_guide: a gRPC project for protos/route_guide.proto, made with scaffold."""
