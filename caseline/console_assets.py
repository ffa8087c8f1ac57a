"""The staff console's files as browsers get them: every script and style sheet under `assets/<version>/`, where the
version is a hash of their content, so a browser keeps them for a year and a release is a new path; `index.html`
(which names them) and `config.json` are revalidated on every load.

The console is plain ES modules that import each other by relative paths, so the whole tree moves together under one
version and no module needs rewriting; `index.html` alone is rewritten, its `src` and `href` to `js/` and `css/`. The
same functions build the files CDK deploys (infra/console.py) and serve them locally (caseline/local/console.py).

The languages' catalogs, `locale/<language>.po` (tools/console_catalogs.py), are served compiled, as
`locale/<language>.json`: each translated message by its English, a plural one as its forms in CLDR's order of
categories (console/js/i18n.js). The template, `locale/console.pot`, is for translators only.
"""

import hashlib
import json
import re
import shutil
import tempfile
from pathlib import Path

from babel.core import Locale
from babel.messages.pofile import read_po

ASSETS = "assets"
INDEX = "index.html"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_REFERENCE = re.compile(r'\b(?P<attribute>href|src)="(?P<path>(?:js|css)/[^"]+)"')
_NOT_ASSETS = frozenset({INDEX, "config.json"})  # config.json is the deployment's own, never a file of console/
CATALOG_SUFFIX = ".po"
PLURAL_ORDER = ("zero", "one", "two", "few", "many", "other")


def asset_files(directory: Path) -> list[Path]:
    """Every file the version covers, in a stable order."""
    return sorted(
        path
        for path in directory.rglob("*")
        if path.is_file() and path.relative_to(directory).as_posix() not in _NOT_ASSETS and path.suffix != ".pot"
    )


def served_path(relative: str) -> str:
    """Where browsers find a file: a catalog as its compiled JSON."""
    return relative.removesuffix(CATALOG_SUFFIX) + ".json" if relative.endswith(CATALOG_SUFFIX) else relative


def source_path(directory: Path, relative: str) -> Path:
    """The file of `directory` a served path comes from."""
    plain = directory / relative
    if relative.endswith(".json") and not plain.is_file():
        return directory / (relative.removesuffix(".json") + CATALOG_SUFFIX)
    return plain


def compiled_catalog(path: Path) -> bytes:
    """A language's catalog as the console reads it; fuzzy and untranslated messages are left out (shown in English).
    A plural message must have one form per plural category of its language."""
    language = path.stem
    with path.open("rb") as file:
        catalog = read_po(file, locale=language)
    # A rule names its categories but "other", which every language has.
    categories = [tag for tag in PLURAL_ORDER if tag in {*Locale.parse(language).plural_form.tags, "other"}]
    messages: dict[str, str | list[str]] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple | list):
            forms = [str(form) for form in message.string or ()]
            if all(forms):
                if len(forms) != len(categories):
                    raise ValueError(
                        f"{path.name}: {message.id[0]!r} has {len(forms)} forms; {language} needs one for each of "
                        f"{', '.join(categories)}"
                    )
                messages[str(message.id[0])] = forms
        elif message.string:
            messages[str(message.id)] = str(message.string)
    return json.dumps(messages, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def asset_content(path: Path) -> bytes:
    return compiled_catalog(path) if path.suffix == CATALOG_SUFFIX else path.read_bytes()


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
        target = out / ASSETS / current / served_path(path.relative_to(directory).as_posix())
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(asset_content(path))
    (out / INDEX).write_text(index_html(directory, current))
    return current


def built(directory: Path, root: Path) -> tuple[str, Path]:
    """The console built once per version, in `root/<version>/`: a build another process finished (a second test
    worker, a synth beside the CLI) is reused, and no build is ever changed while another process reads it. Older
    versions' builds are removed."""
    current = version(directory)
    out = root / current
    if not (out / INDEX).is_file():
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{current}-", dir=root))
        build(directory, staging)
        try:
            staging.rename(out)
        except OSError:  # the same build, finished first by another process
            shutil.rmtree(staging, ignore_errors=True)
    for older in root.iterdir():
        if older.name != current and not older.name.startswith("."):
            shutil.rmtree(older, ignore_errors=True)
    return current, out
