"""Map speed: time to the first interactive frame of the dashboard's network map, and frame times
during a scripted pan and zoom, in Chromium.

A random graph with community structure (default 50,000 accounts, 200,000 edges) is ingested as an
edge list, analysed (communities, influence) and laid out on all its nodes; the dashboard then
serves it, and Chromium (Playwright, Debian's chromium, software WebGL) opens ``/map`` once for each
node count in ``--draw`` (``/map?max_nodes=N``: the map's documented sampling keeps the N accounts
with the most interactions). Measured, and printed with the node count:

- server: reading the layout (``map_data``), encoding the columnar JSON (``map_json``), the payload's size;
- browser, from navigation: the /api/map response, ``JSON.parse``, the graphology import, sigma's
  construction and first render (``performance.mark`` in ``frontend/src/map.js``), and the first
  interactive frame (``data-map-ready`` set, then two ``requestAnimationFrame``);
- focusing an account through the search box;
- "fluid": a scripted pan (a drag along a circle, one mouse move per frame) then a zoom in and out
  (one wheel event per frame), 240 frames, timed with ``requestAnimationFrame`` in the page:
  median and 95th-percentile frame time, and frames per second;
- with ``--profile``, where a moving frame's time goes: the same pan and zoom again under Chromium's
  tracing, each thread's busy time per frame: the page's main thread (JavaScript, style, layout), and
  of it the time blocked on the GPU process (a WebGL read-back: sigma's picking, the compositor's copy
  of each WebGL canvas); the GPU process running the WebGL commands (SwiftShader's rasteriser here);
  the compositor.

Software WebGL (SwiftShader) on a loaded 2-core machine is a floor: a laptop's GPU draws much faster.

    .venv/bin/python benchmarks/dashboard.py [--nodes 50000] [--edges 200000] [--draw 20000,50000]
    .venv/bin/python benchmarks/dashboard.py --workspace DIR   # reuse an analysed, laid-out workspace
    .venv/bin/python benchmarks/dashboard.py --profile         # also split a moving frame by thread
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

#: In-page driver: one synthetic input event per animation frame (the rate a browser delivers real
#: mouse moves), every frame's timestamp recorded. Returns the frame times in milliseconds while the
#: camera moves, and, for reference, of 60 idle frames just before (the browser's own floor here).
SCRIPTED_PAN_ZOOM = """async () => {
  const target = document.querySelector("#map canvas.sigma-mouse") || document.querySelector("#map canvas:last-of-type");
  const box = target.getBoundingClientRect();
  const cx = box.left + box.width / 2, cy = box.top + box.height / 2;
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  const mouse = (type, x, y) => (type === "mousedown" ? target : document).dispatchEvent(
    new MouseEvent(type, { clientX: x, clientY: y, bubbles: true, cancelable: true, button: 0, buttons: 1 }));
  const wheel = (deltaY) => target.dispatchEvent(
    new WheelEvent("wheel", { clientX: cx, clientY: cy, deltaY, deltaMode: 0, bubbles: true, cancelable: true }));
  const idle = [await frame()];
  for (let k = 0; k < 60; k++) idle.push(await frame());
  const stamps = [await frame()];
  mouse("mousedown", cx, cy);
  for (let k = 1; k <= 120; k++) {
    const angle = (2 * Math.PI * k) / 120;
    mouse("mousemove", cx + 120 * Math.sin(angle), cy + 60 - 60 * Math.cos(angle));
    stamps.push(await frame());
  }
  mouse("mouseup", cx, cy);
  for (let k = 0; k < 120; k++) {
    wheel(k < 60 ? -120 : 120);
    stamps.push(await frame());
  }
  const deltas = (times) => times.slice(1).map((t, k) => t - times[k]);
  return { idle: deltas(idle), moving: deltas(stamps) };
}"""

#: Loading phases from navigation start: the /api/map exchange and the marks map.js sets.
PHASES = """() => {
  const at = (name) => { const m = performance.getEntriesByName(name, "mark"); return m.length ? m[m.length - 1].startTime : null; };
  const api = performance.getEntriesByType("resource").filter((r) => r.name.includes("/api/map"));
  const r = api[api.length - 1];
  return { request: at("map:request"), parsed: at("map:parsed"), graph: at("map:graph"), drawn: at("map:drawn"),
           api_request: r ? r.requestStart : null, api_first_byte: r ? r.responseStart : null, api_end: r ? r.responseEnd : null };
}"""

#: Trace events that split a moving frame: every task a thread runs, the page's waits on the GPU
#: process, and the GPU process's execution of WebGL commands.
TRACE_CATEGORIES = ["toplevel", "gpu", "devtools.timeline"]
TASK_EVENTS = {"ThreadControllerImpl::RunTask", "RunTask"}
FRAME_SPLIT = (
    ("page main thread", "CrRendererMain", TASK_EVENTS),
    ("  of it blocked on the GPU process", "CrRendererMain", {"CommandBufferProxyImpl::WaitForGetOffset"}),
    ("GPU process, running WebGL", "CrGpuMain", {"WebGL"}),
    ("GPU process, all", "CrGpuMain", TASK_EVENTS),
    ("compositor (viz)", "VizCompositorThread", TASK_EVENTS),
)


def frame_split(trace: dict, frames: int) -> dict[str, float]:
    """Milliseconds per moving frame that each part of ``FRAME_SPLIT`` spent, from a Chrome trace."""
    threads = {(e["pid"], e["tid"]): e["args"]["name"] for e in trace["traceEvents"]
               if e.get("ph") == "M" and e.get("name") == "thread_name"}
    split = dict.fromkeys((label for label, _, _ in FRAME_SPLIT), 0.0)
    for e in trace["traceEvents"]:
        if e.get("ph") != "X" or "dur" not in e:
            continue
        thread = threads.get((e["pid"], e["tid"]))
        for label, name, events in FRAME_SPLIT:
            if thread == name and e["name"] in events:
                split[label] += e["dur"] / 1000.0 / frames
    return split


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


def build_world(root: Path, nodes: int, edges: int, seed: int):
    from confiance.graph.layout import run_layout
    from confiance.ingest import ingest_paths
    from confiance.pipeline import analyze
    from confiance.workspace import Workspace

    path = root / "edges.csv"
    write_edges(path, nodes, edges, communities=max(2, nodes // 2500), seed=seed)
    ws = Workspace.init(root / "ws")
    started = time.perf_counter()
    ingest_paths(ws, [path], format_name="edges-csv")
    analyze(ws, only=["communities", "influence"])
    with ws.writer() as con:
        laid = run_layout(con, "bench", max_nodes=nodes)
    print(f"world: {laid['nodes']:,} of {laid['of']:,} nodes laid out; ingest + analyse + layout "
          f"{time.perf_counter() - started:.1f} s")
    return ws


def server_side(app, max_nodes: int) -> dict[str, float]:
    """Layout read and JSON encoding in-process (the route's own work, without HTTP)."""
    from confiance.web.map import map_data, map_json

    con = app.state.snapshot.cursor()
    try:
        t0 = time.perf_counter()
        data = map_data(con, max_nodes=max_nodes)
        t1 = time.perf_counter()
        payload = map_json(data, lambda p, a, h: {"ref": a, "label": h or a})
        t2 = time.perf_counter()
    finally:
        con.close()
    return {"read_s": t1 - t0, "encode_s": t2 - t1, "bytes": len(payload), "edges": len(data.edges) // 2}


def measure(browser, base: str, max_nodes: int, profile: bool = False) -> dict[str, float]:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    t0 = time.perf_counter()
    page.goto(f"{base}/map?max_nodes={max_nodes}")
    while page.evaluate("document.body.dataset.mapReady") is None:
        time.sleep(0.02)
    page.evaluate("new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)))")
    first_frame = time.perf_counter() - t0
    phases = page.evaluate(PHASES)
    shown = int(page.evaluate("document.body.dataset.mapReady"))
    status = page.text_content("#map-status")
    timed = page.evaluate(SCRIPTED_PAN_ZOOM)
    frames, idle = np.asarray(timed["moving"], dtype=np.float64), np.asarray(timed["idle"], dtype=np.float64)
    page.evaluate("new Promise(resolve => setTimeout(resolve, 500))")  # let the zoom settle
    split = None
    if profile:
        browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
        traced = page.evaluate(SCRIPTED_PAN_ZOOM)
        split = frame_split(json.loads(browser.stop_tracing()), len(traced["moving"]))
        split["frame (traced)"] = float(np.mean(traced["moving"]))
        page.evaluate("new Promise(resolve => setTimeout(resolve, 500))")
    label = page.eval_on_selector("#map-accounts option", "o => o.value")
    t1 = time.perf_counter()
    page.fill("#map-search", label)
    page.click("#map-filters button[type=submit]")
    while page.evaluate("document.body.dataset.focused") is None:
        time.sleep(0.02)
    focus = time.perf_counter() - t1
    page.close()
    return {"shown": shown, "status": status, "first_frame_s": first_frame, "focus_s": focus, "phases": phases,
            "frame_median_ms": float(np.median(frames)), "frame_p95_ms": float(np.percentile(frames, 95)),
            "fps": float(1000.0 * len(frames) / frames.sum()), "frames": len(frames),
            "idle_frame_median_ms": float(np.median(idle)), "frame_split_ms": split}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=50_000)
    parser.add_argument("--edges", type=int, default=200_000)
    parser.add_argument("--draw", default="20000,50000", help="node counts to draw, comma-separated (max_nodes)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workspace", type=Path, help="an analysed, laid-out workspace to reuse instead of building one")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--profile", action="store_true", help="also trace the pan and zoom and split a moving frame by thread")
    parser.add_argument("--chromium", default=shutil.which("chromium"))
    args = parser.parse_args()

    import uvicorn
    from playwright.sync_api import sync_playwright

    from confiance.web.app import Settings, create_app
    from confiance.workspace import Workspace

    root = Path(tempfile.mkdtemp(prefix="confiance-dashboard-bench-"))
    results = []
    try:
        ws = Workspace.open(args.workspace) if args.workspace else build_world(root, args.nodes, args.edges, args.seed)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        app = create_app(Settings(snapshot=ws.publish_snapshot(), port=port))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium,
                                        args=["--no-sandbox", "--use-gl=swiftshader", "--enable-unsafe-swiftshader"])
            for max_nodes in (int(n) for n in args.draw.split(",")):
                server_figures = server_side(app, max_nodes)
                t = time.perf_counter()
                with urllib.request.urlopen(f"{base}/api/map?max_nodes={max_nodes}") as response:
                    size = len(response.read())
                http_s = time.perf_counter() - t
                figures = {"max_nodes": max_nodes, **server_figures, "http_s": http_s, "http_bytes": size,
                           **measure(browser, base, max_nodes, args.profile)}
                results.append(figures)
                ph = figures["phases"]
                print(f"map: {figures['shown']:,} nodes, {figures['edges']:,} links drawn ({figures['status']})")
                print(f"  server: layout read {figures['read_s']:.2f} s, JSON {figures['encode_s']:.2f} s, "
                      f"{figures['bytes'] / 1e6:.1f} MB; GET /api/map {http_s:.2f} s")
                print("  browser (ms from navigation): " + ", ".join(
                    f"{name} {_ms(ph[key])}" for name, key in (
                        ("request", "request"), ("first byte", "api_first_byte"), ("received", "api_end"),
                        ("JSON.parse", "parsed"), ("graphology", "graph"), ("sigma first render", "drawn"))))
                print(f"  first interactive frame {figures['first_frame_s']:.2f} s; focus an account {figures['focus_s']:.2f} s")
                print(f"  pan/zoom ({figures['frames']} frames): median frame {figures['frame_median_ms']:.1f} ms, "
                      f"p95 {figures['frame_p95_ms']:.1f} ms, {figures['fps']:.1f} fps; idle page: median frame "
                      f"{figures['idle_frame_median_ms']:.1f} ms")
                if figures["frame_split_ms"]:
                    print("  moving frame, ms per frame under tracing: " + ", ".join(
                        f"{label.strip()} {value:.0f}" for label, value in figures["frame_split_ms"].items()))
            browser.close()
        server.should_exit = True
        print("(Chromium, software WebGL (SwiftShader), 2 shared cores: a floor, not a laptop's GPU)")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
