"""cProfile's hot spots, printed the same way by every benchmark that takes --profile."""

from __future__ import annotations

import os
import pstats
from cProfile import Profile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def print_profile(profiler: Profile, title: str, top: int) -> None:
    """The `top` functions by their own time, each with its share of the profiled call."""
    raw: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = max(ct for (_, _, _, ct, _) in raw.values())
    print(f"\n   profile: {title}, {total:.2f} s under cProfile", flush=True)
    print(f"   {'function, by own time':<70}{'self %':>8}{'cum %':>8}{'calls':>10}", flush=True)
    rows = sorted(
        (
            (tt, ct, nc, f"{_short(f)}:{line}:{fn}")
            for (f, line, fn), (_, nc, tt, ct, _) in raw.items()
        ),
        reverse=True,
    )[:top]
    for tt, ct, nc, name in rows:
        print(
            f"   {name[-70:]:<70}{100 * tt / total:>7.1f}%{100 * ct / total:>7.1f}%{nc:>10}",
            flush=True,
        )


def _short(filename: str) -> str:
    for marker in ("site-packages" + os.sep, str(ROOT) + os.sep, "lib" + os.sep):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename
