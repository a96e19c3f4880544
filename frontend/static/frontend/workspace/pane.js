// One pane: a part of the record (the cover or one attachment), its own page and zoom, and
// thumbnails. Only pages near the visible area are drawn; the others are empty boxes of the right
// size, so a 200-page record shows its first page as fast as a one-page one.
import { el, format } from "../common.js";
import { drawPage } from "./canvas.js";
import { PageGeometry } from "./geometry.js";

const CSS_PER_POINT = 96 / 72;
const ZOOM_STEP = 1.25;
const MIN_SCALE = 0.25;
const MAX_SCALE = 6;
const MAX_CANVAS_PIXELS = 16 * 1024 * 1024;
const PAGE_GAP = 12;

export class Pane {
  constructor(workspace, index) {
    this.ws = workspace;
    this.index = index;
    this.t = workspace.t;
    this.root = document.getElementById("pane-template").content.firstElementChild.cloneNode(true);
    this.root.dataset.pane = String(index);
    this.root.setAttribute("aria-label", format(this.t.paneLabel, { n: index + 1 }));
    this.pagesBox = this.root.querySelector(".pages");
    this.pagesBox.setAttribute("aria-label", format(this.t.pagesLabel, { n: index + 1 }));
    this.select = this.root.querySelector("[data-part]");
    this.pageInput = this.root.querySelector("[data-page-input]");
    this.pageCount = this.root.querySelector("[data-page-count]");
    this.zoomLevel = this.root.querySelector("[data-zoom-level]");
    this.thumbs = this.root.querySelector(".thumbs");
    this.thumbsButton = this.root.querySelector("[data-thumbs]");
    this.partIndex = -1;
    this.entries = [];
    this.fit = true;
    this.scale = 1;
    this.current = 1;
    this.observer = null;
    this.firstPaint = null;
    for (const [i, part] of workspace.parts.entries()) {
      this.select.append(el("option", { value: i, text: part.label }));
    }
    this.select.setAttribute("aria-label", format(this.t.fileOfPane, { n: index + 1 }));
    this.pageInput.setAttribute("aria-label", format(this.t.pageOfPane, { n: index + 1 }));
    this.#wire();
  }

  get part() {
    return this.ws.parts[this.partIndex];
  }

