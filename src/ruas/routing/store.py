"""Where road graphs live: ``RUAS_DATA_DIR/routing/graph.npz``, else the embedded Amsterdam-Oost extract.

``ruas graph import FILE.osm.pbf`` writes the graph atomically; until then routing runs on the
small embedded OSM extract (Watergraafsmeer, ODbL), built into the data directory on first use.
Routers are cached per graph file and published register, so a new publish or import is
picked up by the next request.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from ruas.register.store import Register
from ruas.routing.graph import RoadGraph
from ruas.routing.osm import import_osm
from ruas.routing.service import Router

GRAPH_FILE = "routing/graph.npz"
EMBEDDED_GRAPH_FILE = "routing/embedded-amsterdam-oost.npz"
EMBEDDED_OSM = "data/osm/amsterdam_oost.osm.pbf"

_lock = threading.Lock()
_routers: dict[tuple[str, float, int], Router] = {}


def graph_path(data_dir: Path) -> Path:
    """The imported graph of a data directory."""
    return data_dir / GRAPH_FILE


def import_graph(source: Path, data_dir: Path, *, progress: Callable[[str, int], None] | None = None) -> RoadGraph:
    """Import an OSM extract into the data directory's graph (atomic: a failed import keeps the old graph)."""
    graph = import_osm(source, progress=progress)
    graph.save(graph_path(data_dir))
    return graph


def embedded_graph(data_dir: Path) -> Path:
    """The embedded extract's graph file, built on first use."""
    path = data_dir / EMBEDDED_GRAPH_FILE
    if not path.exists():
        with tempfile.TemporaryDirectory() as tmp:
            pbf = Path(tmp) / "amsterdam_oost.osm.pbf"
            pbf.write_bytes(resources.files("ruas").joinpath(EMBEDDED_OSM).read_bytes())
            graph = import_osm(pbf)
        graph.meta["source"] = "embedded: amsterdam_oost.osm.pbf (Valhalla test extract, 2016)"
        graph.save(path)
    return path


def active_graph_path(data_dir: Path) -> Path:
    """The imported graph when there is one, else the embedded extract's."""
    path = graph_path(data_dir)
    return path if path.exists() else embedded_graph(data_dir)


def router_for(register: Register) -> Router:
    """The router on the active graph and the register's current rule book (cached)."""
    path = active_graph_path(register.path)
    book = register.book
    key = (str(path), path.stat().st_mtime, id(book))
    with _lock:
        found = _routers.get(key)
        if found is not None and found.network.book is book:
            return found
    router = Router.build(RoadGraph.load(path), book)
    with _lock:
        for old in [k for k in _routers if k[0] == str(path)]:
            del _routers[old]
        _routers[key] = router
    return router
