"""HippoRAG's two-step OpenIE prompts: named entities first, then triples given those entities.

The system prompts, the one-shot example (the "Radio City" paragraph) and its outputs are
taken verbatim from HippoRAG 2, ``src/hipporag/prompts/templates/ner.py`` and
``triple_extraction.py`` (https://github.com/OSU-NLP-Group/HippoRAG), which is under the
MIT License, Copyright (c) 2024 OSU Natural Language Processing.

Change :data:`PROMPT_VERSION` whenever a prompt changes: it is part of the cache key of
:class:`kglink.ie.llm.LLMExtractor`, so old cached replies are not reused.

>>> messages = ner_messages("Paris\\nParis is the capital of France.")
>>> [m["role"] for m in messages]
['system', 'user', 'assistant', 'user']
>>> messages[-1]["content"]
'Paris\\nParis is the capital of France.'
>>> print(triple_messages("Paris is in France.", ["Paris", "France"])[-1]["content"])
Convert the paragraph into a JSON dict, it has a named entity list and a triple list.
Paragraph:
```
Paris is in France.
```
<BLANKLINE>
{"named_entities": ["Paris", "France"]}
<BLANKLINE>
"""

from __future__ import annotations

import json
from collections.abc import Sequence

PROMPT_VERSION = "hipporag2-ner-re-1"

NER_SYSTEM = """Your task is to extract named entities from the given paragraph. 
Respond with a JSON list of entities.
"""  # noqa: W291 (trailing space as in HippoRAG)

ONE_SHOT_PARAGRAPH = """Radio City
Radio City is India's first private FM radio station and was started on 3 July 2001.
It plays Hindi, English and regional songs.
Radio City recently forayed into New Media in May 2008 with the launch of a music portal - PlanetRadiocity.com that offers music related news, videos, songs, and other music-related features."""  # noqa: E501

ONE_SHOT_NER_OUTPUT = """{"named_entities":
    ["Radio City", "India", "3 July 2001", "Hindi", "English", "May 2008", "PlanetRadiocity.com"]
}
"""

RE_SYSTEM = """Your task is to construct an RDF (Resource Description Framework) graph from the given passages and named entity lists. 
Respond with a JSON list of triples, with each triple representing a relationship in the RDF graph. 

Pay attention to the following requirements:
- Each triple should contain at least one, but preferably two, of the named entities in the list for each passage.
- Clearly resolve pronouns to their specific names to maintain clarity.

"""  # noqa: E501, W291

RE_FRAME = """Convert the paragraph into a JSON dict, it has a named entity list and a triple list.
Paragraph:
```
{passage}
```

{named_entity_json}
"""

ONE_SHOT_RE_OUTPUT = """{"triples": [
            ["Radio City", "located in", "India"],
            ["Radio City", "is", "private FM radio station"],
            ["Radio City", "started on", "3 July 2001"],
            ["Radio City", "plays songs in", "Hindi"],
            ["Radio City", "plays songs in", "English"],
            ["Radio City", "forayed into", "New Media"],
            ["Radio City", "launched", "PlanetRadiocity.com"],
            ["PlanetRadiocity.com", "launched in", "May 2008"],
            ["PlanetRadiocity.com", "is", "music portal"],
            ["PlanetRadiocity.com", "offers", "news"],
            ["PlanetRadiocity.com", "offers", "videos"],
            ["PlanetRadiocity.com", "offers", "songs"]
    ]
}
"""


def ner_messages(passage: str) -> list[dict[str, str]]:
    """The chat messages asking for the named entities of ``passage`` (``{"named_entities": [...]}``)."""
    return [
        {"role": "system", "content": NER_SYSTEM},
        {"role": "user", "content": ONE_SHOT_PARAGRAPH},
        {"role": "assistant", "content": ONE_SHOT_NER_OUTPUT},
        {"role": "user", "content": passage},
    ]


def triple_messages(passage: str, entities: Sequence[str]) -> list[dict[str, str]]:
    """The chat messages asking for the triples of ``passage`` given its ``entities``."""
    example = RE_FRAME.format(passage=ONE_SHOT_PARAGRAPH, named_entity_json=ONE_SHOT_NER_OUTPUT)
    named = json.dumps({"named_entities": list(entities)}, ensure_ascii=False)
    return [
        {"role": "system", "content": RE_SYSTEM},
        {"role": "user", "content": example},
        {"role": "assistant", "content": ONE_SHOT_RE_OUTPUT},
        {"role": "user", "content": RE_FRAME.format(passage=passage, named_entity_json=named)},
    ]
