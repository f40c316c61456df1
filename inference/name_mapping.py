"""Map expression channel names from other tools onto ARKit's 52 names.

Case-insensitive, separator-insensitive: ARKit camelCase (``eyeBlinkLeft``), PascalCase
(Live Link Face: ``EyeBlinkLeft``), ``_L``/``_R``/``.L``/``Left``/``Right`` suffixes
(``eyeBlink_L``), MediaPipe blendshape names (ARKit names plus ``_neutral``), MPFB and
Faceit (ARKit names, sometimes prefixed). A user table (JSON ``{"their name": "arkit
name"}``) takes precedence and round-trips through :func:`save_table`/:func:`load_table`.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from rigs.arkit import ARKIT_NAMES

_KEY = {re.sub(r"[^a-z]", "", n.lower()): n for n in ARKIT_NAMES}
_SIDE = re.compile(r"(?:[_.\- ](l|r|left|right)|(left|right))$", re.IGNORECASE)


def canonical_arkit(name: str, table: dict[str, str] | None = None) -> str | None:
    """The ARKit name ``name`` stands for, or None (also for MediaPipe's ``_neutral``)."""
    if table:
        for k, v in table.items():
            if k.lower() == name.lower():
                return v if v in ARKIT_NAMES else None
    stem, side = name.strip(), ""
    m = _SIDE.search(stem)
    if m:
        side = "left" if (m.group(1) or m.group(2)).lower().startswith("l") else "right"
        stem = stem[:m.start()]
    candidates = [stem]
    if re.search(r"[_.:\- ]", stem):            # a tool prefix such as "Faceit_" or "mpfb."
        candidates.append(re.split(r"[_.:\- ]", stem, maxsplit=1)[1])
    for c in candidates:
        hit = _KEY.get(re.sub(r"[^a-z]", "", c.lower()) + side)
        if hit:
            return hit
    return None


def map_names(names, table: dict[str, str] | None = None) -> dict[str, str]:
    """{source name: ARKit name} for every name that maps."""
    out = {}
    for n in names:
        c = canonical_arkit(n, table)
        if c:
            out[n] = c
    return out


def save_table(table: dict[str, str], path: str | Path) -> None:
    """Write a mapping table as JSON (validated: every value an ARKit name)."""
    bad = [v for v in table.values() if v not in ARKIT_NAMES]
    if bad:
        raise ValueError(f"not ARKit names: {', '.join(bad)}")
    Path(path).write_text(json.dumps(dict(sorted(table.items())), indent=1) + "\n")


def load_table(path: str | Path) -> dict[str, str]:
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or not all(isinstance(k, str) and v in ARKIT_NAMES for k, v in data.items()):
        raise ValueError(f"{path}: expected a JSON object of name -> ARKit name")
    return data
