"""Where things are in a checkout."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES_DIR = ROOT / "services"
COMMON_DIR = SERVICES_DIR / "common"
STATE_DIR = ROOT / ".caseline"
EXAMPLES_DIR = ROOT / "examples" / "templates"
