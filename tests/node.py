"""npm packages the tests read or run, installed once into the git-ignored tests/.node/.

Only tests use them (Mozilla's ical.js as a second calendar parser, axe-core as the
accessibility check), so they never become part of the app; each is pinned and gets its
own folder, `tests/.node/<name>-<version>/node_modules/<name>`, so two versions can sit
side by side. A machine without npm skips (or, with MERIDIAN_REQUIRE_SERVICES=1, fails)
the tests that need one, with a message saying what to install.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.services import unavailable

NODE_DIR = Path(__file__).resolve().parent / ".node"


def npm_package(name: str, version: str) -> Path:
    """The folder whose node_modules holds `name@version`, installed on first use."""
    folder = NODE_DIR / f"{name}-{version}"
    if (folder / "node_modules" / name / "package.json").exists():
        return folder
    npm = shutil.which("npm")
    if npm is None:
        unavailable(f"npm is needed to install {name} for the tests: apt-get install npm")
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            npm or "npm",
            "install",
            "--prefix",
            str(folder),
            "--no-audit",
            "--no-fund",
            "--no-save",
            f"{name}@{version}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        unavailable(f"npm could not install {name}: {done.stderr[-500:]}")
    return folder
