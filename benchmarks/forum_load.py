"""Forum load: 50 learners post 20 messages each, concurrently, through a real hub and the course service.

For SQLite and then PostgreSQL (a private cluster started here), this starts the cohort hub
(deploy/local/jupyterhub_config.py) on loopback ports, asks the hub for one API token per
simulated learner, sends every post through the hub's proxy to the service's JSON API, checks that
all posts are stored exactly once, and prints throughput and p50/p95 latency.

    .venv/bin/python benchmarks/forum_load.py [--learners 50] [--posts 20] [--backend sqlite|postgresql]

Needs root (the hub runs LocalProcessSpawner and PAM as in production), node_modules (npm ci) and,
for PostgreSQL, Debian's postgresql package.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from se4u.config import REPO_DIR
from se4u.service.hub import LocalHub
from se4u.service.testing import PostgresServer
from se4u.service.threads import forum_threads

THREAD = next(iter(forum_threads(REPO_DIR / "notebooks" / "banks")))


async def learner(client: httpx.AsyncClient, base: str, token: str, name: str, posts: int,
                  latencies: list[float], failures: list[str]) -> None:
    headers = {"Authorization": f"token {token}"}
    for n in range(posts):
        started = time.perf_counter()
        answer = await client.post(f"{base}api/threads/{THREAD}/posts", headers=headers,
                                   json={"body": f"load {name} #{n}"})
        latencies.append(time.perf_counter() - started)
        if answer.status_code != 201:
            failures.append(f"{name} #{n}: {answer.status_code} {answer.text[:100]}")


async def run_load(hub: LocalHub, tokens: dict[str, str], posts: int) -> tuple[float, list[float], list[str]]:
    latencies: list[float] = []
    failures: list[str] = []
    limits = httpx.Limits(max_connections=len(tokens) + 5, max_keepalive_connections=len(tokens) + 5)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        # one warm-up request per learner: the service asks the hub who the token belongs to (then caches)
        await asyncio.gather(*(client.get(f"{hub.service_url}api/me", headers={"Authorization": f"token {t}"})
                               for t in tokens.values()))
        started = time.perf_counter()
        await asyncio.gather(*(learner(client, hub.service_url, token, name, posts, latencies, failures)
                               for name, token in tokens.items()))
        elapsed = time.perf_counter() - started
    return elapsed, latencies, failures


def verify(hub: LocalHub, instructor_token: str, names: list[str], posts: int) -> tuple[int, list[str]]:
    answer = httpx.get(f"{hub.service_url}api/threads/{THREAD}/posts", timeout=60,
                       headers={"Authorization": f"token {instructor_token}"})
    answer.raise_for_status()
    bodies = Counter(p["body"] for p in answer.json()["posts"])
    expected = {f"load {name} #{n}" for name in names for n in range(posts)}
    problems = [f"missing: {b}" for b in expected if bodies[b] == 0]
    problems += [f"{count}x: {b}" for b, count in bodies.items() if count != 1 or b not in expected]
    return sum(bodies.values()), problems


def bench(backend: str, learners: int, posts: int) -> dict[str, object]:
    state = Path(tempfile.mkdtemp(prefix=f"se4u-load-{backend}-"))
    postgres = PostgresServer() if backend == "postgresql" else None
    db = postgres.create_database("forum_load") if postgres else str(state / "service" / "load.sqlite")
    names = [f"loadlearner{i:02d}" for i in range(learners)]
    hub = LocalHub(state, learners=names, instructors=["loadinstructor"], service_db=db,
                   admin_token=secrets.token_hex(24), create_accounts=False)
    try:
        hub.start()
        tokens = {name: hub.user_token(name) for name in names}
        instructor_token = hub.user_token("loadinstructor")
        elapsed, latencies, failures = asyncio.run(run_load(hub, tokens, posts))
        stored, problems = verify(hub, instructor_token, names, posts)
    finally:
        hub.stop()
        if postgres:
            postgres.stop()
        shutil.rmtree(state, ignore_errors=True)
    cuts = statistics.quantiles(latencies, n=100)
    return {"backend": backend, "requests": len(latencies), "seconds": elapsed,
            "throughput": len(latencies) / elapsed, "p50_ms": cuts[49] * 1000, "p95_ms": cuts[94] * 1000,
            "stored": stored, "failures": failures, "problems": problems}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=50)
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], action="append")
    args = parser.parse_args(argv)
    ok = True
    for backend in args.backend or ["sqlite", "postgresql"]:
        result = bench(backend, args.learners, args.posts)
        expected = args.learners * args.posts
        once = result["stored"] == expected and not result["problems"] and not result["failures"]
        ok &= once
        print(f"{backend:<10} {result['requests']} posts by {args.learners} learners in "
              f"{result['seconds']:.2f} s: {result['throughput']:.0f} posts/s, "
              f"p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms; "
              f"stored {result['stored']}/{expected}, exactly once: {'yes' if once else 'NO'}", flush=True)
        for line in (result["failures"] + result["problems"])[:10]:
            print(f"  {line}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
