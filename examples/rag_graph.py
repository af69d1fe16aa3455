"""Graph RAG in one call: load the sample graph (or build it), then ask a question.

`make demo` builds graphs/sample-kg; without it (or its passage index) the graph is built here.
The generator is SmolLM2-135M-Instruct, offline and weak (see examples/rag_minimal.py).
"""

from pathlib import Path

from kglink import GraphBundle, LateInteractionModel, build_graph
from kglink.rag import ask

graphs = Path(__file__).resolve().parents[1] / "graphs"
bundle = GraphBundle.load(graphs / "sample-kg") if (graphs / "sample-kg").is_dir() else None
if bundle is None or bundle.passages is None:  # retrieval needs the dense passage index too
    model = LateInteractionModel.from_pretrained(show_progress=False)
    bundle = build_graph(graphs / "sample" / "openie.json", graphs / "sample" / "corpus.json", model=model)
bundle.entities.model.show_progress = False

answer = ask(
    bundle,
    "What is the name of the waterfall in the country where the Bubye River is found?",
    top_k=3,
    show_progress=False,
)
print(f"Q: {answer.question}\nA: {answer.answer}")
print("seeds:", ", ".join(f"{s.mention} -> {s.node[2:]} ({s.score:.2f})" for s in answer.seeds))
for number, hit in enumerate(answer.passages, 1):
    print(f"  [{number}]{' cited' if number in answer.cited else ''} {hit.title} ({hit.score:.4f})")
