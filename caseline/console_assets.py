"""The staff console's files as browsers get them: every script and style sheet under `assets/<version>/`, where the
version is a hash of their content, so a browser keeps them for a year and a release is a new path; `index.html`
(which names them) and `config.json` are revalidated on every load.

The console is plain ES modules that import each other by relative paths, so the whole tree moves together under one
version and no module needs rewriting; `index.html` alone is rewritten, its `src` and `href` to `js/` and `css/`. The
same functions build the files CDK deploys (infra/console.py) and serve them locally (caseline/local/console.py).
"""

import hashlib
import re
import shutil
from pathlib import Path

ASSETS = "assets"
INDEX = "index.html"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_REFERENCE = re.compile(r'\b(?P<attribute>href|src)="(?P<path>(?:js|css)/[^"]+)"')
_NOT_ASSETS = frozenset({INDEX, "config.json"})  # config.json is the deployment's own, never a file of console/


def asset_files(directory: Path) -> list[Path]:
    """Every file the version covers, in a stable order."""
    return sorted(
        path
        for path in directory.rglob("*")
        if path.is_file() and path.relative_to(directory).as_posix() not in _NOT_ASSETS
    )


def version(directory: Path) -> str:
    """12 hex digits of a SHA-256 over every asset's path and content."""
    digest = hashlib.sha256()
    for path in asset_files(directory):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:12]


def index_html(directory: Path, current: str) -> str:
    """`index.html` with its scripts, module preloads and style sheets under `assets/<current>/`."""
    source = (directory / INDEX).read_text()
    return _REFERENCE.sub(lambda found: f'{found["attribute"]}="{ASSETS}/{current}/{found["path"]}"', source)


def build(directory: Path, out: Path) -> str:
    """The console as deployed, in `out` (emptied first): `index.html` and `assets/<version>/...`; its version."""
    current = version(directory)
    shutil.rmtree(out, ignore_errors=True)
    for path in asset_files(directory):
        target = out / ASSETS / current / path.relative_to(directory)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    (out / INDEX).write_text(index_html(directory, current))
    return current
