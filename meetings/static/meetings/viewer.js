// One frozen item at a time, one page at a time, drawn by the vendored pdf.js (as the
// workspace draws the record), fitted to the stage; the presenter's ink is an SVG over the page
// in the page's own units, so it stays put at any size. Coordinates kept are PDF points.

const SVG = "http://www.w3.org/2000/svg";

export class ItemViewer {
  constructor({ stage, canvas, ink, pdfjs, worker, onPage }) {
    this.stage = stage;
    this.canvas = canvas;
    this.ink = ink;
    this.pdfjsUrl = pdfjs;
    this.workerUrl = worker;
    this.onPage = onPage || (() => {});
    this.item = null;
    this.pdf = null;
    this.page = 1;
    this.base = null; // the page's viewport at scale 1
    this.strokes = []; // [{points: [[x, y], …] in PDF points, color}]
    this.rendering = null;
    this.drawing = null;
    this.pen = false;
    this.onStroke = null;
    new ResizeObserver(() => this.pdf && this.render().catch(() => {})).observe(stage);
    this.#pointer();
  }

  async #lib() {
    if (!this.pdfjs) {
      this.pdfjs = await import(this.pdfjsUrl);
      this.pdfjs.GlobalWorkerOptions.workerSrc = this.workerUrl;
    }
    return this.pdfjs;
  }

  async open(item, page = 1) {
    const pdfjs = await this.#lib();
    if (this.pdf) {
      this.pdf.destroy();
    }
    this.item = item;
    this.pdf = null;
    const task = pdfjs.getDocument({
      url: item.file,
      withCredentials: true,
      useWasm: false,
      enableXfa: false,
      isEvalSupported: false,
      disableAutoFetch: true,
      rangeChunkSize: 262144,
      verbosity: 0,
    });
    this.pdf = await task.promise;
    await this.show(page);
  }

  partOf(page) {
    const parts = this.item ? this.item.parts : [];
    return parts.find((p) => page >= p.first && page < p.first + p.count) || parts[0] || null;
  }

  async show(page) {
    if (!this.pdf) {
      return;
    }
    this.page = Math.min(Math.max(1, page), this.pdf.numPages);
    await this.render();
    const part = this.partOf(this.page);
    this.onPage({ item: this.item.id, part: part ? part.key : "", page: this.page });
  }

  async render() {
    const pdf = this.pdf;
    if (!pdf) {
      return; // another item is opening
    }
    const page = await pdf.getPage(this.page);
    this.base = page.getViewport({ scale: 1 });
    const width = this.stage.clientWidth - 2;
    const height = Math.max(this.stage.clientHeight - 2, 200);
    const scale = Math.min(width / this.base.width, height / this.base.height);
    const ratio = Math.min(window.devicePixelRatio || 1, 3);
    const viewport = page.getViewport({ scale: scale * ratio });
    if (this.rendering) {
      this.rendering.cancel();
    }
    this.canvas.width = Math.floor(viewport.width);
    this.canvas.height = Math.floor(viewport.height);
    const cssWidth = `${Math.floor(viewport.width / ratio)}px`;
    const cssHeight = `${Math.floor(viewport.height / ratio)}px`;
    this.canvas.style.width = cssWidth;
    this.canvas.style.height = cssHeight;
    this.ink.style.width = cssWidth;
    this.ink.style.height = cssHeight;
    this.ink.setAttribute("viewBox", `0 0 ${this.base.width} ${this.base.height}`);
    this.drawInk();
    this.rendering = page.render({ canvasContext: this.canvas.getContext("2d"), viewport });
    try {
      await this.rendering.promise;
    } catch (error) {
      if (error && error.name !== "RenderingCancelledException") {
        throw error;
      }
    }
  }

  setStrokes(strokes) {
    this.strokes = strokes;
    this.drawInk();
  }

  drawInk() {
    if (!this.base) {
      return;
    }
    const paths = this.strokes
      .filter((s) => s.page === this.page)
      .map((s) => this.#path(s.points, s.color));
    if (this.drawing) {
      paths.push(this.#path(this.drawing, "#c00000"));
    }
    this.ink.replaceChildren(...paths);
  }

  #path(points, color) {
    const path = document.createElementNS(SVG, "polyline");
    path.setAttribute(
      "points",
      points.map(([x, y]) => this.base.convertToViewportPoint(x, y).join(",")).join(" "),
    );
    path.setAttribute("stroke", color || "#c00000");
    return path;
  }

  // The chair's pen: a stroke is drawn in page units and handed to onStroke in PDF points.
  #pointer() {
    const at = (event) => {
      const box = this.ink.getBoundingClientRect();
      const vx = ((event.clientX - box.left) / box.width) * this.base.width;
      const vy = ((event.clientY - box.top) / box.height) * this.base.height;
      return this.base.convertToPdfPoint(vx, vy).map((n) => Math.round(n * 10) / 10);
    };
    this.ink.addEventListener("pointerdown", (event) => {
      if (!this.pen || !this.base) {
        return;
      }
      this.ink.setPointerCapture(event.pointerId);
      this.drawing = [at(event)];
    });
    this.ink.addEventListener("pointermove", (event) => {
      if (this.drawing) {
        this.drawing.push(at(event));
        this.drawInk();
      }
    });
    this.ink.addEventListener("pointerup", () => {
      const stroke = this.drawing;
      this.drawing = null;
      if (stroke && stroke.length > 1 && this.onStroke) {
        this.onStroke(stroke.slice(0, 2000));
      }
      this.drawInk();
    });
  }

  setPen(on) {
    this.pen = on;
    this.ink.classList.toggle("pen", on);
  }
}
