"""Helpers of the portal tests: constants, the CSRF token of a page, axe-core, screenshots."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = REPO / "test-artifacts" / "portal"
PASSWORD = "portal-test-password"


def csrf_of(html: str) -> str:
    """The CSRF token in a page's first form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical WCAG 2.1 A/AA violations that axe-core (from node_modules) finds on the page."""
    assert AXE.is_file(), f"{AXE} is missing: run `npm ci` (make does)"
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
            resultTypes: ['violations']})"""
    )
    return [v for v in result["violations"] if v.get("impact") in ("serious", "critical")]


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as a test artefact (``test-artifacts/portal/NAME.png``)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(data_dir: Path, **settings: str) -> Iterator[str]:
    """``ruas``'s app under uvicorn on a free loopback port over ``data_dir``; yields its base URL.

    ``settings`` are extra ``RUAS_*`` variables; the parent's ``RUAS_*`` variables are not passed on.
    """
    import httpx
    import pytest

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUAS_")}
    env.update(RUAS_DATA_DIR=str(data_dir), RUAS_ENV="development", RUAS_DEMO_ACCOUNTS="0", RUAS_TILE_URL="")
    env.update(settings)
    command = [sys.executable, "-m", "uvicorn", "--factory", "ruas.api.app:create_app"]
    proc = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if proc.poll() is not None:
                output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                pytest.fail(f"the portal server exited with {proc.returncode}:\n{output}")
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the portal server did not answer within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
