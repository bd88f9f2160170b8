"""`python -m bot.pictures --sheet sheet.png`: every illustration in one labelled PNG.

    python -m bot.pictures --sheet sheet.png              # the whole set, for review
    python -m bot.pictures --one fh_9090.band out.png     # one picture as the bot sends it

Reads content/ (or --content DIR) and checks it the way the bot does at start-up, so a
broken pose is reported here with its file, line and picture.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.domain.content import CONTENT_DIR, ContentError, load_program
from bot.domain.pictures import load_pictures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.pictures", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--content", type=Path, default=CONTENT_DIR,
                        help="the content folder (default: the repo's content/)")
    parser.add_argument("--sheet", type=Path, help="write every picture into this PNG")
    parser.add_argument("--one", nargs=2, metavar=("KEY", "PNG"),
                        help="write one picture, e.g. fh_9090.band out.png")
    args = parser.parse_args(argv)
    if not args.sheet and not args.one:
        parser.error("say what to write: --sheet PNG and/or --one KEY PNG")
    try:
        pictures = load_pictures(load_program(args.content), args.content)
    except ContentError as exc:
        print(f"{exc}: fix that file (see content/README.md)", file=sys.stderr)
        return 1
    if args.one:
        key, path = args.one
        known = pictures.keys()
        if key not in known:
            print(f"no picture '{key}'; known: {', '.join(known)}", file=sys.stderr)
            return 1
        Path(path).write_bytes(pictures.render(key))
        print(f"{path}: {key} ({pictures.alt(key)})")
    if args.sheet:
        args.sheet.write_bytes(pictures.contact_sheet())
        print(f"{args.sheet}: {len(pictures.keys())} pictures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
