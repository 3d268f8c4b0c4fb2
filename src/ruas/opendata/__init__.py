"""The open data feed: the published register as DATEX II v3, GeoJSON and OSM tags, a change feed, completeness.

Adapters *out* of the register (see ``docs/open-data.md``): every writer takes a
:class:`~ruas.opendata.snapshot.Snapshot` (the published records, the register version and its
time) and returns bytes that depend on nothing else, so the same register gives byte-identical files.
"""
