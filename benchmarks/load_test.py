"""A bounded HTTP load test: N keep-alive connections POST JSON bodies to one URL until a request
count or a time limit is reached, and report latency percentiles, throughput and errors.

It speaks HTTP/1.1 over raw asyncio streams (no client library), so one process can drive
thousands of requests per second while spending little CPU of its own; run it in its own
process, beside the server, never inside it.

    python -m benchmarks.load_test --url http://127.0.0.1:8001/get-online-features \\
        --body '{"features": ["user_stats:rating_count"], "entities": {"user_id": [1]}}' \\
        --concurrency 16 --requests 20000 --time-limit 30

`--bodies FILE` takes one JSON body per line instead (sent in turn, cycling).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["LoadResult", "main", "run_load"]


class LoadResult(dict[str, Any]):
    """requests, errors, seconds, throughput (requests/s), latency percentiles in ms
    (p50, p95, p99, max), and status code counts."""


def _request(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
        "",
        "",
    ]
    return "\r\n".join(lines).encode() + body


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def _connection(
    url: str,
    requests: Sequence[bytes],
    next_index: list[int],
    limit: int,
    deadline: float,
    latencies: list[int],
    statuses: Counter[int],
    errors: list[str],
) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    reader, writer = await asyncio.open_connection(host, port)
    clock = time.perf_counter_ns
    try:
        while next_index[0] < limit and time.monotonic() < deadline:
            index = next_index[0]
            next_index[0] += 1
            started = clock()
            writer.write(requests[index % len(requests)])
            try:
                status, body = await _response(reader)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                errors.append(f"connection: {exc!r}")
                statuses[0] += 1
                return
            latencies.append(clock() - started)
            statuses[status] += 1
            if status != 200 and len(errors) < 5:
                errors.append(f"{status}: {body[:200].decode(errors='replace')}")
    finally:
        writer.close()


def _percentile(ordered: Sequence[int], q: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] / 1e6


async def _run(
    url: str,
    bodies: Sequence[bytes],
    concurrency: int,
    requests: int,
    time_limit: float,
    headers: dict[str, str],
) -> LoadResult:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    encoded = [_request(host, port, parts.path or "/", body, headers) for body in bodies]
    latencies: list[int] = []
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    next_index = [0]
    started = time.perf_counter()
    deadline = time.monotonic() + time_limit
    await asyncio.gather(
        *(
            _connection(url, encoded, next_index, requests, deadline, latencies, statuses, errors)
            for _ in range(concurrency)
        )
    )
    seconds = time.perf_counter() - started
    ordered = sorted(latencies)
    failed = sum(n for status, n in statuses.items() if status != 200)
    return LoadResult(
        requests=len(latencies),
        errors=failed,
        error_samples=errors,
        seconds=seconds,
        throughput=len(latencies) / seconds if seconds else 0.0,
        p50_ms=_percentile(ordered, 0.50),
        p95_ms=_percentile(ordered, 0.95),
        p99_ms=_percentile(ordered, 0.99),
        max_ms=ordered[-1] / 1e6 if ordered else float("nan"),
        statuses={str(k): v for k, v in sorted(statuses.items())},
        concurrency=concurrency,
    )


def run_load(
    url: str,
    bodies: Sequence[bytes],
    *,
    concurrency: int = 1,
    requests: int = 1000,
    time_limit: float = 30.0,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """Send up to `requests` requests (bodies in turn) over `concurrency` connections, for at
    most `time_limit` seconds."""
    try:
        import uvloop

        uvloop.install()  # a faster event loop when present: more load per core
    except ImportError:
        pass
    return asyncio.run(_run(url, bodies, concurrency, requests, time_limit, headers or {}))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load_test", description=__doc__)
    parser.add_argument("--url", required=True)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--body", help="one JSON body")
    source.add_argument("--bodies", type=Path, help="a file of JSON bodies, one per line")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--requests", type=int, default=1000, help="at most this many")
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds, at most")
    parser.add_argument("--header", action="append", default=[], help="'Name: value'")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    lines = [args.body] if args.body else args.bodies.read_text().splitlines()
    bodies = [line.encode() for line in lines if line.strip()]
    headers = dict(h.split(":", 1) for h in args.header)
    result = run_load(
        args.url,
        bodies,
        concurrency=args.concurrency,
        requests=args.requests,
        time_limit=args.time_limit,
        headers={k.strip(): v.strip() for k, v in headers.items()},
    )
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"{result['requests']:,} requests in {result['seconds']:.2f} s "
        f"({result['throughput']:,.0f}/s, concurrency {args.concurrency}); "
        f"p50 {result['p50_ms']:.2f} ms, p95 {result['p95_ms']:.2f} ms, "
        f"p99 {result['p99_ms']:.2f} ms, max {result['max_ms']:.2f} ms; "
        f"errors {result['errors']} {result['statuses']}"
    )
    for sample in result["error_samples"]:
        print(f"  {sample}")


if __name__ == "__main__":
    main()
