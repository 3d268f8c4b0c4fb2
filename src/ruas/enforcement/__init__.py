"""Camera enforcement back-office: cameras, passages in, vectorised evaluation, harmonised policy, privacy.

Modules: ``cameras`` (registry, CSV/GeoJSON import), ``passages`` (batches in, validation, the inbox),
``storage`` (partitioned Parquet, atomic commits), ``policy`` (regional defaults + dated municipal
deviations), ``privacy`` (keyed-HMAC pseudonyms with monthly keys, retention), ``pipeline`` (evaluate a
day with :func:`ruas.rules.batch.decide_indexed`, sanctions, records, aggregates), ``export`` (files for
the collection agency and letters), ``synthetic`` (seeded traffic for tests and demos), ``cli``.
See ``docs/enforcement.md``.
"""
