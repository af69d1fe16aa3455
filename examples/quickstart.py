"""PyLate's quick start, written against kglink: encode names, index them, search by MaxSim."""

from kglink import LateInteractionIndex, LateInteractionModel

model = LateInteractionModel.from_pretrained(show_progress=False)  # the embedded default encoder
names = ["Stanford University", "Leland Stanford Junior University", "University of California, Berkeley"]
doc_embeddings = model.encode_documents(names)
index = LateInteractionIndex()
index.add(doc_embeddings, names)
results = index.search(model.encode_query("Stanford"), top_k=3)
for r in results:
    print(f"{r.score:.3f}  {r.text}")
