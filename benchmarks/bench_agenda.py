"""Server time of the agenda's portal pages and the progress report (HTML and PDF), next to ``GET /api/v1/health``
as the baseline measured in the same run.

Seeds a temporary register, records a few years' worth of progress through the agenda service (``--events`` status
changes, budget lines and notes spread over the activities and 2023 up to today), starts the app under uvicorn on a
free loopback port and requests every agenda page sequentially, anonymous and as the regional administrator (whose
activity page carries the edit forms and the edit history), plus a status edit (POST, no redirect followed). Page
figures are the ``Server-Timing: app;dur=`` header the portal sets (handler and rendering); the report endpoints
have no such header, so their figure is the latency the client saw. Then, in process, the report is split into its
parts: gathering the data (views and the platform's figures), rendering the HTML, and WeasyPrint's PDF.
Target: each page <= 300 ms server time.

The machine has 2 cores and other work may run at the same time: figures are noisy; medians are reported. The last
line is one JSON object with the figures and the baseline.

    python benchmarks/bench_agenda.py [--repeat 20] [--events 300]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx

from ruas.agenda import service
from ruas.agenda.loader import embedded_agenda
from ruas.agenda.model import Activity, StepStatus
from ruas.agenda.report import render_html, render_pdf, report_data
from ruas.domain.errors import InvalidInput
from ruas.domain.timeutil import local_day
from ruas.register.store import Register
from ruas.rules.frameworks import RuleSettings
from ruas.services.accounts import Principal, create_user, principal_of
from ruas.store.db import session_scope

PASSWORD = "bench-password-1"
ADMIN = "bench-admin"
TARGET_MS = 300.0


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token"
    return found.group(1)


def _summary(server: list[float], wall: list[float]) -> dict[str, float]:
    return {
        "server_ms_median": round(statistics.median(server), 2),
        "server_ms_max": round(max(server), 2),
        "latency_ms_median": round(statistics.median(wall), 2),
    }


def _timed(
    client: httpx.Client, method: str, url: str, repeat: int, data: Callable[[int], dict[str, str]] | None = None
) -> dict[str, float]:
    """``repeat`` requests after two warm-ups; ``data(i)`` gives the i-th form for a POST."""
    server, wall = [], []
    for i in range(repeat + 2):
        t0 = time.perf_counter()
        response = client.request(method, url, data=data(i) if data else None)
        elapsed = (time.perf_counter() - t0) * 1000
        if response.status_code >= 400:
            errors = re.findall(r'class="field-error"[^>]*>([^<]*)', response.text)
            raise SystemExit(f"{method} {url}: HTTP {response.status_code} {errors or response.text[:300]}")
        if i < 2:
            continue  # warm-up: template compilation, caches
        wall.append(elapsed)
        match = re.search(r"dur=([\d.]+)", response.headers.get("server-timing", ""))
        server.append(float(match.group(1)) if match else elapsed)
    return _summary(server, wall)


def seed_progress(register: Register, events: int, seed: int = 7) -> dict[str, int]:
    """Record ``events`` progress events through the service (as the regional administrator): status changes,
    budget lines and notes, on random activities and days from 2023 up to today. Returns how many of each."""
    rng = random.Random(seed)
    agenda = embedded_agenda()
    now = datetime.now(UTC)
    today = local_day(now)
    first = date(2023, 1, 1)
    span = (today - first).days
    counts = {"status": 0, "budget": 0, "note": 0, "refused": 0}
    with session_scope(register.store.engine) as s:
        admin = principal_of(create_user(s, username=ADMIN, password=PASSWORD, role="admin", now=now), "bench")
    for i in range(events):
        activity = rng.choice([a for a in agenda.activities if a.steps])
        day = first + timedelta(days=rng.randrange(span + 1))
        kind = ("status", "status", "budget", "note")[i % 4]
        try:
            _record(register, admin, rng, kind, activity, day, i, now)
        except InvalidInput:  # e.g. the same status again on that day: the service refuses it
            counts["refused"] += 1
            continue
        counts[kind] += 1
    return counts


def _record(
    register: Register,
    admin: Principal,
    rng: random.Random,
    kind: str,
    activity: Activity,
    day: date,
    i: int,
    now: datetime,
) -> None:
    agenda = embedded_agenda()
    statuses = [st.value for st in StepStatus]
    with session_scope(register.store.engine) as s:
        if kind == "status":
            status = rng.choice(statuses)
            service.set_step_status(
                s,
                agenda,
                admin,
                activity_id=activity.id,
                step_seq=rng.choice(activity.steps).seq,
                status=status,
                as_of=day,
                note=f"benchmark {i}" if status == "delayed" or rng.random() < 0.5 else "",
                now=now,
            )
        elif kind == "budget":
            service.add_budget_line(
                s,
                agenda,
                admin,
                activity_id=activity.id,
                kind=rng.choice(["committed", "committed", "spent"]),
                amount_eur=str(rng.randrange(100, 20_000)),
                as_of=day,
                note=f"opdracht {i}",
                now=now,
            )
        else:
            service.add_progress_note(
                s, agenda, admin, activity_id=activity.id, text=f"Stand van zaken {i}", as_of=day, now=now
            )


def report_parts(register: Register, repeat: int) -> dict[str, dict[str, float]]:
    """The report in process: data (views + figures), HTML, PDF; median and max milliseconds of each."""
    agenda = embedded_agenda()
    day = local_day(datetime.now(UTC))
    times: dict[str, list[float]] = {"report data": [], "report HTML": [], "report PDF (WeasyPrint)": []}
    size = 0
    html = ""
    for i in range(max(3, repeat // 4) + 1):
        with session_scope(register.store.engine) as s:
            t0 = time.perf_counter()
            data = report_data(
                agenda,
                service.load_progress(s),
                report_date=day,
                since=agenda.source_date,
                metrics=service.figures(agenda, day, register.zones, s),
            )
            t1 = time.perf_counter()
        html = render_html(data)
        t2 = time.perf_counter()
        pdf = render_pdf(html)
        t3 = time.perf_counter()
        if i == 0:
            continue  # warm-up: fonts, templates
        times["report data"].append((t1 - t0) * 1000)
        times["report HTML"].append((t2 - t1) * 1000)
        times["report PDF (WeasyPrint)"].append((t3 - t2) * 1000)
        size = len(pdf)
    import weasyprint  # the PDF's page count (one more layout, not timed)

    pages = len(weasyprint.HTML(string=html).render().pages)
    out = {k: {"ms_median": round(statistics.median(v), 1), "ms_max": round(max(v), 1)} for k, v in times.items()}
    out["report PDF (WeasyPrint)"] |= {"pdf_bytes": size, "pdf_pages": pages}
    return out


def run(base: str, repeat: int) -> dict[str, dict[str, float]]:
    """Every agenda page, anonymous and as the administrator; a status edit; the report over HTTP."""
    out: dict[str, dict[str, float]] = {}
    with httpx.Client(base_url=base, timeout=60) as anon:
        out["GET /api/v1/health (baseline)"] = _timed(anon, "GET", "/api/v1/health", repeat)
        for name, url in [
            ("roadmap", "/agenda"),
            ("activity", "/agenda/activities/ze-zones-kennis-delen"),
            ("activity", "/agenda/activities/datadelen-voor-logistiek"),
            ("my municipality chooser", "/agenda/organisations"),
            ("my municipality", "/agenda/organisations/GM0363"),
            ("municipality via groups only", "/agenda/organisations/GM0373"),
            ("steering-group dashboard", "/agenda/dashboard"),
        ]:
            out[f"GET {url} ({name})"] = _timed(anon, "GET", url, repeat)
        reports = max(3, repeat // 4)
        out["GET /api/v1/agenda/report?format=html (latency)"] = _timed(
            anon, "GET", "/api/v1/agenda/report?format=html", reports
        )
        out["GET /api/v1/agenda/report?format=pdf (latency)"] = _timed(
            anon, "GET", "/api/v1/agenda/report?format=pdf", reports
        )
    with httpx.Client(base_url=base, timeout=60) as admin:
        token = _csrf(admin.get("/login").text)
        admin.post("/login", data={"csrf_token": token, "username": ADMIN, "password": PASSWORD, "next": ""})
        url = "/agenda/activities/logistieke-hubs"
        out[f"GET {url} (activity, administrator)"] = _timed(admin, "GET", url, repeat)
        token = _csrf(admin.get(url).text)
        today = local_day(datetime.now(UTC)).isoformat()

        def form(i: int) -> dict[str, str]:
            status = ("in_progress", "done")[i % 2]
            return {"csrf_token": token, "status": status, "as_of": today, "note": f"bench {i}"}

        out["POST step status (administrator, 303)"] = _timed(admin, "POST", f"{url}/steps/2/status", repeat, data=form)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--events", type=int, default=300, help="progress events recorded before measuring")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ruas-bench-agenda-") as tmp:
        data = Path(tmp) / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUAS_")}
        os.environ.pop("RUAS_DATABASE_URL", None)
        t0 = time.perf_counter()
        register = Register(data, RuleSettings())
        register.ensure_seeded()
        seeded = time.perf_counter() - t0
        t0 = time.perf_counter()
        counts = seed_progress(register, args.events)
        print(f"seeded a register in {seeded:.1f} s; recorded {counts} in {time.perf_counter() - t0:.1f} s")
        port = _port()
        env.update(
            RUAS_DATA_DIR=str(data), RUAS_TILE_URL="", RUAS_DEMO_ACCOUNTS="0", RUAS_ANON_CHECKS_PER_MINUTE="1000000"
        )
        command = [sys.executable, "-m", "uvicorn", "--factory", "ruas.api.app:create_app"]
        proc = subprocess.Popen(
            [*command, "--port", str(port), "--host", "127.0.0.1", "--log-level", "warning"], env=env
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            results = run(base, args.repeat)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        parts = report_parts(register, args.repeat)
    baseline = results.pop("GET /api/v1/health (baseline)")
    reports = {k: results.pop(k) for k in [k for k in results if "/report" in k]}
    edit = {k: results.pop(k) for k in [k for k in results if k.startswith("POST")]}
    print(f"{'agenda page':<64} {'server p50':>10} {'server max':>10} {'latency p50':>11} {'× health':>8}")
    for name, r in [("GET /api/v1/health (baseline)", baseline), *results.items(), *edit.items(), *reports.items()]:
        ratio = r["latency_ms_median"] / baseline["latency_ms_median"]
        print(
            f"{name:<64} {r['server_ms_median']:>10.1f} {r['server_ms_max']:>10.1f} "
            f"{r['latency_ms_median']:>11.1f} {ratio:>8.1f}"
        )
    print(f"{'report in process':<64} {'p50 ms':>10} {'max ms':>10}")
    for name, p in parts.items():
        extra = f"  ({p['pdf_pages']} pages, {p['pdf_bytes']} bytes)" if "pdf_pages" in p else ""
        print(f"{name:<64} {p['ms_median']:>10.1f} {p['ms_max']:>10.1f}{extra}")
    slowest = max(r["server_ms_median"] for r in results.values())
    verdict = "meets" if slowest <= TARGET_MS else "MISSES"
    print(
        f"slowest agenda page: {slowest:.1f} ms median server time with {args.events} progress events; {verdict} "
        f"the {TARGET_MS:.0f} ms target (noisy 2-core machine, other work running)"
    )
    print(
        json.dumps(
            {
                "benchmark": "agenda",
                "repeat": args.repeat,
                "events": counts,
                "target_ms": TARGET_MS,
                "pages": results,
                "edit": edit,
                "report_http": reports,
                "report_in_process": parts,
                "baseline": {"GET /api/v1/health": baseline},
                "slowest_server_ms_median": slowest,
            }
        )
    )


if __name__ == "__main__":
    main()
