"""Map speed: time to the first interactive frame of the dashboard's network map, in Chromium.

A random graph with community structure (default 50,000 accounts, 200,000 edges) is ingested as an
edge list, analysed (communities, influence) and laid out on all its nodes; the dashboard then
serves it, and Chromium (Playwright, Debian's chromium) opens ``/map``. Measured: from navigation to
the map's first frame after sigma has drawn every node (``data-map-ready`` set, then one
``requestAnimationFrame``), then the time to focus an account. Prints the times and the node count.

    .venv/bin/python benchmarks/dashboard.py [--nodes 50000] [--edges 200000]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def write_edges(path: Path, nodes: int, edges: int, communities: int, seed: int) -> None:
    """Planted-partition edges: 85% inside a community, heavy-tailed activity."""
    rng = np.random.default_rng(seed)
    community = rng.integers(0, communities, nodes)
    activity = rng.pareto(1.5, nodes) + 1
    src = rng.choice(nodes, edges, p=activity / activity.sum())
    inside = rng.random(edges) < 0.85
    members = [np.flatnonzero(community == c) for c in range(communities)]
    dst = rng.integers(0, nodes, edges)
    for c in range(communities):
        pick = inside & (community[src] == c)
        dst[pick] = rng.choice(members[c], pick.sum())
    keep = src != dst
    with open(path, "w") as fh:
        fh.write("source,target,kind\n")
        for a, b in zip(src[keep], dst[keep]):
            fh.write(f"a{a},a{b},repost\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=50_000)
    parser.add_argument("--edges", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chromium", default=shutil.which("chromium"))
    args = parser.parse_args()

    import uvicorn
    from playwright.sync_api import sync_playwright

    from confiance.graph.layout import run_layout
    from confiance.ingest import ingest_paths
    from confiance.pipeline import analyze
    from confiance.web.app import Settings, create_app
    from confiance.workspace import Workspace

    root = Path(tempfile.mkdtemp(prefix="confiance-dashboard-bench-"))
    try:
        edges = root / "edges.csv"
        write_edges(edges, args.nodes, args.edges, communities=max(2, args.nodes // 2500), seed=args.seed)
        ws = Workspace.init(root / "ws")
        started = time.perf_counter()
        ingest_paths(ws, [edges], format_name="edges-csv")
        analyze(ws, only=["communities", "influence"])
        with ws.writer() as con:
            laid = run_layout(con, "bench", max_nodes=args.nodes)
        print(f"world: {laid} nodes laid out; ingest + analyse + layout {time.perf_counter() - started:.1f} s")

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(Settings(snapshot=ws.publish_snapshot(), port=port)),
                                               host="127.0.0.1", port=port, log_level="warning", access_log=False))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium,
                                        args=["--no-sandbox", "--use-gl=swiftshader", "--enable-unsafe-swiftshader"])
            page = browser.new_page()
            t0 = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/map")
            while page.evaluate("document.body.dataset.mapReady") is None:
                time.sleep(0.02)
            page.evaluate("new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)))")
            first_frame = time.perf_counter() - t0
            shown = int(page.evaluate("document.body.dataset.mapReady"))
            label = page.eval_on_selector("#map-accounts option", "o => o.value")
            t1 = time.perf_counter()
            page.fill("#map-search", label)
            page.click("#map-filters button[type=submit]")
            while page.evaluate("document.body.dataset.focused") is None:
                time.sleep(0.02)
            focus = time.perf_counter() - t1
            browser.close()
        server.should_exit = True
        print(f"map: {shown:,} nodes drawn; first interactive frame {first_frame:.2f} s; focus an account {focus:.2f} s "
              f"(Chromium, software WebGL, 2 cores)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
