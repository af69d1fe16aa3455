/* kglink explorer: link mentions, look at entities and their bounded neighbourhoods,
   curate synonym edges, and see which part of the graph a question walked.
   Plain JS over the /v1 API; the API key (when the server wants one) stays in sessionStorage. */
(function () {
  "use strict";

  var KEY = "kglink-api-key";
  var state = { graph: null, info: null, pending: null };
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; }
      else if (k === "onclick") { node.addEventListener("click", attrs[k]); }
      else { node.setAttribute(k, attrs[k]); }
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c !== null && c !== undefined) { node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); }
    }
    return node;
  }

  function status(text, isError) {
    var s = $("status");
    s.textContent = text || "";
    s.className = isError ? "error" : "";
  }

  /* ---- the API, with the key prompt on 401 ---- */
  function api(method, path, body) {
    var headers = { "Accept": "application/json" };
    var key = sessionStorage.getItem(KEY);
    if (key) { headers["Authorization"] = "Bearer " + key; }
    if (body !== undefined) { headers["Content-Type"] = "application/json"; }
    return fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) {
          if (r.status === 401) {
            askKey(data.message || "this server needs an API key");
            throw new Error("an API key is needed");
          }
          if (!r.ok) { throw new Error(data.message || ("HTTP " + r.status)); }
          return data;
        });
      });
  }

  function askKey(reason) {
    $("api-key-reason").textContent = reason + ". The key is kept in this browser tab only.";
    $("api-key-dialog").hidden = false;
    $("api-key-input").focus();
  }

  function graphPath(tail) {
    return "/v1/graphs/" + encodeURIComponent(state.graph) + tail;
  }

  function fail(e) { status(e.message, true); }

  /* ---- graphs and stats ---- */
  function loadGraphs() {
    return api("GET", "/v1/graphs").then(function (data) {
      var picker = $("graph-picker");
      picker.textContent = "";
      data.graphs.forEach(function (g) { picker.appendChild(el("option", { value: g.name, text: g.name })); });
      var wanted = hashParams().get("g");
      var names = data.graphs.map(function (g) { return g.name; });
      state.graph = names.indexOf(wanted) >= 0 ? wanted : names[0];
      picker.value = state.graph;
      state.infos = data.graphs;
      showStats();
      status("");
      route();
    });
  }

  function showStats() {
    var info = (state.infos || []).filter(function (g) { return g.name === state.graph; })[0];
    state.info = info;
    if (!info) { $("stats").textContent = "no graph"; return; }
    var s = info.stats;
    $("stats").textContent = s.entities + " entities \u00b7 " + s.passages + " passages \u00b7 " +
      s.relation_edges + " relations \u00b7 " + (s.synonym_edges + s.relation_synonyms) +
      " synonym edges \u00b7 threshold " + Number(info.threshold).toFixed(2);
  }

  /* ---- the address: #g=GRAPH&node=KEY or #g=GRAPH&q=QUESTION, so a reload comes back ---- */
  function hashParams() { return new URLSearchParams(location.hash.slice(1)); }

  function setHash(kind, value) {
    var p = new URLSearchParams();
    p.set("g", state.graph);
    if (kind) { p.set(kind, value); }
    history.replaceState(null, "", "#" + p.toString());
  }

  function route() {
    var p = hashParams();
    if (p.get("node")) { openNode(p.get("node")); }
    else if (p.get("q")) { $("question-input").value = p.get("q"); ask(p.get("q")); }
  }

  /* ---- linking ---- */
  function link(text) {
    var out = $("search-results");
    out.textContent = "linking\u2026";
    return api("POST", graphPath("/link"), { mentions: [text], top_k: 5 }).then(function (data) {
      var r = data.results[0];
      out.textContent = "";
      if (!r || !r.linked) {
        var best = r && r.best;
        out.appendChild(el("p", { "class": "no-link", text: "no link" }));
        out.appendChild(el("p", { "class": "below", text: best
          ? "best candidate " + best.name + " scored " + best.score.toFixed(3) + ", below the threshold " + Number(state.info.threshold).toFixed(2)
          : "no candidate" }));
        if (best) { out.appendChild(el("button", { "class": "link", text: "open " + best.name, onclick: function () { openNode("e:" + best.node_id); } })); }
        return;
      }
      var list = el("ol", { id: "matches" });
      r.matches.forEach(function (m) {
        list.appendChild(el("li", { "class": "match", "data-node": m.node_id },
          el("button", { "class": "link", text: m.name, onclick: function () { openNode("e:" + m.node_id); } }),
          " ", el("span", { "class": "score", text: m.score.toFixed(3) })));
      });
      out.appendChild(list);
    }).catch(function (e) { out.textContent = ""; fail(e); });
  }

  /* ---- one node: entity or passage ---- */
  function nodeButton(n) {
    return el("button", { "class": "link", text: n.label, onclick: function () { openNode(n.id); } });
  }

  function openNode(id) {
    setHash("node", id);
    status("loading " + id + "\u2026");
    return Promise.all([api("GET", graphPath("/node?node=" + encodeURIComponent(id))), drawAround(id)])
      .then(function (r) { renderNode(r[0]); status(""); })
      .catch(fail);
  }

  function section(title, id, items, more) {
    var list = el("ul", { id: id });
    items.forEach(function (li) { list.appendChild(li); });
    var heading = el("h3", { text: title + " (" + (more === undefined ? items.length : more) + ")" });
    return el("div", {}, heading, items.length ? list : el("p", { "class": "below", id: id, text: "none" }));
  }

  function renderNode(v) {
    var box = $("entity-view");
    box.textContent = "";
    $("question-view").hidden = true;
    $("placeholder").hidden = true;
    box.hidden = false;
    box.appendChild(el("h2", { id: "entity-name", "data-node": v.id, text: v.label }));
    box.appendChild(el("p", { "class": "below", text: v.kind + " " + v.id }));
    if (v.kind === "entity") {
      box.appendChild(el("p", { "class": "forms", id: "surface-forms", text: "surface forms: " + v.surface_forms.join(" \u00b7 ") }));
      box.appendChild(section("Passages", "passages", v.mentions.map(function (e) {
        return el("li", {}, nodeButton(e.other), el("span", { "class": "opening", text: e.other.opening }));
      }), v.counts.mentions));
      box.appendChild(section("Relations", "relations", v.relations.map(function (e) {
        return el("li", {}, el("span", { "class": "pred", text: e.predicates.join(", ") + " \u2192 " }), nodeButton(e.other),
          el("span", { "class": "score", text: " \u00d7" + e.count }));
      }), v.counts.relations));
      box.appendChild(section("Synonym edges", "synonyms", v.synonyms.map(function (e) { return synonymItem(v, e); }), v.counts.synonyms));
      box.appendChild(section("Rejected pairs", "rejected", v.decisions.reject.map(function (o) {
        return el("li", { "class": "rejected-pair", "data-other": o, text: o });
      })));
    } else {
      box.appendChild(el("p", { id: "passage-text", text: v.text }));
      box.appendChild(section("Entities", "passage-entities", v.mentions.map(function (e) {
        return el("li", {}, nodeButton(e.other));
      }), v.counts.mentions));
    }
  }

  function synonymItem(v, e) {
    var other = e.other.name;
    var decision = el("span", { "class": "decision " + (e.decision || ""), text: e.decision === "accept" ? "accepted" : "" });
    var li = el("li", { "class": "synonym", "data-other": other },
      nodeButton(e.other), " ", el("span", { "class": "score", text: Number(e.score).toFixed(3) }), " ",
      el("button", { "class": "accept", "aria-label": "accept " + other, text: "accept", onclick: function () { decide(v.name, other, "accept", li, decision); } }),
      " ",
      el("button", { "class": "reject", "aria-label": "reject " + other, text: "reject", onclick: function () { decide(v.name, other, "reject", li, decision); } }),
      decision);
    return li;
  }

  function decide(name, other, what, li, decision) {
    var body = { accept: [], reject: [] };
    body[what].push([name, other]);
    decision.textContent = "saving\u2026";
    return api("POST", graphPath("/synonyms/decisions"), body).then(function () {
      decision.textContent = what === "accept" ? "accepted" : "rejected";
      decision.className = "decision " + what;
      li.setAttribute("data-decision", what);
    }).catch(function (e) { decision.textContent = ""; fail(e); });
  }

  /* ---- the picture ---- */
  function drawAround(id) {
    var q = "?node=" + encodeURIComponent(id) + "&hops=" + $("hops").value + "&max_nodes=" + $("max-nodes").value;
    return api("GET", graphPath("/subgraph" + q)).then(function (data) { draw(data, false); });
  }

  function draw(data, highlight) {
    data.highlight = highlight;
    var box = $("picture");
    if (state.cy) { state.cy.destroy(); }
    state.cy = KglinkGraph.draw(box, data, openNode);
    var g = data.graph;
    $("picture-count").textContent = g.nodes + " nodes, " + g.edges + " edges" + (g.truncated ? " (cut at the cap)" : "");
    var list = $("picture-list").querySelector("ul");
    list.textContent = "";
    data.nodes.forEach(function (n) {
      list.appendChild(el("li", { "class": n.role || "" }, nodeButton(n), el("span", { "class": "below", text: " " + n.kind + (n.role ? ", " + n.role : "") })));
    });
  }

  /* ---- a question ---- */
  function ask(question) {
    setHash("q", question);
    status("retrieving\u2026");
    return api("POST", graphPath("/retrieve/subgraph"), { question: question, top_k: 5 }).then(function (data) {
      var box = $("question-view");
      box.textContent = "";
      $("entity-view").hidden = true;
      $("placeholder").hidden = true;
      box.hidden = false;
      box.appendChild(el("h2", { text: question }));
      box.appendChild(section("Seed entities", "question-seeds", data.seeds.map(function (s) {
        return el("li", { "class": "seed", "data-node": s.node }, el("span", { text: "\u201c" + s.mention + "\u201d \u2192 " }),
          nodeButton({ id: s.node, label: s.node.slice(2) }), el("span", { "class": "score", text: " " + s.score.toFixed(3) }));
      })));
      box.appendChild(section("Retrieved passages", "question-passages", data.passages.map(function (h, i) {
        return el("li", { "class": "retrieved", "data-passage": h.passage_id },
          el("strong", { text: (i + 1) + ". " }), nodeButton({ id: "p:" + h.passage_id, label: h.title || h.passage_id }),
          el("span", { "class": "score", text: " " + h.via + " " + h.score.toFixed(4) }),
          el("span", { "class": "opening", text: KglinkGraph.shorten(h.text, 160) }));
      })));
      draw(data.subgraph, true);
      status("");
    }).catch(fail);
  }

  /* ---- wiring ---- */
  function wire() {
    $("search-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var t = $("search-input").value.trim();
      if (t) { link(t); }
    });
    $("question-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var t = $("question-input").value.trim();
      if (t) { ask(t); }
    });
    $("graph-picker").addEventListener("change", function () {
      state.graph = $("graph-picker").value;
      setHash();
      showStats();
    });
    $("api-key-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      sessionStorage.setItem(KEY, $("api-key-input").value.trim());
      $("api-key-input").value = "";
      $("api-key-dialog").hidden = true;
      loadGraphs().catch(fail);
    });
    ["hops", "max-nodes"].forEach(function (id) {
      $(id).addEventListener("change", function () {
        var n = hashParams().get("node");
        if (n) { drawAround(n).catch(fail); }
      });
    });
    document.addEventListener("keydown", function (ev) {
      if (ev.key === "/" && document.activeElement.tagName !== "INPUT") { ev.preventDefault(); $("search-input").focus(); }
    });
  }

  window.addEventListener("hashchange", function () {
    var g = hashParams().get("g");
    if (g && g !== state.graph) { state.graph = g; $("graph-picker").value = g; showStats(); }
    route();
  });
  wire();
  loadGraphs().catch(fail);
})();
