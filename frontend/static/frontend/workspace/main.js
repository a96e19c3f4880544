// The review workspace: 1, 2 or 4 panes side by side (remembered), tabs on narrow screens,
// server page images on phones, keyboard shortcuts, marks, actions and the signature report.
import { announce, api, data, el } from "../common.js";
import { renderReport } from "../report.js";
import { Actions } from "./actions.js";
import { Marks } from "./marks.js";
import { Pane } from "./pane.js";
import { RecordSource } from "./source.js";

const LAYOUT_KEY = "ekessai.workspace.panes";
const LAYOUTS = [1, 2, 4];
const PHONE = window.matchMedia("(max-width: 700px)");
// Below this width of the viewer, panes side by side get too narrow to read: tabs instead.
const MIN_SIDE_BY_SIDE = 960;

function storedLayout() {
  try {
    const value = Number(window.localStorage.getItem(LAYOUT_KEY));
    return LAYOUTS.includes(value) ? value : 1;
  } catch (e) {
    return 1;
  }
}

class Verification {
  constructor(ws) {
    this.ws = ws;
    this.box = document.getElementById("verification");
    this.target = document.getElementById("verification-report");
    this.loaded = false;
    this.box.addEventListener("toggle", () => {
      if (this.box.open && !this.loaded) {
        this.load();
      }
    });
  }

  async load() {
    this.loaded = true;
    announce(this.target, this.ws.t.checking);
    try {
      const report = await api("GET", this.ws.config.verification);
      renderReport(this.target, report, this.ws.t.report);
    } catch (error) {
      this.target.replaceChildren(el("p", { class: "error", text: error.message }));
    }
  }

  reset() {
    this.loaded = false;
    if (this.box.open) {
      this.load();
    }
  }
}

class Workspace {
  constructor(config) {
    this.config = config;
    this.t = config.strings;
    this.parts = config.parts;
    this.boxes = config.boxes;
    this.title = document.getElementById("doc-title").textContent.trim();
    this.phone = PHONE.matches;
    this.source = new RecordSource(config);
    this.panesBox = document.getElementById("panes");
    this.tabs = document.getElementById("part-tabs");
    this.panes = [];
    this.active = null;
    this.layout = storedLayout();
    this.firstPaint = null;
    this.marksTimer = null;
    this.marks = new Marks(this);
    this.actions = new Actions(this);
    this.verification = new Verification(this);
  }

  start() {
    document.body.classList.toggle("phone", this.phone);
    for (const button of document.querySelectorAll("[data-layout]")) {
      button.addEventListener("click", () => this.setLayout(Number(button.dataset.layout)));
    }
    this.tabs.addEventListener("click", (event) => {
      const tab = event.target.closest("[role=tab]");
      if (tab) {
        this.panes[0].setPart(Number(tab.dataset.part));
      }
    });
    this.tabs.addEventListener("keydown", (event) => this.#tabKeys(event));
    this.#arrange();
    new ResizeObserver(() => this.#arrange()).observe(this.panesBox.parentElement);
    PHONE.addEventListener("change", () => window.location.reload());
    document.addEventListener("keydown", (event) => this.#shortcut(event));
    document.getElementById("shortcuts-button").addEventListener("click", () => this.help());
    this.source.onReady(() => {
      for (const pane of this.panes) {
        pane.upgrade();
      }
    });
    this.marks.setTool("select");
    // The marks are fetched once the first page is on screen (or after a moment at the latest):
    // the server answers a browser's requests one after another, and the page comes first.
    this.marksTimer = window.setTimeout(() => this.#loadMarks(), 1500);
  }

  #loadMarks() {
    if (this.marksTimer !== null) {
      window.clearTimeout(this.marksTimer);
      this.marksTimer = null;
      this.marks.load();
    }
  }

  // Called by a pane when a page is on screen: the first one starts the record download.
  painted(pane, entry) {
    if (this.firstPaint === null) {
      this.firstPaint = performance.now();
      document.body.dataset.firstPage = String(Math.round(this.firstPaint));
      if (!this.phone) {
        this.source.load();
      }
      this.#loadMarks();
    }
  }

  get sideBySide() {
    return !this.phone && this.panesBox.clientWidth >= MIN_SIDE_BY_SIDE;
  }

  #arrange() {
    const count = this.sideBySide ? this.layout : 1;
    const tabbed = count === 1;
    for (const button of document.querySelectorAll("[data-layout]")) {
      button.setAttribute("aria-pressed", String(Number(button.dataset.layout) === this.layout));
      button.disabled = !this.sideBySide && Number(button.dataset.layout) !== 1;
    }
    if (count !== this.panes.length) {
      while (this.panes.length > count) {
        const pane = this.panes.pop();
        this.marks.detachAll(pane);
        pane.root.remove();
      }
      while (this.panes.length < count) {
        const pane = new Pane(this, this.panes.length);
        this.panes.push(pane);
        this.panesBox.append(pane.root);
        pane.setPart(Math.min(this.panes.length - 1, this.parts.length - 1) % this.parts.length);
      }
      this.panesBox.dataset.count = String(count);
      for (const pane of this.panes) {
        pane.relayout();
      }
    } else {
      for (const pane of this.panes) {
        pane.relayout();
      }
    }
    this.panesBox.classList.toggle("tabbed", tabbed);
    this.tabs.hidden = !tabbed || this.parts.length < 2;
    this.#renderTabs();
    if (!this.active || !this.panes.includes(this.active)) {
      this.activate(this.panes[0]);
    }
  }

  setLayout(count) {
    if (!LAYOUTS.includes(count)) {
      return;
    }
    this.layout = count;
    try {
      window.localStorage.setItem(LAYOUT_KEY, String(count));
    } catch (e) {
      // Private mode: the choice lasts for this page only.
    }
    this.#arrange();
  }

  partChanged(pane) {
    if (pane === this.panes[0]) {
      this.#renderTabs();
    }
  }

  #renderTabs() {
    if (this.tabs.hidden || !this.panes.length) {
      return;
    }
    const selected = this.panes[0].partIndex;
    this.tabs.replaceChildren(
      ...this.parts.map((part, i) =>
        el("button", {
          type: "button",
          role: "tab",
          id: `tab-${i}`,
          "data-part": i,
          "aria-selected": String(i === selected),
          tabindex: i === selected ? "0" : "-1",
          text: part.label,
        }),
      ),
    );
  }

  #tabKeys(event) {
    const tabs = [...this.tabs.querySelectorAll("[role=tab]")];
    const index = tabs.indexOf(document.activeElement);
    if (index < 0) {
      return;
    }
    let next = null;
    if (event.key === "ArrowRight") {
      next = (index + 1) % tabs.length;
    } else if (event.key === "ArrowLeft") {
      next = (index - 1 + tabs.length) % tabs.length;
    } else if (event.key === "Home") {
      next = 0;
    } else if (event.key === "End") {
      next = tabs.length - 1;
    }
    if (next !== null) {
      event.preventDefault();
      this.panes[0].setPart(next);
      this.tabs.querySelector(`#tab-${next}`).focus();
    }
  }

