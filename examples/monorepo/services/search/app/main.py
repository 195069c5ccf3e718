"""search: a gRPC server that initialises tracing before it serves (no findings expected)."""

from concurrent import futures

import grpc

from shared.platform_obs import start_observability


def serve(port: int = 50051) -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_insecure_port(f"[::]:{port}")
    server.start()
    server.wait_for_termination()


if __name__ == "__main__":
    start_observability("search")
    serve()
