// The marker pen and comments (赤ペン): highlights of selected text or of a dragged box, sticky
// notes, free-text comment boxes and pen strokes, drawn over every pane's pages and listed in the
// side panel with author and stage, each person's marks shown or hidden at will. Saved through
// GET/POST/DELETE /api/v1/documents/{id}/annotations (rects in PDF points, origin bottom-left).
import { announce, api, confirmDialog, el, format } from "../common.js";
import { PageGeometry } from "./geometry.js";

const SVG = "http://www.w3.org/2000/svg";
const NOTE_SIZE = 20; // pt
const MIN_BOX = 4; // pt: a smaller drag is taken as a click

function svg(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    node.setAttribute(key, String(value));
  }
  return node;
}

export class Marks {
  constructor(workspace) {
    this.ws = workspace;
    this.t = workspace.t;
    this.config = workspace.config;
    this.items = [];
    this.hidden = new Set();
    this.tool = "select";
    this.colour = "#ffeb3b";
    this.entries = new Set(); // every page entry of every pane
    this.list = document.getElementById("comment-list");
    this.empty = document.getElementById("comment-empty");
    this.count = document.getElementById("comment-count");
    this.status = document.getElementById("comment-status");
    this.people = document.getElementById("people");
    this.peopleList = document.getElementById("people-list");
    this.#wireToolbar();
    this.list.addEventListener("click", (event) => this.#onListClick(event));
    this.peopleList.addEventListener("change", (event) => {
      const box = event.target;
      if (box.checked) {
        this.hidden.delete(box.value);
      } else {
        this.hidden.add(box.value);
      }
      this.#redrawAll();
      this.#renderList();
    });
    document.addEventListener("pointerup", () => this.#maybeHighlightSelection());
    document.addEventListener("keyup", (event) => {
      if (event.key === "Shift") {
        this.#maybeHighlightSelection();
      }
    });
  }

  get canAnnotate() {
    return Boolean(this.config.canAnnotate);
  }

  async load() {
    try {
      const body = await api("GET", this.config.annotations);
      this.items = body.results;
    } catch (error) {
      announce(this.status, error.message, "error");
      this.items = [];
    }
    this.#redrawAll();
    this.#renderPeople();
    this.#renderList();
  }

  // --- the toolbar ---------------------------------------------------------------------------

  #wireToolbar() {
    for (const button of document.querySelectorAll("[data-tool]")) {
      button.addEventListener("click", () => this.setTool(button.dataset.tool));
    }
    for (const swatch of document.querySelectorAll("[data-colour]")) {
      swatch.addEventListener("click", () => this.setColour(swatch.dataset.colour));
    }
  }

  setTool(tool) {
    if (!this.canAnnotate) {
      tool = "select";
    }
    this.tool = tool;
    for (const button of document.querySelectorAll("[data-tool]")) {
      button.setAttribute("aria-pressed", String(button.dataset.tool === tool));
    }
    document.body.dataset.activeTool = tool;
    announce(document.getElementById("viewer-status"), this.t.tools[tool] || "");
  }

  setColour(colour) {
    this.colour = colour;
    for (const swatch of document.querySelectorAll("[data-colour]")) {
      swatch.setAttribute("aria-checked", String(swatch.dataset.colour === colour));
    }
  }

  // --- pages -----------------------------------------------------------------------------------

  attach(pane, entry) {
    entry.pane = pane;
    entry.overlay = svg("svg", { class: "marks", "aria-hidden": "true", preserveAspectRatio: "none" });
    entry.draft = svg("g", { class: "draft" });
    entry.overlay.append(svg("g", { class: "saved" }), entry.draft);
    entry.div.append(entry.overlay);
    entry.div.addEventListener("pointerdown", (event) => this.#pointerDown(entry, event));
    this.entries.add(entry);
  }

  resize(entry) {
    // Drawn in the page's own units at scale 1; the SVG scales with the page box.
    const unit = new PageGeometry(this.ws.boxes[entry.n - 1], 1);
    entry.unit = unit;
    entry.overlay.setAttribute("viewBox", `0 0 ${unit.width} ${unit.height}`);
    this.#drawPage(entry);
  }

  detachAll(pane) {
    for (const entry of [...this.entries]) {
      if (entry.pane === pane) {
        this.entries.delete(entry);
      }
    }
  }

  #visible(item) {
    return !this.hidden.has(item.author.username);
  }

  #drawPage(entry) {
    if (!entry.unit || !entry.div.isConnected) {
      this.entries.delete(entry);
      return;
    }
    const group = entry.overlay.querySelector(".saved");
    group.replaceChildren();
    for (const item of this.items) {
      if (item.page !== entry.n || !this.#visible(item)) {
        continue;
      }
      group.append(this.#shape(entry.unit, item));
    }
  }

  #redrawAll() {
    for (const entry of [...this.entries]) {
      this.#drawPage(entry);
    }
  }

