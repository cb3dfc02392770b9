"""The command line: `python -m clientlens.demo --help`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from clientlens import demo
from clientlens.demo.firms import FIRMS
from clientlens.demo.writer import generate


def main(argv: list[str] | None = None) -> int:
    from clientlens.parameters import load
    from clientlens.paths import DEMO_TRUTH_FILE, RAW_DIR

    params = load()
    ap = argparse.ArgumentParser(prog="python -m clientlens.demo", description=demo.__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=RAW_DIR, help="directory for the raw exports")
    ap.add_argument("--truth", type=Path, default=DEMO_TRUTH_FILE, help="planted-truth JSON (tests only)")
    ap.add_argument("--clients", type=int, default=params.demo_clients)
    ap.add_argument("--years", type=int, default=params.demo_years)
    ap.add_argument("--seed", type=int, default=params.seed)
    ap.add_argument("--end-quarter", default=params.demo_end_quarter)
    ap.add_argument("--firm", default="demo", choices=sorted(FIRMS),
                    help="the firm's configuration (clientlens.demo.firms)")
    args = ap.parse_args(argv)
    try:
        generate(args.out, args.truth, clients=args.clients, years=args.years, seed=args.seed,
                 end_quarter=args.end_quarter, progress=True, firm=args.firm,
                 lapse_quarters=params.lapse_quarters)
    except ValueError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    return 0
