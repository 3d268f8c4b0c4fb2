"""Cross-cutting settings of the platform."""
