"""(being written)"""

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path")


def run(args: argparse.Namespace) -> int:
    raise SystemExit("not written yet")
