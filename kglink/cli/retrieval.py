"""Commands that retrieve passages from a graph: retrieve, eval."""

from __future__ import annotations

from dataclasses import asdict

import click

from kglink.cli._common import echo_json, load_bundle, main


def _retriever(graph_dir: str, **options):
    from kglink.retriever import GraphRetriever

    bundle = load_bundle(graph_dir)
    bundle.entities.model.show_progress = False
    return GraphRetriever(bundle, **options)


@main.command()
@click.option("--graph", "graph_dir", required=True, type=click.Path(), help="Graph folder.")
@click.argument("question")
@click.option("--top-k", default=5, show_default=True, type=click.IntRange(1, 1000))
@click.option("--mode", default="graph", show_default=True, type=click.Choice(["graph", "dense"]))
@click.option("--json", "as_json", is_flag=True, help="One JSON line per passage.")
def retrieve(graph_dir, question, top_k, mode, as_json) -> None:
    """Retrieve passages for QUESTION, with the linked entities that led there."""
    retriever = _retriever(graph_dir)
    hits = (
        retriever.retrieve(question, top_k) if mode == "graph" else retriever.retrieve_dense(question, top_k)
    )
    if not as_json and hits and hits[0].seeds:
        click.echo(
            "seeds: " + ", ".join(f"{s.mention!r} -> {s.node[2:]} ({s.score:.2f})" for s in hits[0].seeds)
        )
    for rank, hit in enumerate(hits, 1):
        if as_json:
            echo_json({"rank": rank, **asdict(hit)})
        else:
            click.echo(f"{rank}. [{hit.score:.4f}] {hit.title}: {hit.text[:100]}")


@main.command("eval")
@click.option("--graph", "graph_dir", required=True, type=click.Path(), help="Graph folder.")
@click.option(
    "--questions",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="MuSiQue-format JSON: gold passages are paragraphs with is_supporting.",
)
@click.option("--mode", default="graph", show_default=True, type=click.Choice(["graph", "dense"]))
@click.option("--no-synonyms", is_flag=True, help="Walk the graph without its synonym edges.")
@click.option("--scoring", default="v2", show_default=True, type=click.Choice(["v1", "v2"]))
@click.option("--json", "as_json", is_flag=True, help="One JSON line per question, then the summary.")
def evaluate_cmd(graph_dir, questions, mode, no_synonyms, scoring, as_json) -> None:
    """Passage Recall@2 and Recall@5 on MuSiQue-format questions."""
    from kglink.evaluate import evaluate, load_questions, summarize

    retriever = _retriever(graph_dir, use_synonyms=not no_synonyms, scoring=scoring)
    fetch = retriever.retrieve if mode == "graph" else retriever.retrieve_dense
    results = []
    for result in evaluate(
        load_questions(questions, retriever.bundle.graph), lambda q: [h.passage_id for h in fetch(q, 5)]
    ):
        results.append(result)
        if as_json:
            echo_json(asdict(result))
    summary = {"mode": mode, "synonyms": not no_synonyms, "scoring": scoring, **summarize(results)}
    if as_json:
        echo_json(summary)
    else:
        click.echo(
            " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in summary.items())
        )
