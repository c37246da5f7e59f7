"""Command line of the course: ``python -m course_utils <command>``.

``check`` prints the environment report of notebook 00 and exits 1 if anything failed.
"""

from __future__ import annotations

import argparse
import sys


def _check(_args: argparse.Namespace) -> int:
    from course_utils.env import environment_report

    report = environment_report()
    for item in report:
        print(item)
    return 0 if all(item.ok for item in report) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils",
                                     description="Cloning in Python: course command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="check the environment ([OK]/[FAIL] per item)").set_defaults(func=_check)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
