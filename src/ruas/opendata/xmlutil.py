"""Small helpers shared by the DATEX II writers: instants, numbers and multilingual strings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lxml import etree

XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSI_TYPE = f"{{{XSI}}}type"


def instant_text(value: datetime) -> str:
    """An instant as DATEX writes it: UTC with ``Z``, fractions only when present."""
    utc = value.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


def number_text(value: float) -> str:
    """A number without a needless ``.0`` and without loss (``repr`` of floats round-trips)."""
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def sub(parent: Any, tag: str, text: str | None = None, **attrs: str) -> Any:
    """Append a child element (``tag`` in Clark notation) with optional text and attributes."""
    elem = etree.SubElement(parent, tag, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        elem.text = text
    return elem


def multilingual(parent: Any, tag: str, com: str, text: str, lang: str | None = "nl") -> Any:
    """``<tag><com:values><com:value lang=..>text</com:value></com:values></tag>``."""
    holder = sub(parent, tag)
    values = sub(holder, f"{{{com}}}values")
    value = sub(values, f"{{{com}}}value", text)
    if lang:
        value.set("lang", lang)
    return holder


def pos_list(ring: list[list[float]]) -> str:
    """A GeoJSON ring (lon, lat) as a GML ``posList`` of ``lat lon`` pairs."""
    return " ".join(f"{number_text(lat)} {number_text(lon)}" for lon, lat in ring)


def polygons(geometry: dict[str, Any]) -> list[list[list[list[float]]]]:
    """The polygons (rings of lon/lat) of a GeoJSON Polygon or MultiPolygon."""
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiPolygon":
        return list(geometry["coordinates"])
    raise ValueError(f"geometry type {geometry['type']!r} is not an area")
