"""A bounded subgraph as one self-contained HTML file: the explorer's picture, offline.

The page inlines the vendored cytoscape.js, the explorer's drawing code
(``kglink/serve/static/graph.js``) and the node-link JSON of the subgraph
(:func:`kglink.graph.subgraph.node_link`), so it opens by double-click with no server and
no network. The static files are read from the package folder, so writing one needs no
web framework.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

from kglink.artifacts import atomic_write_bytes
from kglink.errors import ArtifactError

STATIC = Path(__file__).resolve().parents[1] / "serve" / "static"
SCRIPTS = ("vendor/cytoscape.min.js", "graph.js")

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ margin: 0; font: 14px system-ui, sans-serif; }}
header {{ padding: .4em 1em; background: #24364f; color: #fff; }}
#picture {{ position: absolute; top: 2.6em; bottom: 0; left: 0; right: 0; }}
</style></head>
<body><header><strong>{title}</strong> &middot; <span id="count"></span>
&middot; entities round, passages square; relations solid, mentions dotted, synonyms dashed</header>
<div id="picture"></div>
{scripts}
<script id="kglink-data" type="application/json">{data}</script>
<script>
(function () {{
  var data = JSON.parse(document.getElementById("kglink-data").textContent);
  data.highlight = {highlight};
  var cy = KglinkGraph.draw(document.getElementById("picture"), data, null);
  document.getElementById("count").textContent = cy.nodes().length + " nodes, " + cy.edges().length + " edges"
    + (data.graph.truncated ? " (cut at the cap)" : "");
}})();
</script></body></html>
"""


def html_page(data: dict, title: str, highlight: bool = False) -> str:
    """The page's text for node-link ``data`` (see :func:`kglink.graph.subgraph.node_link`)."""
    scripts = "\n".join(f"<script>\n{_script(name)}\n</script>" for name in SCRIPTS)
    return _PAGE.format(
        title=html.escape(title),
        scripts=scripts,
        data=_json_in_script(data),
        highlight="true" if highlight else "false",
    )


def write_html(data: dict, path: str | os.PathLike, title: str, highlight: bool = False) -> None:
    """Write :func:`html_page` to ``path`` atomically."""
    atomic_write_bytes(path, html_page(data, title, highlight).encode("utf-8"))


def _script(name: str) -> str:
    path = STATIC / name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ArtifactError(f"{path} is missing ({e.strerror}); reinstall kglink") from None
    return text.replace("</script", "<\\/script")


def _json_in_script(data: dict) -> str:
    """JSON safe inside a ``<script>`` element (no ``</script>``, no ``<!--``)."""
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
