// The dashboard's network map. Data arrives only as JSON from /api/map and reaches the page only
// through textContent, attributes set with setAttribute, or sigma's canvas: never innerHTML.
//
// Built for 50,000 nodes and 200,000 links: the payload is columnar (one array per attribute, links
// as flat node-index pairs), nodes are keyed by their index and carry only what sigma draws, links
// carry no attributes (sigma's defaults colour them), and big graphs hide links and labels while the
// camera moves. performance.mark() names each loading phase for benchmarks/dashboard.py.
//
// Nodes and links use sigma's two non-instanced programs (one GL point a node, one GL line a link):
// sigma's defaults draw every node and link as an instance of a small quad, which costs a GPU next to
// nothing but costs software WebGL (SwiftShader, what a machine without a usable GPU gets) 15 to 40 µs
// an instance (nodes are drawn twice: the picking pass): drawing 20,000 nodes took 0.8 s, as points
// 0.04 s (each draw timed to a WebGL read-back in Chromium). Points are still antialiased discs (gl_PointCoord).
import Graph from "graphology";
import Sigma from "sigma";
import { EdgeLineProgram, NodePointProgram } from "sigma/rendering";

const root = document.getElementById("map");
const status = document.getElementById("map-status");
const form = document.getElementById("map-filters");
const search = document.getElementById("map-search");
const choices = document.getElementById("map-accounts");
const focused = document.getElementById("map-focus");
// The page's words, already translated by the server (JSON in the map's data-words attribute: the page
// holds no script of its own); English when absent. Values go in for "{name}"; numbers in the page's language.
const WORDS = {
  locale: "en",
  loading: "loading…",
  noMap: "no map: {detail}",
  noAccount: "no account to draw with these filters",
  noMatch: "no account matches in this map",
  focus: " · community {community} · {links} links shown",
  none: "none",
  sampled: "showing {shown} of {total} accounts, {links} links (sampled: {sampling})",
  whole: "{shown} accounts, {links} links",
  ...JSON.parse(root.dataset.words || "{}"),
};

// Above this many links, links and labels are hidden while the camera moves.
const BIG_GRAPH_LINKS = 20000;
const LINK_COLOUR = "#cfd8e3";
const FADED_COLOUR = "#e4e7eb";
const FOCUS_COLOUR = "#3b6ea8";
// Accounts offered as search suggestions (the most connected first).
const SUGGESTIONS = 2000;

let renderer = null;
let graph = null;
let nodes = null; // the payload's node columns: ref, label, platform, community by node index
let platforms = [];
let highlighted = null;

function say(text) {
  status.textContent = text;
}

function words(name, values = {}) {
  return WORDS[name].replace(/\{(\w+)\}/g, (match, key) => (key in values ? String(values[key]) : match));
}

function count(n) {
  return n.toLocaleString(WORDS.locale);
}

// The API's sampling sentence is English: another language rebuilds it from the payload's numbers, its
// second clause when the sentence has it (map.py: MapData.sampling).
function sampling(data) {
  if (!WORDS.sampledLayout) return data.sampling;
  let text = data.laid_out < data.total_nodes ? words("sampledLayout", { laidOut: count(data.laid_out) }) : words("sampledAll");
  if (data.sampling.includes("(max_nodes)")) text += words("sampledMap", { shown: count(data.count) });
  return text;
}

function query() {
  const params = new URLSearchParams();
  for (const name of ["community", "platform", "kind"]) {
    const value = form.elements[name].value;
    if (value) params.set(name, value);
  }
  // /map?max_nodes=N draws fewer nodes (a slower machine); the server bounds it
  const wanted = new URLSearchParams(window.location.search).get("max_nodes");
  if (wanted && /^[0-9]{1,7}$/.test(wanted)) params.set("max_nodes", wanted);
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
  const i = Number(key);
  focused.textContent = "";
  const link = document.createElement("a");
  link.setAttribute("href", "/accounts/" + encodeURIComponent(platforms[nodes.platform[i]]) + "/" + encodeURIComponent(nodes.ref[i]));
  link.textContent = nodes.label[i];
  focused.appendChild(link);
  focused.appendChild(document.createTextNode(words("focus", { community: nodes.community[i] ?? WORDS.none, links: count(graph.degree(key)) })));
  document.body.dataset.focused = key;
  return true;
}

