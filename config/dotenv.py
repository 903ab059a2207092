"""Load ``.env`` from the project folder into the environment (variables already set win).

``make run`` writes a ``.env`` with a generated SECRET_KEY on first start, so the quick
start needs no configuration while SECRET_KEY stays required in production.
"""

import os
from pathlib import Path

DOTENV_PATH = Path(__file__).resolve().parent.parent / ".env"


def load_dotenv(path: Path = DOTENV_PATH) -> None:
    if os.environ.get("PHAROS_IGNORE_DOTENV") or not path.is_file():
        return
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        name = name.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        os.environ.setdefault(name, value)
