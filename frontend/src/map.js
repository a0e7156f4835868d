// The dashboard's network map. Data arrives only as JSON from /api/map and reaches the page only
// through textContent, attributes set with setAttribute, or sigma's canvas: never innerHTML.
import Graph from "graphology";
import Sigma from "sigma";

const root = document.getElementById("map");
const status = document.getElementById("map-status");
const form = document.getElementById("map-filters");
const search = document.getElementById("map-search");
const choices = document.getElementById("map-accounts");
const focused = document.getElementById("map-focus");

let renderer = null;
let graph = null;
let highlighted = null;

function say(text) {
  status.textContent = text;
}

function query() {
  const params = new URLSearchParams();
  for (const name of ["community", "platform", "kind"]) {
    const value = form.elements[name].value;
    if (value) params.set(name, value);
  }
  return params;
}

function fillOptions(select, values, keep) {
  const current = keep ? select.value : "";
  while (select.options.length > 1) select.remove(1);
  for (const value of values) {
    const option = document.createElement("option");
    option.value = String(value);
    option.textContent = String(value);
    select.appendChild(option);
  }
  select.value = current;
}

function focusNode(key) {
  if (!renderer || !graph.hasNode(key)) return false;
  highlighted = key;
  const position = renderer.getNodeDisplayData(key);
  renderer.getCamera().animate({ x: position.x, y: position.y, ratio: 0.15 }, { duration: 300 });
  renderer.refresh();
  const attributes = graph.getNodeAttributes(key);
  focused.textContent = "";
  const link = document.createElement("a");
  link.setAttribute("href", "/accounts/" + encodeURIComponent(attributes.platform) + "/" + encodeURIComponent(attributes.ref));
  link.textContent = attributes.label;
  focused.appendChild(link);
  focused.appendChild(document.createTextNode(" · community " + attributes.community + " · " + graph.degree(key) + " links shown"));
  document.body.dataset.focused = key;
  return true;
}

async function load(keepFilters) {
  say("loading…");
  const response = await fetch("/api/map?" + query().toString(), { credentials: "same-origin" });
  if (!response.ok) {
    say("no map: " + response.status + " " + (await response.text()));
    return;
  }
  const data = await response.json();
  graph = new Graph({ multi: false, type: "directed" });
  for (const node of data.nodes) {
    graph.addNode(node.key, { x: node.x, y: node.y, size: node.size, color: node.color, label: node.label,
      platform: node.platform, ref: node.ref, community: node.community });
  }
  for (const edge of data.edges) {
    if (graph.hasNode(edge.source) && graph.hasNode(edge.target) && !graph.hasEdge(edge.source, edge.target)) {
      graph.addEdge(edge.source, edge.target, { size: 0.5, color: "#cfd8e3" });
    }
  }
  fillOptions(form.elements.community, data.filters.communities, keepFilters);
  fillOptions(form.elements.platform, data.filters.platforms, keepFilters);
  fillOptions(form.elements.kind, data.filters.kinds, keepFilters);
  while (choices.firstChild) choices.removeChild(choices.firstChild);
  for (const node of data.nodes.slice(0, 2000)) {
    const option = document.createElement("option");
    option.value = node.label;
    choices.appendChild(option);
  }
  if (renderer) renderer.kill();
  highlighted = null;
  renderer = new Sigma(graph, root, {
    renderEdgeLabels: false,
    labelRenderedSizeThreshold: 6,
    zIndex: true,
    nodeReducer: (key, attributes) => {
      if (!highlighted) return attributes;
      if (key === highlighted) return { ...attributes, highlighted: true, zIndex: 2 };
      if (graph.areNeighbors(key, highlighted)) return { ...attributes, zIndex: 1 };
      return { ...attributes, color: "#e4e7eb", label: "", zIndex: 0 };
    },
    edgeReducer: (key, attributes) => {
      if (!highlighted) return attributes;
      return graph.hasExtremity(key, highlighted) ? { ...attributes, color: "#3b6ea8", size: 1 } : { ...attributes, hidden: true };
    },
  });
  renderer.on("clickNode", ({ node }) => focusNode(node));
  renderer.on("clickStage", () => {
    highlighted = null;
    focused.textContent = "";
    renderer.refresh();
  });
  const shown = data.nodes.length.toLocaleString();
  const total = data.total_nodes.toLocaleString();
  say(data.sampled ? `${shown} of ${total} accounts shown (${data.sampling})` : `${shown} accounts, ${graph.size.toLocaleString()} links`);
  document.body.dataset.mapReady = String(data.nodes.length);
}

form.addEventListener("change", () => load(true));
form.addEventListener("submit", (event) => {
  event.preventDefault();
  const wanted = search.value.trim().toLowerCase();
  if (!wanted || !graph) return;
  const key = graph.findNode((_, attributes) => attributes.label.toLowerCase() === wanted)
    || graph.findNode((_, attributes) => attributes.label.toLowerCase().includes(wanted));
  if (!key || !focusNode(key)) say("no account matches in this map");
});

load(false);
