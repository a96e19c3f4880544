// One page of the record, as large as the screen allows: fitted to the stage (zoom 1) or
// magnified, drawn by pdf.js (the workspace's vendored build and its RecordSource), with the
// server's page image standing in until pdf.js has the record. The pointer is a dot placed in
// PDF points through the same transform as the workspace's marks (PageGeometry).
import { el } from "../frontend/common.js";
import { drawPage } from "../frontend/workspace/canvas.js";
import { PageGeometry } from "../frontend/workspace/geometry.js";
import { RecordSource } from "../frontend/workspace/source.js";

const MAX_CANVAS_PIXELS = 32 * 1024 * 1024; // a 4K monitor's page at its own resolution
const MARGIN = 8;

export class Stage {
  constructor({ stage, page, pointer }, config) {
    this.stage = stage;
    this.box = page;
    this.dot = pointer;
    this.boxes = config.boxes;
    this.pages = config.pages || config.boxes.length || 1;
    this.source = new RecordSource(config);
    this.page = 1;
    this.zoom = 1;
    this.geometry = null;
    this.task = null;
    this.token = 0;
    this.pointer = null;
    this.source.load().then((pdf) => {
      if (pdf) {
        this.draw();
      }
    });
    new ResizeObserver(() => this.draw()).observe(stage);
  }

  #fit(n) {
    const g = new PageGeometry(this.boxes[n - 1], 1);
    const width = Math.max(100, this.stage.clientWidth - 2 * MARGIN);
    const height = Math.max(100, this.stage.clientHeight - 2 * MARGIN);
    return Math.min(width / g.width, height / g.height);
  }

  show(page, zoom) {
    page = Math.max(1, Math.min(this.pages, page));
    if (page !== this.page) {
      this.pointer = null;
    }
    this.page = page;
    this.zoom = zoom;
    this.draw();
  }

  async draw() {
    const token = ++this.token;
    const n = this.page;
    const geometry = new PageGeometry(this.boxes[n - 1], this.#fit(n) * this.zoom);
    this.geometry = geometry;
    this.box.style.width = `${geometry.width}px`;
    this.box.style.height = `${geometry.height}px`;
    this.stage.classList.toggle("zoomed", this.zoom > 1);
    this.#placePointer();
    if (this.task) {
      this.task.cancel();
      this.task = null;
    }
    if (!this.source.pdf) {
      this.#image(n, geometry, token);
      return;
    }
    try {
      const page = await this.source.getPage(n);
      if (token !== this.token) {
        return;
      }
      const { canvas, task } = drawPage(page, geometry.scale, MAX_CANVAS_PIXELS);
      this.task = task;
      await this.task.promise;
      this.task = null;
      if (token !== this.token) {
        return;
      }
      // Swapped only once drawn: the previous page (or the image) stays until then.
      this.#replace(canvas);
      this.box.dataset.drawn = String(n);
      if (n < this.pages) {
        this.source.getPage(n + 1); // the next page's objects, before the presenter turns
      }
    } catch (error) {
      if (!error || error.name !== "RenderingCancelledException") {
        console.warn("page", n, "could not be drawn by pdf.js", error);
        if (token === this.token) {
          this.#image(n, geometry, token);
        }
      }
    }
  }

  #image(n, geometry, token) {
    const img = el("img", {
      class: "bf-image",
      alt: "",
      src: this.source.imageUrl(n, geometry.width, { final: true }),
    });
    img.addEventListener("load", () => {
      // Only if nothing newer was asked for meanwhile (pdf.js's sharper page, another page).
      if (token === this.token) {
        this.#replace(img);
        this.box.dataset.drawn = String(n);
      }
    });
  }

  #replace(node) {
    for (const old of this.box.querySelectorAll("canvas, .bf-image")) {
      old.remove();
    }
    this.box.prepend(node);
  }

  // Where a mouse event is on the page, in PDF points; null outside it.
  toPdf(event) {
    if (!this.geometry) {
      return null;
    }
    const rect = this.box.getBoundingClientRect();
    const x = event.clientX - rect.left;
    const y = event.clientY - rect.top;
    if (x < 0 || y < 0 || x > rect.width || y > rect.height) {
      return null;
    }
    const [px, py] = this.geometry.toPdf(x, y);
    return [Math.round(px * 10) / 10, Math.round(py * 10) / 10];
  }

  // The presenter's pointer, in PDF points on `page` (null: hidden).
  point(page, x, y) {
    this.pointer = page === this.page && x !== null && y !== null ? [x, y] : null;
    this.#placePointer({ follow: true });
  }

  #placePointer({ follow = false } = {}) {
    if (!this.pointer || !this.geometry) {
      this.dot.hidden = true;
      return;
    }
    const [sx, sy] = this.geometry.toScreen(this.pointer[0], this.pointer[1]);
    this.dot.style.left = `${sx}px`;
    this.dot.style.top = `${sy}px`;
    this.dot.hidden = false;
    if (follow && this.zoom > 1) {
      // Magnified: keep the pointer in sight, since the presenter's scroll is not sent.
      const rect = this.dot.getBoundingClientRect();
      const view = this.stage.getBoundingClientRect();
      if (rect.left < view.left || rect.right > view.right || rect.top < view.top || rect.bottom > view.bottom) {
        this.dot.scrollIntoView({ block: "center", inline: "center" });
      }
    }
  }
}
