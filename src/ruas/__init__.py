"""RUAS platform: one register of urban access rules, one check, one open feed.

Layers point down only: ``cli``/``services`` -> ``rules``/``register``/``sources`` -> ``domain``.
"""

__version__ = "0.1.0"
