"""Routes and the accessibility map in the portal: a vehicle (by plate, or by characteristics) from A to B at a
departure time -> the quickest legal route on the map with distance, duration, the zones it crosses (the
engine's decision at the moment of entry) and why it bends; and the road segments the vehicle may use at a
moment with the area it reaches within N minutes.

Everything comes from the routing service (:func:`ruas.routing.store.router_for`, ``Router.route`` and
``Router.accessibility``: the same answers as ``POST /api/v1/routes`` and ``POST /api/v1/accessibility``). The
page only words them; exemptions granted to the plate count, as in the API.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response

from ruas.api.deps import CurrentRegister, DbSession, limit_anonymous, now_utc
from ruas.domain.errors import InvalidInput, RuasError
from ruas.domain.timeutil import LOCAL_TZ, parse_instant
from ruas.register.spatial import check_point
from ruas.register.store import Register
from ruas.routing.store import router_for
from ruas.services.grants import grants_for_plate
from ruas.web.check_pages import CheckForm, field_of, form_vehicle, message_of
from ruas.web.core import CurrentVisitor, PortalRoute, gettext, render
from ruas.web.texts import Words, words

router = APIRouter(route_class=PortalRoute, include_in_schema=False)

_LATLON = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*[,; ]\s*(-?\d{1,3}(?:\.\d+)?)\s*$")
ROUTE_FIELDS = ("from", "to", "depart")
ACCESS_FIELDS = ("point", "at", "minutes")


def parse_latlon(text: str, field: str) -> tuple[float, float]:
    """``52.3408,4.9289`` (or with a space or semicolon) -> (lat, lon), inside the world's bounds.

    >>> parse_latlon("52.3408, 4.9289", "from")
    (52.3408, 4.9289)
    """
    found = _LATLON.match(text or "")
    if found is None:
        raise InvalidInput(f"{field}: expected latitude,longitude, e.g. 52.3408,4.9289 (or click the map)", field=field)
    try:
        return check_point(float(found.group(1)), float(found.group(2)))
    except InvalidInput as exc:
        raise InvalidInput(exc.message.replace("point:", f"{field}:", 1), field=field) from None


def _moment(text: str, field: str) -> datetime:
    at = parse_instant(text, field) if text else now_utc().astimezone(LOCAL_TZ)
    if not 1900 <= at.year <= 2200:
        raise InvalidInput("the moment must lie between 1900 and 2200", field=field)
    return at


def explain(said: Words, data: dict[str, Any]) -> str:
    """Why the route is as it is, in the visitor's language, from the routing service's explanation."""
    _ = gettext(said.language)
    x = data.get("explanation") or {}
    avoided = list(x.get("avoided") or [])
    names = ", ".join(dict.fromkeys(said.data(str(a.get("name", ""))) for a in avoided))
    if not data.get("found"):
        if not avoided:
            return _("The points are not connected by roads open to motor vehicles in this road network.")
        helps = ", ".join(
            dict.fromkeys(
                said.type_name(str(e.get("type_id")))
                for a in avoided
                for e in a.get("exemptions_that_would_open_it", ())
            )
        )
        text = _("The roads to the destination are closed to this vehicle by: %(names)s.") % {"names": names}
        if helps:
            return text + " " + _("An exemption would open it: %(names)s.") % {"names": helps}
        return text + " " + _("No exemption type is listed for it.")
    if not x.get("differs"):
        return _("This is the quickest route without any restriction: no rule makes it bend.")
    return _(
        "The route avoids %(names)s: %(min)s min and %(km)s km more than the quickest route without restrictions."
    ) % {
        "names": names or _("restrictions at the time of passage"),
        "min": f"{float(x.get('extra_duration_s') or 0) / 60:+.1f}",
        "km": f"{float(x.get('extra_distance_m') or 0) / 1000:+.2f}",
    }


def _graph_bounds(register: Register) -> list[list[float]]:
    g = router_for(register).graph
    return [[float(g.lat.min()), float(g.lon.min())], [float(g.lat.max()), float(g.lon.max())]]


def _form(request: Request, extra: tuple[str, ...]) -> CheckForm:
    form = CheckForm.of(request.query_params)
    for name in extra:
        form.values[name] = str(request.query_params.get(name, "")).strip()
    return form


def _page_context(register: Register, form: CheckForm, now: datetime) -> dict[str, Any]:
    return {
        "form": form,
        "bounds": json.dumps(_graph_bounds(register)),
        "at_default": now.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M"),
        "result": None,
    }


@router.get("/route")
def route_page(request: Request, visitor: CurrentVisitor, register: CurrentRegister, db: DbSession) -> Response:
    """The route form and, when a vehicle and two points were given, the quickest legal route."""
    form = _form(request, ROUTE_FIELDS)
    now = now_utc()
    context = _page_context(register, form, now)
    status = 200
    if form.submitted or form.values["from"] or form.values["to"]:
        limit_anonymous(request, visitor.principal)
        try:
            vehicle = form_vehicle(register, db, form)
            points = [parse_latlon(form.values["from"], "from"), parse_latlon(form.values["to"], "to")]
            depart = _moment(form.values["depart"], "depart")
            grants = grants_for_plate(db, vehicle.plate) if vehicle.plate else []
            result = router_for(register).route(vehicle, points, depart, grants=grants)
        except RuasError as exc:
            raw = str(exc.details.get("field") or "")
            name = raw if raw in ROUTE_FIELDS else field_of(exc)
            form.errors[name if name in form.values else "from"] = message_of(exc, visitor.language)
            status = 422 if isinstance(exc, InvalidInput) else 404
        else:
            data = result.to_data()
            features = list(data["geojson"]["features"])
            for label, stop in zip(("from", "to"), data["stops"], strict=False):
                features.append(
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [stop["lon"], stop["lat"]]},
                        "properties": {"kind": "stop", "label": label},
                    }
                )
            arrive = depart + timedelta(seconds=result.duration_s) if result.found else None
            context["result"] = {
                "data": data,
                "vehicle": vehicle,
                "declared": form.values["mode"] == "attributes",
                "depart": depart,
                "arrive": arrive,
                "features": json.dumps({"type": "FeatureCollection", "features": features}),
                "explanation": explain(words(visitor.language), data),
            }
    return render(request, visitor, "route.html", context, status=status)


@router.get("/route/accessibility")
def accessibility_page(request: Request, visitor: CurrentVisitor, register: CurrentRegister, db: DbSession) -> Response:
    """The road segments a vehicle may use at a moment around a point, and the area reached within N minutes."""
    form = _form(request, ACCESS_FIELDS)
    now = now_utc()
    context = _page_context(register, form, now)
    status = 200
    if form.submitted or form.values["point"]:
        limit_anonymous(request, visitor.principal)
        try:
            vehicle = form_vehicle(register, db, form)
            point = parse_latlon(form.values["point"], "point")
            at = _moment(form.values["at"], "at")
            text = form.values["minutes"] or "15"
            try:
                minutes = float(text.replace(",", "."))
            except ValueError:
                raise InvalidInput(f"minutes {text!r}: expected a number from 1 to 240", field="minutes") from None
            if not 0 < minutes <= 240:
                raise InvalidInput("minutes: expected a number from 1 to 240", field="minutes")
            grants = grants_for_plate(db, vehicle.plate) if vehicle.plate else []
            data = router_for(register).accessibility(vehicle, point, at, minutes, grants=grants)
        except RuasError as exc:
            raw = str(exc.details.get("field") or "")
            name = raw if raw in ACCESS_FIELDS else field_of(exc)
            form.errors[name if name in form.values else "point"] = message_of(exc, visitor.language)
            status = 422 if isinstance(exc, InvalidInput) else 404
        else:
            segments = [f["properties"] for f in data["features"] if f["properties"].get("kind") == "segment"]
            area = next(
                (f["properties"] for f in data["features"] if f["properties"]["kind"] == "reachable_area"), None
            )
            context["result"] = {
                "data": data,
                "vehicle": vehicle,
                "declared": form.values["mode"] == "attributes",
                "at": at,
                "minutes": minutes,
                "area": area,
                "usable": sum(1 for s in segments if s["usable"]),
                "unusable": [s for s in segments if not s["usable"]],
                "reached": sum(1 for s in segments if s.get("reached_s") is not None),
                "segments": len(segments),
                "features": json.dumps(data),
            }
    return render(request, visitor, "accessibility.html", context, status=status)
