"""What the synthetic-variant tools (glasses, beards, bald heads, hair colours) share: their
command line, their labels and where their rows and composited photos go."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def tool_args(doc: str, argv=None, extra: tuple[tuple[str, dict], ...] = ()) -> argparse.Namespace:
    """``PHOTOS [--labels CSV] [-o rows.jsonl] [--save DIR]``, described by ``doc``'s first
    line, plus the tool's own ``extra`` options (name, argparse keywords)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("photos", type=Path)
    ap.add_argument("--labels", type=Path)
    ap.add_argument("-o", "--out", type=Path, help="write the rows as JSON lines here")
    ap.add_argument("--save", type=Path, help="save the composited photos here (PNG)")
    for name, kw in extra:
        ap.add_argument(name, **kw)
    return ap.parse_args(argv)


def tool_labels(args: argparse.Namespace) -> dict[str, dict[str, str]]:
    """The labels named on the command line, else the folder's labels.csv."""
    from inference.evaluate import read_labels
    return read_labels(args.labels or args.photos / "labels.csv")


def report_row(args: argparse.Namespace, rows: list[dict], row: dict, img: np.ndarray, name: str) -> None:
    """Keep and print one row; save its photo under ``--save`` when asked."""
    rows.append(row)
    print(json.dumps(row), flush=True)
    if args.save:
        from PIL import Image
        args.save.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(args.save / f"{name}.png")


def write_rows(args: argparse.Namespace, rows: list[dict]) -> None:
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
