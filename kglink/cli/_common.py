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


def plot_target(path: str | None, *folders: str | None) -> str | None:
    """Check ``--plot PATH`` before any work: matplotlib is there, and PATH is outside ``folders``.

    A PNG inside a graph or model folder would be a foreign file there, which kglink then
    refuses to replace on the next save.
    """
    if path is None:
        return None
    from pathlib import Path

    from kglink.plots import require_matplotlib

    require_matplotlib()
    for folder in folders:
        if folder and Path(folder).is_dir() and Path(folder).resolve() in Path(path).resolve().parents:
            raise click.UsageError(f"--plot {path} is inside {folder}; write the plot elsewhere")
    return path


def load_bundle(graph_dir: str, show_progress: bool = True):
    from kglink.bundle import GraphBundle

    return GraphBundle.load(graph_dir, show_progress=show_progress)


class _Group(click.Group):
    """Turn every error into one clear line and exit code 1, not a traceback (usage errors: 2).

    kglink's own errors say what to do; an error of the system (a full disk, a missing
    permission) says what failed; anything else is a bug, reported as one and logged with
    its traceback under ``-v``.
    """

    def invoke(self, ctx: click.Context):
        from kglink.errors import KglinkError

        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KglinkError as e:
            _fail(str(e))
        except OSError as e:
            _fail(f"{e.strerror or e} ({e.filename})" if e.filename else str(e))
        except MemoryError:
            _fail("out of memory; try a smaller input or a machine with more memory")
        except Exception as e:
            logging.getLogger("kglink").debug("unexpected error", exc_info=True)
            _fail(f"unexpected {type(e).__name__}: {e} (a bug in kglink: please report it with `kglink -v`)")


def _fail(message: str) -> None:
    click.echo(f"error: {_printable(message)}", err=True)
    sys.exit(1)


def _printable(text: str) -> str:
    """``text`` with lone surrogates (from arguments that were not UTF-8) shown as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="kglink")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
def main(verbose: bool) -> None:
    """kglink: entity linking and KG synonymy with late interaction (ColBERT MaxSim)."""
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # also for libraries that set their own level (bm25s: DEBUG)
        handler.setLevel(level)