function buildGraph(data) {
  const columns = data.nodes;
  const next = new Graph({ type: "undirected", multi: false, allowSelfLoops: false });
  // the least connected first, so that sigma draws the hubs on top
  for (let i = data.count - 1; i >= 0; i--) {
    next.addNode(i, { x: columns.x[i], y: columns.y[i], size: columns.size[i], color: data.colours[columns.colour[i]],
      label: columns.label[i] });
  }
  const edges = data.edges;
  for (let k = 0; k < edges.length; k += 2) next.addUndirectedEdgeWithKey(k >> 1, edges[k], edges[k + 1]);
  return next;
}

function settings(big) {
  return {
    renderEdgeLabels: false,
    enableEdgeEvents: false,
    zIndex: false,
    labelRenderedSizeThreshold: 6,
    hideEdgesOnMove: big,
    hideLabelsOnMove: big,
    defaultEdgeColor: LINK_COLOUR,
    // sigma's default types ("circle", "line") drawn by the non-instanced programs (see the top)
    nodeProgramClasses: { circle: NodePointProgram },
    edgeProgramClasses: { line: EdgeLineProgram },
    nodeReducer: (key, attributes) => {
      if (highlighted === null) return attributes;
      if (key === highlighted) return { ...attributes, highlighted: true };
      if (graph.areNeighbors(key, highlighted)) return attributes;
      return { ...attributes, color: FADED_COLOUR, label: "" };
    },
    edgeReducer: (key, attributes) => {
      if (highlighted === null) return attributes;
      return graph.hasExtremity(key, highlighted) ? { ...attributes, color: FOCUS_COLOUR, size: 1 } : { ...attributes, hidden: true };
    },
  };
}

// the API answers errors as {"detail": "..."}: show the sentence, not the JSON
async function errorDetail(response) {
  const body = await response.text();
  try {
    return JSON.parse(body).detail ?? body;
  } catch {
    return body || String(response.status);
  }
}

async function load(keepFilters) {
  say(WORDS.loading);
  performance.mark("map:request");
  const response = await fetch("/api/map?" + query().toString(), { credentials: "same-origin" });
  if (!response.ok) {
    say(words("noMap", { detail: await errorDetail(response) }));
    return;
  }
  const data = await response.json();
  performance.mark("map:parsed");
  if (data.count === 0) {
    say(WORDS.noAccount);
    return;
  }
  if (renderer) renderer.kill();
  renderer = null;
  highlighted = null;
  delete document.body.dataset.focused;
  focused.textContent = "";
  graph = buildGraph(data);
  nodes = data.nodes;
  platforms = data.platforms;
  performance.mark("map:graph");
  fillOptions(form.elements.community, data.filters.communities, keepFilters);
  fillOptions(form.elements.platform, data.filters.platforms, keepFilters);
  fillOptions(form.elements.kind, data.filters.kinds, keepFilters);
  while (choices.firstChild) choices.removeChild(choices.firstChild);
  for (const label of nodes.label.slice(0, SUGGESTIONS)) {
    const option = document.createElement("option");
    option.value = label;
    choices.appendChild(option);
  }
  renderer = new Sigma(graph, root, settings(graph.size > BIG_GRAPH_LINKS));
  renderer.on("clickNode", ({ node }) => focusNode(node));
  renderer.on("clickStage", () => {
    // refresh() re-runs the reducers over every node and link (0.4 s at 50,000 nodes): only when needed
    if (highlighted === null) return;
    highlighted = null;
    focused.textContent = "";
    delete document.body.dataset.focused;
    renderer.refresh();
  });
  performance.mark("map:drawn");
  const shown = count(data.count);
  const links = count(graph.size);
  say(data.sampled
    ? words("sampled", { shown, total: count(data.total_nodes), links, sampling: sampling(data) })
    : words("whole", { shown, links }));
  document.body.dataset.mapReady = String(data.count);
}

form.addEventListener("change", (event) => {
  // typing in the search box is not a filter: only the selects reload the map
  if (event.target instanceof HTMLSelectElement) load(true);
});
form.addEventListener("submit", (event) => {
  event.preventDefault();
  const wanted = search.value.trim().toLowerCase();
  if (!wanted || !graph) return;
  const labels = nodes.label.map((label) => label.toLowerCase());
  let index = labels.indexOf(wanted);
  if (index < 0) index = labels.findIndex((label) => label.includes(wanted));
  if (index < 0 || !focusNode(String(index))) say(WORDS.noMatch);
});

load(false);
