// Building and updating DOM nodes without ever parsing HTML.
//
// Everything the page shows that came from a user (names, message text) goes through
// `el()` as a string child, which becomes a Text node: it is displayed, never interpreted.
// There is no innerHTML anywhere in the client.

/**
 * Create an element. `props` may hold: `class`, `text`, `attrs` (set with setAttribute;
 * callers pass only fixed attribute names), `dataset`, `on` (event listeners), and any
 * plain DOM property (e.g. `type`, `hidden`, `href`, `title`).
 * Children may be nodes, strings (become Text nodes), or null/false (skipped).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'attrs') for (const [name, v] of Object.entries(value)) node.setAttribute(name, v);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'on') for (const [type, fn] of Object.entries(value)) node.addEventListener(type, fn);
    else node[key] = value;
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

export const byId = (id) => document.getElementById(id);

/**
 * Make `parent`'s children be `items` in order, reusing the node cached for each key.
 *
 * Nodes that stay are not moved unless their order changed, so a focused button keeps its
 * focus and the browser keeps its layout when messages are appended or prepended.
 * `build(item)` makes a node; `signature(item)` says when a cached node is stale.
 */
export function reconcile(parent, items, { key, build, signature = () => '' }, cache) {
  const wanted = new Map();
  for (const item of items) {
    const k = key(item);
    const sig = signature(item);
    let entry = cache.get(k);
    if (!entry || entry.sig !== sig) {
      const node = build(item);
      node.dataset.key = k;
      if (entry && entry.node.parentNode === parent) parent.replaceChild(node, entry.node);
      entry = { node, sig };
      cache.set(k, entry);
    }
    wanted.set(k, entry.node);
  }
  // Remove what is gone first, so that the ordering pass below moves nothing needlessly.
  for (const child of [...parent.children]) {
    if (wanted.get(child.dataset.key) !== child) child.remove();
  }
  for (const k of cache.keys()) if (!wanted.has(k)) cache.delete(k);
  let cursor = parent.firstElementChild;
  for (const node of wanted.values()) {
    if (node === cursor) cursor = cursor.nextElementSibling;
    else parent.insertBefore(node, cursor);
  }
}

/** Show `text` in an element that is hidden while empty (form errors, notes). */
export function say(node, text) {
  node.textContent = text || '';
  node.hidden = !text;
}
