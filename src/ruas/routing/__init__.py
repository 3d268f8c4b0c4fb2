"""Routing for goods vehicles that respects every access rule, and the accessibility map.

``graph`` (CSR road graph, ``.npz``), ``osm`` (pyosmium import), ``restrictions`` (OSM tags as
regulations), ``network`` (the register's zones on the graph), ``permits`` (the engine's answers
per edge signature and time), ``search`` (time-dependent A* with ALT landmarks), ``service``
(route, matrix, accessibility), ``store`` (where graphs live), ``generate`` (synthetic network).
"""