  #wire() {
    this.select.addEventListener("change", () => this.setPart(Number(this.select.value)));
    this.root.querySelector('[data-go="prev"]').addEventListener("click", () => this.step(-1));
    this.root.querySelector('[data-go="next"]').addEventListener("click", () => this.step(1));
    this.pageInput.addEventListener("change", () => {
      const n = Number(this.pageInput.value);
      if (Number.isInteger(n) && n >= 1 && n <= this.part.count) {
        this.goTo(this.part.first + n - 1);
      } else {
        this.pageInput.value = String(this.current - this.part.first + 1);
      }
    });
    this.root.querySelector('[data-zoom="in"]').addEventListener("click", () => this.zoom(ZOOM_STEP));
    this.root.querySelector('[data-zoom="out"]').addEventListener("click", () => this.zoom(1 / ZOOM_STEP));
    this.root.querySelector('[data-zoom="fit"]').addEventListener("click", () => this.zoom("fit"));
    this.thumbsButton.addEventListener("click", () => this.toggleThumbnails());
    this.thumbs.addEventListener("click", (event) => {
      const button = event.target.closest("[data-goto]");
      if (button) {
        this.goTo(Number(button.dataset.goto));
      }
    });
    const noteButton = this.root.querySelector("[data-page-note]");
    if (noteButton) {
      noteButton.addEventListener("click", () => this.ws.marks.pageNote(this, this.current));
    }
    const activate = () => this.ws.activate(this);
    this.root.addEventListener("focusin", activate);
    this.root.addEventListener("pointerdown", activate);
    let pending = false;
    const onScroll = () => {
      if (!pending) {
        pending = true;
        requestAnimationFrame(() => {
          pending = false;
          this.#trackCurrent();
        });
      }
    };
    this.pagesBox.addEventListener("scroll", onScroll, { passive: true });
    window.addEventListener("scroll", onScroll, { passive: true });
  }

  // Scrolling inside the pane (large screens) or with the whole page (phones).
  get scrollsItself() {
    return !this.ws.phone;
  }

  setPart(index, { page } = {}) {
    index = Math.max(0, Math.min(index, this.ws.parts.length - 1));
    if (index === this.partIndex && !page) {
      return;
    }
    this.partIndex = index;
    this.select.value = String(index);
    this.pageCount.textContent = String(this.part.count);
    this.pageInput.max = String(this.part.count);
    this.#build();
    this.goTo(page || this.part.first, { instant: true });
    this.renderInView();
    this.#buildThumbnails();
    this.ws.partChanged(this);
  }

  #geometry(n, scale) {
    return new PageGeometry(this.ws.boxes[n - 1], scale);
  }

  #fitScale() {
    const available = Math.max(120, this.pagesBox.clientWidth - 2 * PAGE_GAP);
    let widest = 0;
    for (let n = this.part.first; n < this.part.first + this.part.count; n++) {
      widest = Math.max(widest, this.#geometry(n, 1).width);
    }
    return available / (widest || 595);
  }

  #build() {
    if (this.observer) {
      this.observer.disconnect();
    }
    for (const entry of this.entries) {
      this.#release(entry);
    }
    this.pagesBox.replaceChildren();
    this.entries = [];
    this.scale = this.fit ? this.#fitScale() : this.scale;
    const root = this.scrollsItself ? this.pagesBox : null;
    this.observer = new IntersectionObserver((items) => this.#onVisible(items), {
      root,
      rootMargin: "50% 0px 50% 0px",
    });
    for (let n = this.part.first; n < this.part.first + this.part.count; n++) {
      const div = el("div", {
        class: "page",
        "data-page": n,
        role: "group",
        "aria-label": format(this.t.pageLabel, { n: n - this.part.first + 1, total: this.part.count }),
      });
      const entry = { n, div, geometry: null, state: "empty", task: null, visible: false, token: 0 };
      this.entries.push(entry);
      this.pagesBox.append(div);
      this.ws.marks.attach(this, entry);
      this.observer.observe(div);
    }
    this.#size();
    this.lastWidth = this.pagesBox.clientWidth;
  }

  // Draws the pages already in view now, rather than after the observer's first report (which
  // comes only after the first paint): the first page appears one frame sooner.
  renderInView() {
    const top = this.scrollsItself
      ? this.pagesBox.scrollTop
      : -this.pagesBox.getBoundingClientRect().top;
    const height = this.scrollsItself ? this.pagesBox.clientHeight : window.innerHeight;
    for (const entry of this.entries) {
      const y = entry.div.offsetTop;
      if (y > top + height) {
        break;
      }
      if (y + entry.div.offsetHeight >= top && entry.state === "empty") {
        entry.visible = true;
        this.#render(entry);
      }
    }
  }

  #size() {
    for (const entry of this.entries) {
      entry.geometry = this.#geometry(entry.n, this.scale);
      entry.div.style.width = `${entry.geometry.width}px`;
      entry.div.style.height = `${entry.geometry.height}px`;
      entry.div.style.setProperty("--scale-factor", String(this.scale));
      this.ws.marks.resize(entry);
    }
    this.zoomLevel.textContent = `${Math.round((this.scale / CSS_PER_POINT) * 100)}%`;
  }

  zoom(how) {
    const keep = this.current;
    if (how === "fit") {
      this.fit = true;
      this.scale = this.#fitScale();
    } else {
      this.fit = false;
      this.scale = Math.max(MIN_SCALE, Math.min(MAX_SCALE, this.scale * how));
    }
    this.#size();
    for (const entry of this.entries) {
      if (entry.state !== "empty") {
        this.#release(entry);
        if (entry.visible) {
          this.#render(entry);
        }
      }
    }
    this.goTo(keep, { instant: true });
  }

  // The record has changed (a signature): draw the pages again from the new one.
  reload() {
    const keep = this.current;
    for (const entry of this.entries) {
      this.#release(entry);
      if (entry.visible) {
        this.#render(entry);
      }
    }
    this.#buildThumbnails();
    this.goTo(keep, { instant: true });
  }

  relayout() {
    if (this.fit && this.part && this.pagesBox.clientWidth !== this.lastWidth) {
      this.lastWidth = this.pagesBox.clientWidth;
      this.zoom("fit");
    }
  }

  #onVisible(items) {
    for (const item of items) {
      const entry = this.entries.find((e) => e.div === item.target);
      if (!entry) {
        continue;
      }
      entry.visible = item.isIntersecting;
      if (entry.visible && entry.state === "empty") {
        this.#render(entry);
      } else if (!entry.visible && entry.state !== "empty") {
        this.#release(entry);
      }
    }
  }

  #release(entry) {
    entry.token += 1;
    if (entry.task) {
      entry.task.cancel();
      entry.task = null;
    }
    if (entry.textLayer) {
      entry.textLayer.cancel();
      entry.textLayer = null;
    }
    for (const node of entry.div.querySelectorAll(".page-image, canvas, .textLayer")) {
      node.remove();
    }
    entry.state = "empty";
  }

  #render(entry) {
    if (this.ws.source.pdf) {
      this.#renderCanvas(entry);
    } else {
      this.#renderImage(entry);
    }
  }

  #renderImage(entry) {
    const img = el("img", {
      class: "page-image",
      alt: "",
      decoding: "async",
      src: this.ws.source.imageUrl(entry.n, entry.geometry.width, { final: this.ws.phone }),
    });
    entry.state = "image";
    img.addEventListener("load", () => this.ws.painted(this, entry), { once: true });
    img.addEventListener(
      "error",
      () => {
        img.replaceWith(el("p", { class: "page-error", text: this.t.pageFailed }));
      },
      { once: true },
    );
    entry.div.prepend(img);
  }

  async #renderCanvas(entry) {
    const token = (entry.token += 1);
    const previous = entry.state;
    entry.state = "canvas";
    const source = this.ws.source;
    try {
      const page = await source.getPage(entry.n);
      if (token !== entry.token) {
        return;
      }
      const { canvas, task, viewport } = drawPage(page, this.scale, MAX_CANVAS_PIXELS);
      entry.task = task;
      await entry.task.promise;
      entry.task = null;
      if (token !== entry.token) {
        return;
      }
      // Swap only once drawn: the image (if any) stays until the sharper page is ready.
      for (const node of entry.div.querySelectorAll(".page-image, canvas, .textLayer")) {
        node.remove();
      }
      entry.div.prepend(canvas);
      const layer = el("div", { class: "textLayer" });
      entry.div.insertBefore(layer, canvas.nextSibling);
      entry.textLayer = new source.pdfjs.TextLayer({
        textContentSource: page.streamTextContent({ includeMarkedContent: true }),
        container: layer,
        viewport,
      });
      await entry.textLayer.render();
      entry.textLayer = null;
      this.ws.painted(this, entry);
    } catch (error) {
      if (error && error.name === "RenderingCancelledException") {
        return;
      }
      if (token === entry.token) {
        entry.state = previous === "canvas" ? "empty" : previous;
        if (entry.state === "empty" && entry.visible) {
          this.#renderImage(entry);
        }
      }
      console.warn("page", entry.n, "could not be drawn by pdf.js", error);
    }
  }

  // pdf.js has the record now: redraw the pages on screen sharply, with their text.
  upgrade() {
    for (const entry of this.entries) {
      if (entry.visible && entry.state !== "canvas") {
        this.#renderCanvas(entry);
      }
    }
  }

  entry(n) {
    return this.entries.find((e) => e.n === n);
  }

  goTo(n, { instant = false } = {}) {
    if (n < this.part.first || n >= this.part.first + this.part.count) {
      const index = this.ws.parts.findIndex((p) => n >= p.first && n < p.first + p.count);
      if (index < 0) {
        return;
      }
      this.setPart(index, { page: n });
      return;
    }
    const entry = this.entry(n);
    if (this.scrollsItself) {
      this.pagesBox.scrollTo({ top: entry.div.offsetTop - PAGE_GAP, behavior: instant ? "instant" : "auto" });
    } else if (!instant) {
      entry.div.scrollIntoView({ block: "start" });
    }
    this.#setCurrent(n);
  }

  step(delta) {
    const n = this.current + delta;
    if (n >= this.part.first && n < this.part.first + this.part.count) {
      this.goTo(n);
    }
  }

  #trackCurrent() {
    if (!this.entries.length) {
      return;
    }
    const top = this.scrollsItself ? this.pagesBox.getBoundingClientRect().top : 0;
    const line = top + 40;
    let lo = 0;
    let hi = this.entries.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.entries[mid].div.getBoundingClientRect().bottom <= line) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    this.#setCurrent(this.entries[lo].n);
  }

  #setCurrent(n) {
    this.current = n;
    this.pageInput.value = String(n - this.part.first + 1);
    for (const link of this.thumbs.querySelectorAll("[data-goto]")) {
      if (Number(link.dataset.goto) === n) {
        link.setAttribute("aria-current", "page");
      } else {
        link.removeAttribute("aria-current");
      }
    }
  }

  toggleThumbnails(show) {
    const visible = show === undefined ? this.thumbs.hidden : show;
    this.thumbs.hidden = !visible;
    this.thumbsButton.setAttribute("aria-pressed", String(visible));
    if (visible) {
      this.#buildThumbnails();
    }
    this.relayout();
  }

  #buildThumbnails() {
    if (this.thumbs.hidden) {
      return;
    }
    const list = this.thumbs.querySelector("ol");
    list.replaceChildren();
    for (let n = this.part.first; n < this.part.first + this.part.count; n++) {
      const label = format(this.t.goToPage, { n: n - this.part.first + 1 });
      list.append(
        el(
          "li",
          {},
          el(
            "button",
            { type: "button", "data-goto": n, "aria-label": label, "aria-current": n === this.current ? "page" : null },
            el("img", { src: this.ws.source.thumbnailUrl(n), alt: "", loading: "lazy", width: 80 }),
            el("span", { text: String(n - this.part.first + 1) }),
          ),
        ),
      );
    }
  }
}