  activate(pane) {
    this.active = pane;
    for (const p of this.panes) {
      p.root.classList.toggle("active", p === pane);
    }
  }

  // "cover p. 1" / "見積書.pdf p. 3": where a record page lies, in the parts people know.
  pageName(page) {
    const part = this.parts.find((p) => page >= p.first && page < p.first + p.count);
    if (!part) {
      return this.t.recordPage.replace("%(n)s", page);
    }
    return this.t.partPage.replace("%(part)s", part.label).replace("%(n)s", page - part.first + 1);
  }

  // Shows a record page in the active pane (a comment's "go to").
  show(page) {
    (this.active || this.panes[0]).goTo(page);
  }

  // After a signature the record is longer: page images and pdf.js start over from the new one.
  reloadRecord(key) {
    if (!key || key === this.config.recordKey) {
      return;
    }
    this.config.recordKey = key;
    this.source = new RecordSource(this.config);
    this.firstPaint = null;
    this.source.onReady(() => {
      for (const pane of this.panes) {
        pane.upgrade();
      }
    });
    for (const pane of this.panes) {
      pane.reload();
    }
  }

  help() {
    const dialog = document.getElementById("shortcuts");
    if (!dialog.open) {
      dialog.showModal();
    }
  }

  #shortcut(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    const target = event.target;
    if (target.closest("input, textarea, select, [contenteditable], dialog")) {
      return;
    }
    const pane = this.active || this.panes[0];
    const key = event.key;
    let handled = true;
    if (key === "j" || key === "PageDown") {
      pane.step(1);
    } else if (key === "k" || key === "PageUp") {
      pane.step(-1);
    } else if (key === "f") {
      pane.setPart((pane.partIndex + 1) % this.parts.length);
    } else if (key === "F") {
      pane.setPart((pane.partIndex - 1 + this.parts.length) % this.parts.length);
    } else if (key === "o") {
      const next = this.panes[(this.panes.indexOf(pane) + 1) % this.panes.length];
      this.activate(next);
      next.root.focus();
    } else if (key === "1" || key === "2" || key === "4") {
      this.setLayout(Number(key));
    } else if (key === "+" || key === "=") {
      pane.zoom(1.25);
    } else if (key === "-") {
      pane.zoom(0.8);
    } else if (key === "a") {
      const button = this.actions.approveButton();
      if (button && !button.disabled) {
        this.actions.run("approve", button);
      } else {
        announce(document.getElementById("viewer-status"), this.t.nothingToApprove);
      }
    } else if (key === "Escape") {
      this.marks.setTool("select");
    } else if (key === "?") {
      this.help();
    } else {
      handled = false;
    }
    if (handled) {
      event.preventDefault();
    }
  }
}

const config = data("workspace-config");
if (config && document.getElementById("panes")) {
  const workspace = new Workspace(config);
  window.ekessaiWorkspace = workspace;
  workspace.start();
} else if (config) {
  // The record could not be built: the route, actions and comments still work.
  const workspace = {
    config,
    t: config.strings,
    parts: [],
    title: document.getElementById("doc-title").textContent.trim(),
    pageName: (n) => config.strings.recordPage.replace("%(n)s", n),
    show: () => {},
  };
  workspace.marks = new Marks(workspace);
  workspace.verification = new Verification(workspace);
  workspace.actions = new Actions(workspace);
  workspace.marks.load();
}
