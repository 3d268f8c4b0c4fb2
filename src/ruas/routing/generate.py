"""A generated road network for scale tests (**synthetic**, from a seed; never mixed with OSM data).

A jittered grid of ``size`` x ``size`` nodes around a centre point with a road hierarchy
(local streets, arterials every 8th line, fast roads every 40th) and a sprinkling of
restrictions as OSM tags (weight, height, width, length limits, ``hgv=no``,
``hgv=destination``, conditional windows), so a vehicle class sees a realistic share of
closed edges. ``size=512`` gives about 1,000,000 directed edges.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ruas.routing.graph import ROAD_CLASSES, RoadGraph
from ruas.routing.restrictions import restriction_record

#: OSM tag sets sprinkled on local streets, with their share of streets.
SPRINKLE: tuple[tuple[dict[str, str], float], ...] = (
    ({"maxweight": "7.5"}, 0.03),
    ({"maxweight": "20"}, 0.02),
    ({"maxheight": "3.5"}, 0.01),
    ({"maxheight": "4.0"}, 0.01),
    ({"maxwidth": "2.2"}, 0.005),
    ({"maxlength": "10"}, 0.01),
    ({"maxaxleload": "10"}, 0.01),
    ({"hgv": "no"}, 0.02),
    ({"hgv": "destination"}, 0.03),
    ({"hgv:conditional": "no @ (Mo-Fr 07:00-19:00)"}, 0.01),
    ({"motor_vehicle:conditional": "no @ (Mo-Sa 10:00-18:00)"}, 0.003),
)


def generate_grid(
    size: int = 512,
    *,
    seed: int = 7,
    centre: tuple[float, float] = (52.37, 4.89),
    spacing_m: float = 60.0,
    drop: float = 0.05,
) -> RoadGraph:
    """The generated network (see the module doc); ``drop`` is the share of local street pieces left out."""
    rng = np.random.default_rng(seed)
    n = size * size
    dlat = spacing_m / 111_195.0
    dlon = spacing_m / (111_195.0 * np.cos(np.radians(centre[0])))
    rows, cols = np.divmod(np.arange(n), size)
    lat = centre[0] + (rows - size / 2) * dlat + rng.uniform(-0.25, 0.25, n) * dlat
    lon = centre[1] + (cols - size / 2) * dlon + rng.uniform(-0.25, 0.25, n) * dlon

    def level(line: np.ndarray) -> np.ndarray:
        return np.where(line % 40 == 0, 2, np.where(line % 8 == 0, 1, 0))

    # horizontal pieces (r, c) -> (r, c+1) and vertical (r, c) -> (r+1, c)
    hr, hc = np.divmod(np.arange(size * (size - 1)), size - 1)
    h_a, h_b, h_lvl = hr * size + hc, hr * size + hc + 1, level(hr)
    vr, vc = np.divmod(np.arange((size - 1) * size), size)
    v_a, v_b, v_lvl = vr * size + vc, (vr + 1) * size + vc, level(vc)
    a = np.concatenate([h_a, v_a])
    b = np.concatenate([h_b, v_b])
    lvl = np.concatenate([h_lvl, v_lvl])
    keep = (lvl > 0) | (rng.random(len(a)) >= drop)
    a, b, lvl = a[keep], b[keep], lvl[keep]
    cos = np.cos(np.radians(centre[0]))
    length = np.hypot((lat[a] - lat[b]) * 111_195.0, (lon[a] - lon[b]) * 111_195.0 * cos)
    speed = np.select([lvl == 2, lvl == 1], [100.0, 60.0], default=30.0) * rng.uniform(0.85, 1.0, len(a))
    cls_names = np.array([ROAD_CLASSES.index(c) for c in ("residential", "secondary", "trunk")], dtype=np.uint8)
    road_class = cls_names[lvl]

    records: list[dict[str, Any]] = [restriction_record({})]
    tagclass = np.zeros(len(a), dtype=np.int32)
    local = np.flatnonzero(lvl == 0)
    draw = rng.random(len(local))
    lo = 0.0
    for tags, share in SPRINKLE:
        chosen = local[(draw >= lo) & (draw < lo + share)]
        lo += share
        tagclass[chosen] = len(records)
        records.append(restriction_record(tags))
    tails = np.concatenate([a, b])
    heads = np.concatenate([b, a])
    return RoadGraph.from_edges(
        lat,
        lon,
        tails,
        heads,
        np.concatenate([length, length]),
        np.concatenate([speed, speed]),
        road_class=np.concatenate([road_class, road_class]),
        tagclass=np.concatenate([tagclass, tagclass]),
        tagclasses=records,
        meta={"source": f"synthetic grid size={size} seed={seed}", "synthetic": True},
    )
