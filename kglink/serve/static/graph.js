/* kglink: draw one bounded subgraph (node-link JSON from /v1/graphs/{g}/subgraph or
   `kglink export`) with cytoscape.js. Shared by the explorer page and the HTML export.
   Entities are round, passages square; relation edges solid, mention edges dotted,
   synonym edges dashed and labelled with their score. */
(function (global) {
  "use strict";

  var STYLE = [
    { selector: "node", style: {
        "label": "data(short)", "font-size": 10, "text-valign": "bottom", "text-margin-y": 3,
        "width": 18, "height": 18, "color": "#222", "text-wrap": "ellipsis", "text-max-width": 110 } },
    { selector: "node[kind = 'entity']", style: { "shape": "ellipse", "background-color": "#3b7dd8" } },
    { selector: "node[kind = 'passage']", style: { "shape": "round-rectangle", "background-color": "#e49b2e" } },
    { selector: "node[role = 'center']", style: { "width": 28, "height": 28, "border-width": 3, "border-color": "#111" } },
    { selector: "node[role = 'seed']", style: { "width": 26, "height": 26, "background-color": "#1f9d55", "border-width": 3, "border-color": "#0b5" } },
    { selector: "node[role = 'retrieved']", style: { "width": 26, "height": 26, "background-color": "#d0421b", "border-width": 3, "border-color": "#801" } },
    { selector: "node:selected", style: { "border-width": 4, "border-color": "#f0c" } },
    { selector: "edge", style: { "width": 1.5, "curve-style": "bezier", "line-color": "#999" } },
    { selector: "edge[kind = 'relation']", style: { "line-color": "#555", "width": 2, "label": "data(short)", "font-size": 8, "color": "#555", "text-rotation": "autorotate" } },
    { selector: "edge[kind = 'mention']", style: { "line-style": "dotted", "line-color": "#c9a26b" } },
    { selector: "edge[kind = 'synonym'], edge[?synonym_score]", style: { "line-style": "dashed", "line-color": "#b03ad8", "width": 2.5, "label": "data(short)", "font-size": 8, "color": "#b03ad8" } },
    { selector: ".onpath", style: { "line-color": "#d0421b", "width": 3.5 } }
  ];

  function shorten(text, n) {
    text = String(text || "");
    return text.length > n ? text.slice(0, n - 1) + "\u2026" : text;
  }

  function edgeLabel(e) {
    if (e.kind === "relation") {
      return shorten((e.predicates || []).join(", "), 30);
    }
    if (e.kind === "synonym") {
      return Number(e.score).toFixed(2);
    }
    return "";
  }

  function elements(data) {
    var nodes = data.nodes.map(function (n) {
      return { group: "nodes", data: Object.assign({}, n, { short: shorten(n.label, 28) }) };
    });
    var edges = data.edges.map(function (e, i) {
      var d = Object.assign({}, e, { id: "edge" + i, short: edgeLabel(e) });
      return { group: "edges", data: d, classes: data.highlight ? "onpath" : "" };
    });
    return nodes.concat(edges);
  }

  /* Draw `data` in `container`; onSelect(nodeId) on a click or tap. Returns the cytoscape instance. */
  function draw(container, data, onSelect) {
    if (typeof global.cytoscape !== "function") {
      container.textContent = "cytoscape.js did not load";
      return null;
    }
    var cy = global.cytoscape({
      container: container,
      elements: elements(data),
      style: STYLE,
      layout: { name: data.nodes.length > 150 ? "concentric" : "cose", animate: false, randomize: false, nodeRepulsion: 9000 },
      wheelSensitivity: 0.3,
      minZoom: 0.2,
      maxZoom: 3
    });
    if (onSelect) {
      cy.on("tap", "node", function (ev) { onSelect(ev.target.id()); });
    }
    global.kglinkCy = cy;
    container.setAttribute("data-nodes", String(cy.nodes().length));
    container.setAttribute("data-edges", String(cy.edges().length));
    return cy;
  }

  global.KglinkGraph = { draw: draw, shorten: shorten };
})(window);
