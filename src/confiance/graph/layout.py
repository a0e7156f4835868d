"""Server-side force-directed layout of the account graph (for the report's community map and exports).

Two stages, both deterministic for a seed:

1. **PivotMDS** (Brandes & Pich 2007, networkit's ``viz.PivotMDS``) places the nodes from their
   hop distances to a few pivots: the global shape in one linear-algebra pass. PivotMDS needs a
   connected graph, so a virtual hub is linked to the highest-degree node of every component and
   dropped afterwards (networkit's ``MaxentStress`` gives finer layouts but took 67 s on 3,000 nodes
   here and refuses disconnected graphs).
2. **ForceAtlas2-style refinement** (Jacomy et al. 2014): linear attraction along edges (weights
   tempered by ``log1p``), degree-scaled repulsion ``(deg_i + 1)(deg_j + 1) / d`` between every pair of
   nodes and a constant gravity towards the centre, with a cooling step. ForceAtlas2 approximates the
   all-pairs repulsion with Barnes-Hut; here it is a particle-mesh sum (Hockney & Eastwood 1988): masses
   are spread on a grid (cloud-in-cell), convolved with the repulsion kernel by FFT
   (``scipy.signal.fftconvolve``) and read back at each node, while the pairs closer than two cells, which
   the grid blurs, are summed exactly over each node's nearest neighbours (a k-d tree). Each step is
   linear in the nodes plus one FFT: 50,000 nodes lay out in about half a minute.

Graphs larger than ``max_nodes`` are laid out on their ``max_nodes`` nodes of highest weighted degree
(the returned ``node_indexes`` say which); the rest gets no position.

References
----------
Brandes, U., Pich, C. (2007). Eigensolver methods for progressive multidimensional scaling of large
data. Graph Drawing 2006, LNCS 4372.
Jacomy, M., Venturini, T., Heymann, S., Bastian, M. (2014). ForceAtlas2, a continuous graph layout
algorithm for handy network visualization designed for the Gephi software. PLoS ONE 9(6): e98679.
Hockney, R. W., Eastwood, J. W. (1988). Computer Simulation Using Particles. Adam Hilger (chapters 5-6:
the particle-mesh method, cloud-in-cell assignment).
"""

from __future__ import annotations

from functools import lru_cache

import duckdb
import numpy as np
import scipy.sparse as sp
from scipy.signal import fftconvolve
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from confiance.graph.build import AccountGraph

LAYOUT_TABLE = "graph_layout"
#: As many as the dashboard's map draws (``web.map.MAX_MAP_NODES``).
DEFAULT_MAX_NODES = 50_000
DEFAULT_ITERATIONS = 150
#: Repulsion between nodes closer than this many grid cells is summed exactly, over at most
#: ``NEAR_NEIGHBOURS`` nearest neighbours (the grid blurs it; a dense clump would make all pairs quadratic).
NEAR_CELLS = 2.0
NEAR_NEIGHBOURS = 8

__all__ = ["layout", "run_layout", "layout_summary", "LAYOUT_TABLE"]


def layout(
    graph: AccountGraph,
    *,
    seed: int = 0,
    max_nodes: int = DEFAULT_MAX_NODES,
    iterations: int = DEFAULT_ITERATIONS,
) -> tuple[np.ndarray, np.ndarray]:
    """Force-directed 2-D positions of the graph's nodes (edge direction ignored).

    Parameters
    ----------
    graph : AccountGraph
        Directed or undirected; two-way edges are merged into one undirected pair.
    seed : int
        Seeds networkit's pivot choice and the jitter that separates coincident nodes.
    max_nodes : int
        Lay out at most this many nodes: those of highest weighted degree (ties by index).
    iterations : int
        Refinement steps after PivotMDS.

    Returns
    -------
    node_indexes : ndarray of int64
        Indexes into the graph's node arrays, ascending.
    xy : ndarray of float64, shape (len(node_indexes), 2)
        Positions scaled into [-1, 1] on the larger axis, centred on 0.

    References
    ----------
    Brandes & Pich (2007), PivotMDS; Jacomy et al. (2014), ForceAtlas2.
    """
    undirected = graph.undirected()
    n = undirected.n
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 2))
    strength = (np.bincount(undirected.src, weights=undirected.weight, minlength=n)
                + np.bincount(undirected.dst, weights=undirected.weight, minlength=n))
    if n > max_nodes:
        keep = np.sort(np.argsort(-strength, kind="stable")[:max_nodes])
    else:
        keep = np.arange(n, dtype=np.int64)
    position = np.full(n, -1, dtype=np.int64)
    position[keep] = np.arange(len(keep))
    inside = (position[undirected.src] >= 0) & (position[undirected.dst] >= 0)
    src, dst = position[undirected.src[inside]], position[undirected.dst[inside]]
    weight = undirected.weight[inside]
    rng = np.random.default_rng(seed)
    xy = _pivot_mds(len(keep), src, dst, seed, rng)
    xy = _refine(xy, src, dst, weight, iterations, rng)
    xy -= (xy.max(axis=0) + xy.min(axis=0)) / 2
    extent = np.abs(xy).max()
    return keep.astype(np.int64), xy / extent if extent > 0 else xy


