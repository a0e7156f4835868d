"""Rebuild the shipped bot model ``src/confiance/integrity/models/bots.json``.

    PYTHONPATH=src python scripts/train_bots.py [--data DIR] [--seed 0] [--C 1.0] [--output PATH] [--check]

Trains on every labelled account of Varol-2017 and Gilani-2017 (``weka_data.csv``; mapping and
model in ``confiance.integrity.bot_training``). The same data and seed write the same bytes;
``--check`` exits 1 when the file on disk differs from what this run would write.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from confiance.integrity.bot_training import DEFAULT_C, DEFAULT_SEED, fit_model, load_labelled, model_bytes

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "real" / "bot-repo-varol-gilani-features"
OUTPUT = REPO / "src" / "confiance" / "integrity" / "models" / "bots.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--C", type=float, default=DEFAULT_C)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="compare with the file on disk instead of writing")
    args = parser.parse_args(argv)

    labelled = load_labelled(args.data)
    digest = hashlib.sha256((args.data / "weka_data.csv").read_bytes()).hexdigest()
    model = fit_model(labelled.values, labelled.is_bot, labelled.features, seed=args.seed, C=args.C,
                      metadata={"data": "bot-repo-varol-gilani-features/weka_data.csv (Varol-2017 + Gilani-2017)",
                                "data_sha256": digest})
    data = model_bytes(model)
    if args.check:
        same = args.output.exists() and args.output.read_bytes() == data
        print(f"{args.output}: {'identical' if same else 'DIFFERS'}")
        return 0 if same else 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    print(f"wrote {args.output} ({len(data)} bytes; {model.metadata['rows']} accounts, {model.metadata['bots']} bots)")
    for name, coef in sorted(zip(model.features, model.coef), key=lambda p: -abs(p[1])):
        print(f"  {name:32s} {coef:+.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
