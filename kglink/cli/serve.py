"""``kglink serve``: the HTTP service over one or more graph folders."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

import click

from kglink.cli._common import main

logger = logging.getLogger(__name__)


def _graphs(values: tuple[str, ...]) -> dict[str, str]:
    """``NAME=DIR`` or ``DIR`` (named after its folder) for each --graph."""
    graphs: dict[str, str] = {}
    for value in values:
        name, sep, folder = value.partition("=")
        if not sep:
            name, folder = Path(value).name, value
        if not name or name in graphs:
            raise click.UsageError(f"--graph {value}: give each graph its own NAME, as NAME=DIR")
        graphs[name] = folder
    return graphs


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@main.command()
@click.option(
    "--graph", "graphs", multiple=True, required=True, help="Graph folder, or NAME=DIR; repeatable."
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--api-key-file", type=click.Path(exists=True, dir_okay=False), help="Keys, one a line: KEY [read|admin]."
)
@click.option("--insecure", is_flag=True, help="Allow a non-loopback host with no API key.")
@click.option("--model", default=None, help="Checkpoint (default: the one each graph was built with).")
@click.option(
    "--batching/--no-batching", default=True, show_default=True, help="Encode concurrent requests together."
)
@click.option(
    "--max-wait-ms", default=5.0, show_default=True, type=click.FloatRange(0), help="Batch fill time."
)
@click.option(
    "--token-budget", default=4096, show_default=True, type=click.IntRange(1), help="Tokens a batch."
)
@click.option(
    "--max-queue", default=256, show_default=True, type=click.IntRange(1), help="Queued jobs before 429."
)
@click.option("--max-body-mb", default=10.0, show_default=True, type=click.FloatRange(0, min_open=True))
@click.option(
    "--max-mentions", default=256, show_default=True, type=click.IntRange(1), help="Names a request."
)
@click.option("--max-name-chars", default=300, show_default=True, type=click.IntRange(1))
@click.option(
    "--timeout", "timeout_s", default=30.0, show_default=True, type=click.FloatRange(0, min_open=True)
)
@click.option(
    "--generator",
    type=click.Choice(["none", "local"]),
    default="none",
    show_default=True,
    help="/ask's generator: none, or local (SmolLM2 offline).",
)
def serve(
    graphs,
    host,
    port,
    api_key_file,
    insecure,
    model,
    batching,
    max_wait_ms,
    token_budget,
    max_queue,
    max_body_mb,
    max_mentions,
    max_name_chars,
    timeout_s,
    generator,
) -> None:
    """Serve linking, synonymy and retrieval over HTTP (docs at /docs); needs kglink[serve].

    Keys come from --api-key-file and KGLINK_API_KEYS (KEY or KEY:admin, comma-separated);
    with none, only a loopback host is allowed unless --insecure.
    """
    try:
        import uvicorn

        from kglink.serve import Limits, Service, create_app
        from kglink.serve.auth import load_keys
    except ImportError as e:
        raise click.UsageError(
            f"kglink serve needs its extra ({e.name} is missing): pip install 'kglink[serve]'"
        ) from None
    keys = load_keys(api_key_file)
    if not keys and not _loopback(host) and not insecure:
        raise click.UsageError(
            f"--host {host} is not loopback and no API key is set: set --api-key-file or "
            "KGLINK_API_KEYS, or pass --insecure to serve it open"
        )
    limits = Limits(int(max_body_mb * 1024 * 1024), max_mentions, max_name_chars, request_timeout_s=timeout_s)
    gen = None
    if generator == "local":
        from kglink.rag import LocalGenerator

        gen = LocalGenerator(show_progress=False)
    service = Service(
        _graphs(graphs),
        model=model,
        api_keys=keys,
        limits=limits,
        batching=batching,
        max_queue=max_queue,
        token_budget=token_budget,
        max_wait_ms=max_wait_ms,
        generator=gen,
    )
    uvicorn.run(
        create_app(service),
        host=host,
        port=port,
        workers=1,
        log_level="warning",
        timeout_graceful_shutdown=timeout_s,
    )