def _pivot_mds(n: int, src: np.ndarray, dst: np.ndarray, seed: int, rng: np.random.Generator) -> np.ndarray:
    """PivotMDS on hop distances, with a virtual hub joining the components."""
    if n == 1:
        return np.zeros((1, 2))
    import networkit as nk

    adjacency = sp.coo_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
    count, labels = connected_components(adjacency, directed=False)
    degree = np.bincount(src, minlength=n) + np.bincount(dst, minlength=n)
    nk.engineering.setSeed(seed, False)
    nk.setNumberOfThreads(1)
    g = nk.Graph(n + (1 if count > 1 else 0), weighted=False, directed=False)
    for s, d in zip(src.tolist(), dst.tolist()):
        g.addEdge(s, d)
    if count > 1:
        # the highest-degree node of each component (lowest index on ties) is tied to the hub
        order = np.lexsort((np.arange(n), -degree, labels))
        first = order[np.r_[True, labels[order][1:] != labels[order][:-1]]]
        for node in first.tolist():
            g.addEdge(n, node)
    pivots = min(50, g.numberOfNodes())
    algorithm = nk.viz.PivotMDS(g, 2, pivots)
    algorithm.run()
    xy = np.asarray(algorithm.getCoordinates(), dtype=np.float64)[:n]
    if not np.isfinite(xy).all():
        xy = rng.normal(size=(n, 2))
    spread = np.abs(xy).max() or 1.0
    # nodes of the same small component land on one point: a little jitter lets repulsion part them
    return xy / spread + rng.normal(scale=1e-3, size=(n, 2))


def _refine(xy: np.ndarray, src: np.ndarray, dst: np.ndarray, weight: np.ndarray, iterations: int,
            rng: np.random.Generator) -> np.ndarray:
    """ForceAtlas2-style forces (all-pairs repulsion by particle mesh) with a cooling step size."""
    n = len(xy)
    if n < 2 or iterations <= 0:
        return xy
    degree = (np.bincount(src, minlength=n) + np.bincount(dst, minlength=n)).astype(np.float64)
    mass = degree + 1.0
    attraction = np.log1p(weight)
    # work in units where the typical spacing of n uniformly spread nodes is 1
    xy = xy * np.sqrt(n) / 2.0
    repulsion, gravity = 1.0, 0.05
    step = np.sqrt(n) / 10.0
    # about one cell per node spacing, a power of two for the FFT
    cells = int(np.clip(2 ** np.ceil(np.log2(np.sqrt(n))), 32, 256))
    for it in range(iterations):
        fx, fy = np.zeros(n), np.zeros(n)
        if len(src):
            pull = (xy[dst] - xy[src]) * attraction[:, None]
            fx += np.bincount(src, pull[:, 0], n) - np.bincount(dst, pull[:, 0], n)
            fy += np.bincount(src, pull[:, 1], n) - np.bincount(dst, pull[:, 1], n)
        field, cell = _mesh_field(xy, mass, cells)
        fx += repulsion * mass * field[:, 0]
        fy += repulsion * mass * field[:, 1]
        distance, neighbour = cKDTree(xy).query(xy, k=NEAR_NEIGHBOURS + 1, distance_upper_bound=NEAR_CELLS * cell)
        near = np.isfinite(distance[:, 1:])
        i = np.broadcast_to(np.arange(n)[:, None], near.shape)[near]
        j = neighbour[:, 1:][near]
        delta = xy[i] - xy[j]
        dist2 = np.maximum((delta ** 2).sum(axis=1), 1e-4)
        push = delta * (repulsion * mass[i] * mass[j] / dist2)[:, None]
        fx += np.bincount(i, push[:, 0], n)
        fy += np.bincount(i, push[:, 1], n)
        force = np.stack([fx, fy], axis=1)
        norm = np.linalg.norm(xy, axis=1)
        force -= gravity * mass[:, None] * xy / np.maximum(norm, 1e-9)[:, None]
        length = np.linalg.norm(force, axis=1)
        limit = step * (1.0 - it / iterations) + 1e-3
        xy = xy + force * (np.minimum(length, limit) / np.maximum(length, 1e-12))[:, None]
    return xy


