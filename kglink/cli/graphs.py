"""Commands that build and inspect graphs: build, link, synonyms, info, export."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from kglink.cli._common import THRESHOLD, echo_json, load_bundle, main


@main.command()
@click.option(
    "--openie",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="HippoRAG OpenIE JSON (v1 or v2 layout).",
)
@click.option("--corpus", type=click.Path(exists=True, dir_okay=False), help="Corpus JSON: [{title, text}].")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Graph folder to write.")
@click.option("--model", default=None, help="Checkpoint folder or hub id (default: the embedded model).")
@click.option("--threshold", default=0.8, show_default=True, type=THRESHOLD, help="Synonym threshold.")
@click.option(
    "--normalization",
    default="self",
    show_default=True,
    type=click.Choice(["self", "mean", "symmetric"]),
    help="Score normalisation.",
)
@click.option("--device", default=None, help="cpu, cuda, cuda:N (default: cuda if available).")
@click.option(
    "--passages/--no-passages",
    default=True,
    show_default=True,
    help="Also encode the passages for dense and graph retrieval.",
)
@click.option("--update", is_flag=True, help="Add to the graph in --out only the passages it lacks.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bars on stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print stats as one JSON object.")
def build(
    openie, corpus, out, model, threshold, normalization, device, passages, update, progress, as_json
) -> None:
    """Build a graph, its entity index and synonym edges from OpenIE output.

    With --update, the graph already in --out is extended instead: only new passages,
    new entity names and new-vs-all synonym pairs are computed (the graph's own model,
    threshold and normalisation apply).
    """
    from kglink.builder import GraphBundle, build_graph
    from kglink.model import LateInteractionModel

    if update:
        bundle = GraphBundle.load(out)
        bundle.entities.model.show_progress = progress
        added = bundle.extend(openie, corpus)
    else:
        encoder = LateInteractionModel.from_pretrained(model, device=device, show_progress=progress)
        bundle = build_graph(
            openie, corpus, model=encoder, threshold=threshold, normalization=normalization, passages=passages
        )
        added = {}
    bundle.save(out)
    timings = {k: round(v, 2) for k, v in bundle.timings.items()}
    stats = {**bundle.graph.stats(), **added, **timings, "out": out}
    if as_json:
        echo_json(stats)
    else:
        click.echo(f"built {out}")
        for key, value in stats.items():
            click.echo(f"  {key:20} {value}")


@main.command()
@click.option("--graph", "graph_dir", required=True, type=click.Path(), help="Graph folder.")
@click.argument("mentions", nargs=-1, required=True)
@click.option("--top-k", default=5, show_default=True, type=click.IntRange(1, 1000))
@click.option("--threshold", default=None, type=THRESHOLD, help="Default: the graph's threshold.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per mention.")
def link(graph_dir, mentions, top_k, threshold, as_json) -> None:
    """Link MENTIONS to entity nodes of a graph."""
    results = load_bundle(graph_dir).entities.link(list(mentions), top_k=top_k, threshold=threshold)
    for r in results:
        if as_json:
            echo_json(
                {
                    "mention": r.mention,
                    "linked": r.linked,
                    "matches": [asdict(m) for m in r.matches],
                    "best": asdict(r.best) if r.best else None,
                }
            )
        elif r.linked:
            click.echo(f"{r.mention}: " + ", ".join(f"{m.name} ({m.score:.3f})" for m in r.matches))
        else:
            best = f"; closest: {r.best.name} ({r.best.score:.3f})" if r.best else ""
            click.echo(f"{r.mention}: no link{best}")


@main.command()
@click.option("--graph", "graph_dir", required=True, type=click.Path(), help="Graph folder.")
@click.option("--node", default=None, help="Only the synonyms of this entity name.")
@click.option("--limit", default=None, type=click.IntRange(1), help="Only the N highest-scoring pairs.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per synonym pair.")
def synonyms(graph_dir, node, limit, as_json) -> None:
    """List the synonym edges of a graph, best first."""
    from kglink.graph import KnowledgeGraph

    pairs = sorted(
        KnowledgeGraph.load(graph_dir).synonyms(node), key=lambda p: (-p.score, p.source, p.target)
    )
    for pair in pairs[:limit]:
        if as_json:
            echo_json(asdict(pair))
        else:
            click.echo(f"{pair.score:.3f}  {pair.source}  <->  {pair.target}")


@main.command()
@click.option("--graph", "graph_dir", required=True, type=click.Path(), help="Graph folder.")
@click.option("--json", "as_json", is_flag=True)
def info(graph_dir, as_json) -> None:
    """Show the counts of a graph and the model its index was built with."""
    from kglink.builder import ENTITIES_DIR
    from kglink.graph import KnowledgeGraph
    from kglink.io import read_artifact_json

    stats = KnowledgeGraph.load(graph_dir).stats()
    config = read_artifact_json(Path(graph_dir) / ENTITIES_DIR / "config.json", "entity index config")
    stats.update({k: config.get(k) for k in ("model", "dim", "normalization", "threshold")})
    if as_json:
        echo_json(stats)
    else:
        for key, value in stats.items():
            click.echo(f"{key:20} {value}")


@main.command()
@click.option("--graph", "graph_dir", required=True, type=click.Path(), help="Graph folder.")
@click.option("--format", "fmt", default="graphml", show_default=True, type=click.Choice(["graphml"]))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="File to write.")
def export(graph_dir, fmt, out) -> None:
    """Export a graph for other tools (GraphML: Gephi, Cytoscape, networkx)."""
    from kglink.graph import KnowledgeGraph

    KnowledgeGraph.load(graph_dir).export_graphml(out)
    click.echo(f"wrote {out}")