  #shape(geometry, item) {
    const g = svg("g", { class: `mark mark-${item.kind}`, "data-mark": item.id });
    if (item.signed) {
      // Written into the signed record: the page itself shows it; only an outline marks it here.
      g.classList.add("signed");
    }
    const colour = item.color || "#ffeb3b";
    if (item.kind === "ink") {
      for (const stroke of item.strokes || []) {
        const points = stroke.map(([x, y]) => geometry.toScreen(x, y).join(",")).join(" ");
        g.append(svg("polyline", { points, stroke: colour, fill: "none", "stroke-width": 2, "stroke-linecap": "round", "stroke-linejoin": "round" }));
      }
      return g;
    }
    for (const rect of item.rects || []) {
      const box = geometry.rectToScreen(rect);
      if (item.kind === "highlight") {
        g.append(svg("rect", { x: box.left, y: box.top, width: box.width, height: box.height, fill: colour, class: "hl" }));
      } else if (item.kind === "note") {
        g.append(svg("rect", { x: box.left, y: box.top, width: box.width, height: box.height, rx: 3, fill: colour, stroke: "#5c4400", "stroke-width": 1, class: "note-icon" }));
        g.append(svg("path", { d: `M${box.left + 4} ${box.top + 6}h${box.width - 8}M${box.left + 4} ${box.top + 10}h${box.width - 8}M${box.left + 4} ${box.top + 14}h${box.width - 12}`, stroke: "#5c4400", "stroke-width": 1.2 }));
      } else if (item.kind === "freetext") {
        g.append(svg("rect", { x: box.left, y: box.top, width: box.width, height: box.height, fill: "#ffffff", "fill-opacity": 0.85, stroke: colour, "stroke-width": 1.5 }));
        const text = svg("text", { x: box.left + 3, y: box.top + 12, "font-size": 10, fill: "#1a1a1a" });
        for (const [i, line] of wrap(item.text, box.width - 6, 10).entries()) {
          const span = svg("tspan", { x: box.left + 3, dy: i ? 12 : 0 });
          span.textContent = line;
          text.append(span);
        }
        g.append(text);
      }
    }
    const title = svg("title");
    title.textContent = `${item.author.name}${item.stage ? "（" + item.stage + "）" : ""}${item.text ? ": " + item.text : ""}`;
    g.prepend(title);
    return g;
  }

  flash(id) {
    for (const node of document.querySelectorAll(`[data-mark="${id}"]`)) {
      node.classList.remove("flash");
      void node.getBoundingClientRect();
      node.classList.add("flash");
    }
  }

  // --- drawing ---------------------------------------------------------------------------------

  #point(entry, event) {
    const rect = entry.div.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  }

  #pointerDown(entry, event) {
    if (!this.canAnnotate || event.button > 0) {
      return;
    }
    const tool = this.tool;
    if (tool === "select" || tool === "highlight") {
      return;
    }
    event.preventDefault();
    const start = this.#point(entry, event);
    const geometry = entry.geometry;
    const draft = entry.draft;
    const unit = entry.unit;
    const ratio = unit.width / geometry.width;
    let shape = null;
    const points = [start];
    entry.div.setPointerCapture(event.pointerId);
    const move = (e) => {
      const p = this.#point(entry, e);
      if (tool === "ink") {
        points.push(p);
        if (!shape) {
          shape = svg("polyline", { stroke: this.colour, fill: "none", "stroke-width": 2 });
          draft.append(shape);
        }
        shape.setAttribute("points", points.map(([x, y]) => `${x * ratio},${y * ratio}`).join(" "));
      } else if (tool === "box" || tool === "freetext") {
        if (!shape) {
          shape = svg("rect", { class: "drag-box", fill: tool === "box" ? this.colour : "none", stroke: this.colour, "stroke-width": 1 });
          draft.append(shape);
        }
        shape.setAttribute("x", Math.min(start[0], p[0]) * ratio);
        shape.setAttribute("y", Math.min(start[1], p[1]) * ratio);
        shape.setAttribute("width", Math.abs(p[0] - start[0]) * ratio);
        shape.setAttribute("height", Math.abs(p[1] - start[1]) * ratio);
      }
    };
    const up = async (e) => {
      entry.div.removeEventListener("pointermove", move);
      entry.div.removeEventListener("pointerup", up);
      entry.div.removeEventListener("pointercancel", up);
      const end = this.#point(entry, e);
      try {
        await this.#finish(entry, tool, start, end, points);
      } finally {
        draft.replaceChildren();
      }
    };
    entry.div.addEventListener("pointermove", move);
    entry.div.addEventListener("pointerup", up);
    entry.div.addEventListener("pointercancel", up);
  }

  async #finish(entry, tool, start, end, points) {
    const g = entry.geometry;
    const rect = g.screenToRect(start[0], start[1], end[0], end[1]);
    const small = rect[2] - rect[0] < MIN_BOX && rect[3] - rect[1] < MIN_BOX;
    if (tool === "box") {
      if (!small) {
        await this.save({ page: entry.n, kind: "highlight", rects: [rect], color: this.colour });
      }
    } else if (tool === "note") {
      const [x, y] = g.toPdf(end[0], end[1]);
      await this.#askText(entry.n, "note", [[x, y - NOTE_SIZE, x + NOTE_SIZE, y]]);
    } else if (tool === "freetext") {
      let box = rect;
      if (small) {
        const [x, y] = g.toPdf(end[0], end[1]);
        box = [x, y - 48, x + 160, y];
      }
      await this.#askText(entry.n, "freetext", [box]);
    } else if (tool === "ink" && points.length > 1) {
      const stroke = points.map(([x, y]) => g.toPdf(x, y).map((v) => Math.round(v * 100) / 100));
      const xs = stroke.map((p) => p[0]);
      const ys = stroke.map((p) => p[1]);
      await this.save({
        page: entry.n,
        kind: "ink",
        strokes: [stroke],
        rects: [[Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)]],
        color: this.colour,
      });
    }
  }

  async #askText(page, kind, rects) {
    const answer = await confirmDialog({
      title: kind === "note" ? this.t.noteTitle : this.t.freetextTitle,
      message: format(this.t.onPage, { page: this.ws.pageName(page) }),
      confirm: this.t.saveMark,
      cancel: this.t.cancel,
      fields: [{ name: "text", label: this.t.markText, type: "textarea", required: true }],
    });
    if (answer && answer.text) {
      await this.save({ page, kind, rects, text: answer.text, color: this.colour });
    }
  }

  // A note at the top left of a page, from the pane's button: keyboards and phones need no aim.
  async pageNote(pane, page) {
    if (!this.canAnnotate) {
      return;
    }
    const geometry = pane.entry(page).geometry;
    const [x, y] = geometry.toPdf(12, 12);
    const [x2, y2] = geometry.toPdf(12 + NOTE_SIZE * geometry.scale, 12 + NOTE_SIZE * geometry.scale);
    await this.#askText(page, "note", [[Math.min(x, x2), Math.min(y, y2), Math.max(x, x2), Math.max(y, y2)]]);
  }

  // --- highlighting selected text (pdf.js text layer) ------------------------------------------

  #maybeHighlightSelection() {
    if (this.tool !== "highlight" || !this.canAnnotate) {
      return;
    }
    const selection = window.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount) {
      return;
    }
    const range = selection.getRangeAt(0);
    const node = range.commonAncestorContainer;
    const paneRoot = (node.nodeType === 1 ? node : node.parentElement).closest(".pane");
    if (!paneRoot) {
      return;
    }
    const entries = [...this.entries].filter((e) => e.div.isConnected && e.pane.root === paneRoot);
    const byPage = new Map();
    for (const clientRect of range.getClientRects()) {
      if (clientRect.width < 1 || clientRect.height < 1) {
        continue;
      }
      const cx = clientRect.left + clientRect.width / 2;
      const cy = clientRect.top + clientRect.height / 2;
      const entry = entries.find((e) => {
        const r = e.div.getBoundingClientRect();
        return cx >= r.left && cx <= r.right && cy >= r.top && cy <= r.bottom;
      });
      if (!entry) {
        continue;
      }
      const r = entry.div.getBoundingClientRect();
      const rect = entry.geometry.screenToRect(
        clientRect.left - r.left,
        clientRect.top - r.top,
        clientRect.right - r.left,
        clientRect.bottom - r.top,
      );
      if (!byPage.has(entry.n)) {
        byPage.set(entry.n, []);
      }
      byPage.get(entry.n).push(rect);
    }
    const text = selection.toString().trim().slice(0, 2000);
    selection.removeAllRanges();
    for (const [page, rects] of byPage) {
      this.save({ page, kind: "highlight", rects: mergeLines(rects), text, color: this.colour });
    }
  }

  // --- saving and listing ----------------------------------------------------------------------

  async save(mark) {
    announce(this.status, this.t.savingMark);
    try {
      const item = await api("POST", this.config.annotations, mark);
      this.items.push(item);
      this.items.sort((a, b) => a.page - b.page || a.id - b.id);
      this.#redrawAll();
      this.#renderPeople();
      this.#renderList();
      announce(this.status, format(this.t.markSaved, { page: this.ws.pageName(item.page) }), "ok");
      return item;
    } catch (error) {
      announce(this.status, error.message, "error");
      return null;
    }
  }

  async remove(id) {
    try {
      await api("DELETE", `${this.config.annotations}/${id}`);
      this.items = this.items.filter((i) => i.id !== id);
      this.#redrawAll();
      this.#renderPeople();
      this.#renderList();
      announce(this.status, this.t.markRemoved, "ok");
    } catch (error) {
      announce(this.status, error.message, "error");
    }
  }

  closeTask() {
    this.config.canAnnotate = false;
    this.setTool("select");
    for (const node of document.querySelectorAll(".tools, .colours, [data-page-note]")) {
      node.hidden = true;
    }
    this.load();
  }

  #renderPeople() {
    const people = new Map();
    for (const item of this.items) {
      people.set(item.author.username, item.author.name);
    }
    this.people.hidden = people.size === 0;
    this.peopleList.replaceChildren(
      ...[...people].map(([username, name]) => {
        const id = `person-${username}`;
        const box = el("input", { type: "checkbox", id, value: username });
        box.checked = !this.hidden.has(username);
        const n = this.items.filter((i) => i.author.username === username).length;
        return el("div", { class: "person" }, box, el("label", { for: id, text: `${name} (${n})` }));
      }),
    );
  }

  #renderList() {
    const shown = this.items.filter((i) => this.#visible(i));
    this.count.textContent = String(this.items.length);
    this.empty.hidden = this.items.length > 0;
    this.list.replaceChildren(
      ...shown.map((item) => {
        const mine = item.author.username === this.config.me;
        return el(
          "li",
          { class: `comment kind-${item.kind}`, "data-id": item.id },
          el("span", { class: "swatch-dot", "data-colour": item.color, "aria-hidden": "true" }),
          el(
            "div",
            {},
            el("strong", { text: this.t.kinds[item.kind] || item.kind }),
            " ",
            el("button", { type: "button", class: "link", "data-show": item.id, text: this.ws.pageName(item.page) }),
            el("br"),
            el("span", { class: "muted", text: `${item.author.name}${item.stage ? " · " + item.stage : ""}${item.signed ? " · " + this.t.signed : ""}` }),
            item.text ? el("p", { class: "comment-text", text: item.text }) : null,
            mine && !item.signed
              ? el("button", { type: "button", class: "link remove", "data-delete": item.id, text: this.t.removeMark })
              : null,
          ),
        );
      }),
    );
    for (const dot of this.list.querySelectorAll(".swatch-dot")) {
      dot.style.backgroundColor = dot.dataset.colour;
    }
  }

  #onListClick(event) {
    const show = event.target.closest("[data-show]");
    if (show) {
      const item = this.items.find((i) => i.id === Number(show.dataset.show));
      if (item) {
        this.ws.show(item.page);
        requestAnimationFrame(() => this.flash(item.id));
      }
      return;
    }
    const remove = event.target.closest("[data-delete]");
    if (remove) {
      this.remove(Number(remove.dataset.delete));
    }
  }
}