def _mesh_field(xy: np.ndarray, mass: np.ndarray, cells: int) -> tuple[np.ndarray, float]:
    """The repulsion field ``sum_j m_j (x - x_j) / |x - x_j|^2`` at every node from pairs at least
    ``NEAR_CELLS`` cells apart, by cloud-in-cell assignment on a ``cells``-square grid spanning the nodes and
    an FFT convolution; also returns the cell size."""
    low = xy.min(axis=0)
    cell = max(float((xy.max(axis=0) - low).max()) / (cells - 1.001), 1e-9)
    grid = (xy - low) / cell
    corner = np.minimum(np.floor(grid).astype(np.int64), cells - 2)
    frac = grid - corner
    weights = [((1 - frac[:, 0]) * (1 - frac[:, 1]), 0, 0), (frac[:, 0] * (1 - frac[:, 1]), 1, 0),
               ((1 - frac[:, 0]) * frac[:, 1], 0, 1), (frac[:, 0] * frac[:, 1], 1, 1)]
    flat = [((corner[:, 0] + a) * cells + corner[:, 1] + b, w) for w, a, b in weights]
    density = sum(np.bincount(index, w * mass, cells * cells) for index, w in flat).reshape(cells, cells)
    field = np.zeros((len(xy), 2))
    for axis, kernel in enumerate(_mesh_kernel(cells)):
        potential = fftconvolve(density, kernel, mode="full")[cells - 1:2 * cells - 1, cells - 1:2 * cells - 1]
        values = potential.ravel()
        field[:, axis] = sum(w * values[index] for index, w in flat)
    return field / cell, cell


@lru_cache(maxsize=4)
def _mesh_kernel(cells: int) -> tuple[np.ndarray, np.ndarray]:
    """The x and y components of ``r / |r|^2`` on every grid offset (in cells), zero within ``NEAR_CELLS``."""
    offset = np.arange(-(cells - 1), cells, dtype=np.float64)
    dx, dy = np.meshgrid(offset, offset, indexing="ij")
    r2 = dx * dx + dy * dy
    inverse = np.where(r2 > NEAR_CELLS ** 2, 1.0 / np.maximum(r2, 1e-12), 0.0)
    return dx * inverse, dy * inverse


def run_layout(con: duckdb.DuckDBPyConnection, run_id: str, *, seed: int = 0,
               max_nodes: int = DEFAULT_MAX_NODES) -> dict[str, int]:
    """Lay out the cached account graph (all kinds) and write ``graph_layout``
    (run_id, platform, account_id, x, y)."""
    import pyarrow as pa

    from confiance.graph.build import load_graph

    graph = load_graph(con)
    nodes, xy = layout(graph, seed=seed, max_nodes=max_nodes)
    table = pa.table({
        "platform": pa.array(graph.platform[nodes].tolist(), pa.string()),
        "account_id": pa.array(graph.account_id[nodes].tolist(), pa.string()),
        "x": pa.array(xy[:, 0], pa.float64()),
        "y": pa.array(xy[:, 1], pa.float64()),
    })
    con.register("_layout_rows", table)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {LAYOUT_TABLE} AS "
                    "SELECT ?::VARCHAR AS run_id, platform, account_id, x, y FROM _layout_rows", [run_id])
    finally:
        con.unregister("_layout_rows")
    return {"nodes": len(nodes), "of": graph.n}


def layout_summary(con: duckdb.DuckDBPyConnection) -> dict[str, int | bool]:
    """How many accounts the stored layout places (``laid_out``) of the graph's ``accounts``."""
    laid_out = con.execute(f"SELECT count(*) FROM {LAYOUT_TABLE}").fetchall()[0][0]
    accounts = con.execute(
        "SELECT count(*) FROM (SELECT platform, src FROM graph_edges UNION SELECT platform, dst FROM graph_edges)"
    ).fetchall()[0][0]
    return {"laid_out": int(laid_out), "accounts": int(accounts), "sampled": laid_out < accounts}


def _register() -> None:
    from importlib.util import find_spec

    from confiance.pipeline import Step, register_step

    # after communities only so that `analyze` output reads in order; the layout does not need them
    after = ("graph", "communities") if find_spec("confiance.graph.communities") else ("graph",)
    register_step(Step("layout", lambda con, run_id: run_layout(con, run_id), after=after,
                       description="force-directed positions of the account graph (graph_layout)",
                       parameters={"seed": 0, "max_nodes": DEFAULT_MAX_NODES}))


_register()
