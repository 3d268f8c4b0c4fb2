"""The portal's front-end libraries: installed from the npm registry (``package-lock.json``), served by RUAS.

``make`` runs ``npm ci`` and then ``python -m ruas.web.assets``, which copies the files listed in
:data:`VENDOR_FILES` from ``node_modules/`` into ``src/ruas/web/static/vendor/`` (git-ignored). The portal
serves them under ``/static/vendor/``: no CDN is used at run time, so every page works offline
(see ``docs/adr/005-portal-server-rendered.md``).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
STATIC_DIR = PACKAGE_DIR / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
REPO_ROOT = PACKAGE_DIR.parents[2]
NODE_MODULES = REPO_ROOT / "node_modules"

VENDOR_FILES: dict[str, str] = {
    "leaflet/leaflet.js": "leaflet/dist/leaflet.js",
    "leaflet/leaflet.css": "leaflet/dist/leaflet.css",
    "leaflet/images/marker-icon.png": "leaflet/dist/images/marker-icon.png",
    "leaflet/images/marker-icon-2x.png": "leaflet/dist/images/marker-icon-2x.png",
    "leaflet/images/marker-shadow.png": "leaflet/dist/images/marker-shadow.png",
    "leaflet/images/layers.png": "leaflet/dist/images/layers.png",
    "leaflet/images/layers-2x.png": "leaflet/dist/images/layers-2x.png",
    "leaflet/LICENSE": "leaflet/LICENSE",
    "htmx/htmx.min.js": "htmx.org/dist/htmx.min.js",
    "htmx/LICENSE": "htmx.org/LICENSE",
    "chartjs/chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
    "chartjs/LICENSE.md": "chart.js/LICENSE.md",
}
"""Served file (under ``static/vendor/``) -> its source under ``node_modules/``.

axe-core is a development dependency: the browser tests inject it straight from ``node_modules/``.
"""


def missing_assets(vendor_dir: Path = VENDOR_DIR) -> list[str]:
    """The vendor files the portal needs that are not in place (empty when set up)."""
    return [name for name in VENDOR_FILES if not (vendor_dir / name).is_file()]


def copy_assets(node_modules: Path = NODE_MODULES, vendor_dir: Path = VENDOR_DIR) -> list[Path]:
    """Copy :data:`VENDOR_FILES` from ``node_modules`` into ``vendor_dir``; raises ``FileNotFoundError`` naming
    the first missing source (run ``npm ci`` at the repository root first)."""
    sources = {name: node_modules / src for name, src in VENDOR_FILES.items()}
    absent = [str(p) for p in sources.values() if not p.is_file()]
    if absent:
        raise FileNotFoundError(f"{absent[0]} is missing: run `npm ci` in {node_modules.parent} first")
    written = []
    for name, src in sources.items():
        target = vendor_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        written.append(target)
    return written


def main() -> int:
    """``python -m ruas.web.assets``: copy the vendor files; exit status 1 with a message when npm did not run."""
    try:
        written = copy_assets()
    except FileNotFoundError as exc:
        print(f"ruas.web.assets: {exc}", file=sys.stderr)
        return 1
    print(f"ruas.web.assets: {len(written)} files copied into {VENDOR_DIR}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
