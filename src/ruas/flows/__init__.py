"""Logistics flows: the dashboard over the enforcement pipeline's privacy-safe data, and policy-impact simulation.

Modules: ``cube`` (per day, zone and breakdown: passages and distinct vehicles, derived from the de-identified
records while they are kept, or from the aggregates), ``suppression`` (small-cell rules: primary and secondary),
``queries`` (dashboard tables over the cube with DuckDB), ``simulate`` (replay de-identified records against a
draft regulation next to the rules in force, with :func:`ruas.rules.batch.decide_arrays`), ``report``
(downloadable HTML/PDF), ``cli``. See ``docs/flows.md``.
"""
