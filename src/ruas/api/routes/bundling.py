"""Bundling and hub scenarios: ``POST /bundling/analyses`` and the shipped (illustrative) examples.

Solving is bounded: each PyVRP solve gets at most :data:`MAX_SOLVE_S` seconds and one analysis at most
:data:`MAX_TOTAL_S` seconds of solving in all; when that budget runs out the remaining solves get a token
limit and the answer's ``warnings`` say so (run large scenarios with ``ruas bundle``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ruas.api.deps import CurrentPrincipal, CurrentRegister, limit_anonymous
from ruas.bundling.cli import EXAMPLES
from ruas.bundling.report import analyse
from ruas.bundling.scenario import scenario_document, scenario_from_data
from ruas.domain.errors import InvalidInput, NotFound

router = APIRouter(prefix="/api/v1/bundling", tags=["bundling"])

MAX_SOLVE_S = 5.0
"""Upper bound on one PyVRP solve requested through the API, seconds."""

MAX_TOTAL_S = 60.0
"""Solving-time budget of one analysis through the API, seconds."""

MAX_RECEIVERS = 400


class AnalysisRequest(BaseModel):
    """A scenario (the YAML document as JSON, every section inline) and how long to solve."""

    model_config = ConfigDict(extra="forbid")

    scenario: dict[str, Any] = Field(description="the scenario document, as in docs/bundling.md (sections inline)")
    time_limit_s: float | None = Field(
        None, gt=0, le=MAX_SOLVE_S, description="seconds per PyVRP solve (default: the scenario's, capped)"
    )
    sensitivity: bool = Field(True, description="also run the demand factors of the scenario")
    routes: bool = Field(True, description="include every route in the answer")


@router.get("/examples", operation_id="listBundlingExamples")
def list_examples() -> list[dict[str, Any]]:
    """The scenarios shipped with RUAS (all illustrative)."""
    out = []
    for name, rel in sorted(EXAMPLES.items()):
        doc = _example(rel)
        head = doc.get("scenario") or {}
        out.append({"name": name, "id": head.get("id"), "title": head.get("name"), "illustrative": True})
    return out


@router.get("/examples/{name}", operation_id="getBundlingExample")
def get_example(name: str) -> dict[str, Any]:
    """A shipped scenario as one document, ready to edit and post to ``/bundling/analyses``."""
    if name not in EXAMPLES:
        raise NotFound(f"no bundling example {name!r} (known: {', '.join(sorted(EXAMPLES))})", field="name")
    return _example(EXAMPLES[name])


@router.post("/analyses", operation_id="createBundlingAnalysis")
def create_analysis(
    body: AnalysisRequest, request: Request, register: CurrentRegister, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Status quo vs bundled via each candidate hub vs concession: KPIs per weekday, sensitivity, sources.

    Travel times are the straight-line approximation (labelled in the answer). Solving is bounded in time.
    """
    limit_anonymous(request, principal)
    sc = scenario_from_data(body.scenario, "request")
    if len(sc.receivers) > MAX_RECEIVERS:
        raise InvalidInput(
            f"request: {len(sc.receivers)} receivers is more than the API's {MAX_RECEIVERS}; use `ruas bundle`",
            field="scenario.receivers",
        )
    limit = min(body.time_limit_s or sc.solver.time_limit_s, MAX_SOLVE_S)
    report = analyse(sc, register, time_limit_s=limit, sensitivity=body.sensitivity, budget_s=MAX_TOTAL_S)
    return report.to_data(routes=body.routes)


def _example(rel: str) -> dict[str, Any]:
    with resources.as_file(resources.files("ruas.data").joinpath(rel)) as path:
        return scenario_document(Path(path))
