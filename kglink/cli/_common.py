"""The ``kglink`` click group and the small helpers its commands share."""

from __future__ import annotations

import json
import logging
import sys

import click

from kglink._version import __version__

THRESHOLD = click.FloatRange(0.0, 1.0)


def echo_json(obj: object) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False))


def load_bundle(graph_dir: str):
    from kglink.bundle import GraphBundle

    return GraphBundle.load(graph_dir)


class _Group(click.Group):
    """Turn kglink's own errors into one clear line and exit code 1, not a traceback."""

    def invoke(self, ctx: click.Context):
        from kglink.errors import KglinkError

        try:
            return super().invoke(ctx)
        except KglinkError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="kglink")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
def main(verbose: bool) -> None:
    """kglink: entity linking and KG synonymy with late interaction (ColBERT MaxSim)."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
