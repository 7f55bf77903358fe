"""The console's templates and static files ship in the wheel: the package data in
pyproject.toml covers every one of them (a file it missed would be absent after
``pip install``, though present in a checkout)."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "post3" / "console"


def test_every_template_and_asset_is_package_data():
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["post3.console"]
    assets = [path.relative_to(PACKAGE).as_posix()
              for folder in ("templates", "static") for path in (PACKAGE / folder).rglob("*")
              if path.is_file()]
    assert {"templates/base.html", "static/console.js", "static/console.css"} <= set(assets)
    missed = [name for name in assets if not any(fnmatch.fnmatch(name, g) for g in globs)]
    assert missed == []
