"""Server time per portal page on the embedded default, next to ``GET /api/v1/health`` as the baseline.

Starts the app under uvicorn on a free loopback port on a freshly seeded temporary register (with an
applicant and an officer account and one submitted application), then requests every main page
sequentially: the server time is the ``Server-Timing: app;dur=`` header the portal sets (the handler,
rendering included), the latency is what the client saw. Target: each page <= 300 ms server time.

The machine has 2 cores and other work may run at the same time: figures are noisy; medians are reported.
The last line is one JSON object with the figures and the baseline.

    python benchmarks/bench_portal.py [--repeat 30]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from ruas.register.store import Register
from ruas.rules.frameworks import RuleSettings
from ruas.services.accounts import create_user
from ruas.store.db import session_scope

PASSWORD = "bench-password-1"
TARGET_MS = 300.0


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token"
    return found.group(1)


def _timed(client: httpx.Client, method: str, url: str, repeat: int, **kw: object) -> dict[str, float]:
    server, wall = [], []
    for i in range(repeat + 2):
        t0 = time.perf_counter()
        response = client.request(method, url, **kw)  # type: ignore[arg-type]
        elapsed = (time.perf_counter() - t0) * 1000
        if response.status_code >= 400:
            errors = re.findall(r'class="field-error"[^>]*>([^<]*)', response.text)
            raise SystemExit(f"{method} {url}: HTTP {response.status_code} {errors or response.text[:300]}")
        if i < 2:
            continue  # warm-up: template compilation, caches
        wall.append(elapsed)
        match = re.search(r"dur=([\d.]+)", response.headers.get("server-timing", ""))
        server.append(float(match.group(1)) if match else elapsed)
    return {
        "server_ms_median": round(statistics.median(server), 2),
        "server_ms_max": round(max(server), 2),
        "latency_ms_median": round(statistics.median(wall), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ruas-bench-portal-") as tmp:
        data = Path(tmp) / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUAS_")}
        os.environ.pop("RUAS_DATABASE_URL", None)
        t0 = time.perf_counter()
        register = Register(data, RuleSettings())
        register.ensure_seeded()
        with session_scope(register.store.engine) as s:
            now = datetime.now(UTC)
            create_user(s, username="bench-applicant", password=PASSWORD, role="applicant", now=now, kvk="12345678")
            create_user(
                s, username="bench-officer", password=PASSWORD, role="officer", now=now, municipalities=("GM0363",)
            )
        print(f"seeded a register in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        port = _port()
        env.update(
            RUAS_DATA_DIR=str(data), RUAS_TILE_URL="", RUAS_DEMO_ACCOUNTS="0", RUAS_ANON_CHECKS_PER_MINUTE="1000000"
        )
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "ruas.api.app:create_app",
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
                "--log-level",
                "warning",
            ],
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            results = run(base, args.repeat, register.vehicles["plate"].head(500).to_list())
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    baseline = results.pop("GET /api/v1/health (baseline)")
    # the 500-vehicle fleet upload is a page too (target 300 ms); the report of 5,000 is a workload
    workloads = {k: results.pop(k) for k in [k for k in results if "5000 vehicles" in k]}
    print(f"{'page':<48} {'server p50':>10} {'server max':>10} {'latency p50':>11} {'× health':>8}")
    for name, r in [("GET /api/v1/health (baseline)", baseline), *results.items(), *workloads.items()]:
        ratio = r["latency_ms_median"] / baseline["latency_ms_median"]
        print(
            f"{name:<48} {r['server_ms_median']:>10.1f} {r['server_ms_max']:>10.1f} "
            f"{r['latency_ms_median']:>11.1f} {ratio:>8.1f}"
        )
    slowest = max(r["server_ms_median"] for r in results.values())
    verdict = "meets" if slowest <= TARGET_MS else "MISSES"
    print(
        f"slowest page: {slowest:.1f} ms median server time; {verdict} the {TARGET_MS:.0f} ms target "
        "(noisy 2-core machine)"
    )
    print(
        json.dumps(
            {
                "benchmark": "portal",
                "repeat": args.repeat,
                "target_ms": TARGET_MS,
                "pages": results,
                "workloads": workloads,
                "baseline": {"GET /api/v1/health": baseline},
                "slowest_server_ms_median": slowest,
            }
        )
    )


def run(base: str, repeat: int, plates: list[str]) -> dict[str, dict[str, float]]:
    """Every main page, anonymous and logged in."""
    out: dict[str, dict[str, float]] = {}
    with httpx.Client(base_url=base, timeout=30) as anon:
        out["GET /api/v1/health (baseline)"] = _timed(anon, "GET", "/api/v1/health", repeat)
        for name, url in [
            ("home / map", "/"),
            ("check form", "/check"),
            ("check by plate, all zones", "/check?mode=plate&plate=VQ39HG"),
            (
                "check by attributes, all zones",
                "/check?mode=attributes&category=N1&fuel=diesel&emission_class=5"
                "&first_admission=2018-01-01&mass_kg=3000",
            ),
            ("fleet form", "/fleet"),
            ("exemptions", "/exemptions"),
            ("region harmonisation", "/region"),
            ("open data", "/open-data"),
            ("data for logistics", "/open-data/logistics"),
            ("route form", "/route"),
            (
                "route by plate",
                "/route?mode=plate&plate=VQ39HG&from=52.3408,4.9289&to=52.3414,4.9249&depart=2025-09-01T08:00",
            ),
            (
                "accessibility map, 5 min",
                "/route/accessibility?mode=plate&plate=VQ39HG&point=52.3408,4.9289&at=2025-09-01T08:00&minutes=5",
            ),
            ("login", "/login"),
        ]:
            out[f"GET {url[:40]} ({name})"] = _timed(anon, "GET", url, repeat)
        token = _csrf(anon.get("/fleet").text)
        small = "kenteken\n" + "".join(f"{p}\n" for p in ["VQ39HG", "100HQ7"])
        fleet = ("fleet.csv", small.encode())
        big = ("fleet.csv", ("kenteken\n" + "".join(f"{p}\n" for p in plates)).encode())
        out[f"POST /fleet ({len(plates)} vehicles)"] = _timed(
            anon, "POST", "/fleet", max(3, repeat // 4), data={"csrf_token": token}, files={"file": big}
        )
        out["POST /fleet (2 vehicles)"] = _timed(
            anon, "POST", "/fleet", repeat, data={"csrf_token": token}, files={"file": fleet}
        )
    with httpx.Client(base_url=base, timeout=30) as officer:
        token = _csrf(officer.get("/login").text)
        officer.post(
            "/login", data={"csrf_token": token, "username": "bench-officer", "password": PASSWORD, "next": ""}
        )
        for name, url in [
            ("officer queue", "/officer/queue"),
            ("officer rules", "/officer/rules"),
            ("officer zone edit", "/officer/rules/ams-osdorpplein"),
        ]:
            out[f"GET {url} ({name})"] = _timed(officer, "GET", url, repeat)
    with httpx.Client(base_url=base, timeout=30) as applicant:
        token = _csrf(applicant.get("/login").text)
        applicant.post(
            "/login", data={"csrf_token": token, "username": "bench-applicant", "password": PASSWORD, "next": ""}
        )
        out["GET /exemptions/apply (wizard step 2)"] = _timed(
            applicant, "GET", "/exemptions/apply?plate=VQ39HG&municipality=GM0363", repeat
        )
    return out


if __name__ == "__main__":
    main()
