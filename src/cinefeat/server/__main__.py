"""`python -m cinefeat.server [--repo PATH] [--host H] [--port P] [--workers N]`: the same
server as `cinefeat serve`."""

from __future__ import annotations

import argparse

from cinefeat.server import DEFAULT_HOST, DEFAULT_PORT, serve

__all__: list[str] = []


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m cinefeat.server", description=__doc__)
    parser.add_argument("--repo", default=".", help="the repo to serve (default: .)")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    args = parser.parse_args()
    serve(args.repo, args.host, args.port, args.workers)


if __name__ == "__main__":
    main()
