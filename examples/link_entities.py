"""Build the shipped sample graph, then link question entities to its nodes."""

from pathlib import Path

from kglink import build_graph

sample = Path(__file__).resolve().parents[1] / "graphs" / "sample"
bundle = build_graph(sample / "openie.json", sample / "corpus.json", threshold=0.8)
print(bundle.graph.stats())
mentions = ["Journal of Psychotherapy Integration", "Bubye River", "Johnnycake, West Virginia"]
for result in bundle.entities.link(mentions, top_k=3):
    shown = ", ".join(f"{m.name} ({m.score:.2f})" for m in result.matches) or "no link"
    print(f"{result.mention}: {shown}")