// Lines of at most `width` units at `size`: CJK characters are about one em wide, others about
// half (the record's own rendering of the comment, made at signing, is exact).
function wrap(text, width, size) {
  const lines = [];
  for (const paragraph of text.split("\n")) {
    let line = "";
    let used = 0;
    for (const char of paragraph) {
      const w = (char.codePointAt(0) >= 0x2e80 ? 1 : 0.55) * size;
      if (used + w > width && line) {
        lines.push(line);
        line = "";
        used = 0;
      }
      line += char;
      used += w;
    }
    lines.push(line);
  }
  return lines;
}

// Text selections give one rect per span; join those on the same line into one box per line.
function mergeLines(rects) {
  const sorted = [...rects].sort((a, b) => b[3] - a[3] || a[0] - b[0]);
  const lines = [];
  for (const r of sorted) {
    const line = lines.find((l) => {
      const overlap = Math.min(l[3], r[3]) - Math.max(l[1], r[1]);
      return overlap > 0.5 * Math.min(l[3] - l[1], r[3] - r[1]) && r[0] <= l[2] + 4;
    });
    if (line) {
      line[0] = Math.min(line[0], r[0]);
      line[1] = Math.min(line[1], r[1]);
      line[2] = Math.max(line[2], r[2]);
      line[3] = Math.max(line[3], r[3]);
    } else {
      lines.push([...r]);
    }
  }
  return lines.map((l) => l.map((v) => Math.round(v * 100) / 100));
}
