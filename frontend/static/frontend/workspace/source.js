// The decision record as the panes draw it: server page images at once (PDFium, a few fixed
// widths), and pdf.js once the record has arrived, for sharp pages at any zoom and selectable text.

const IMAGE_WIDTHS = [160, 320, 480, 800, 1200, 1600, 2400];

export class RecordSource {
  constructor(config) {
    this.config = config;
    this.pdf = null; // a PDFDocumentProxy once loaded
    this.pdfjs = null; // the pdf.js module
    this.loading = null;
    this.listeners = [];
    this.pages = new Map();
  }

  // The smallest image at least as wide as the page box. Where pdf.js follows (large screens)
  // it is drawn for one image pixel per CSS pixel: it only has to stand in for a moment.
  imageUrl(page, cssWidth, { final = false } = {}) {
    const ratio = final ? Math.min(window.devicePixelRatio || 1, 2) : 1;
    const wanted = cssWidth * ratio;
    const width = IMAGE_WIDTHS.find((w) => w >= wanted) || IMAGE_WIDTHS[IMAGE_WIDTHS.length - 1];
    return this.#pageUrl(page, width);
  }

  thumbnailUrl(page) {
    return this.#pageUrl(page, 160);
  }

  // The record's key is part of every address: a signature changes the record, and the images
  // of the old one may still sit in the browser's cache.
  #pageUrl(page, width) {
    const base = this.config.pageImage.replace(/\/0$/, "/" + page);
    return `${base}?width=${width}&r=${this.config.recordKey}`;
  }

  onReady(listener) {
    this.listeners.push(listener);
  }

  // Starts loading pdf.js and the record; resolves with the document, or null if it cannot be
  // shown by pdf.js (the panes then keep the server's images).
  load() {
    if (!this.loading) {
      this.loading = this.#load();
    }
    return this.loading;
  }

  async #load() {
    try {
      const pdfjs = await import(this.config.pdfjs);
      pdfjs.GlobalWorkerOptions.workerSrc = this.config.pdfjsWorker;
      const task = pdfjs.getDocument({
        url: `${this.config.record}?r=${this.config.recordKey}`,
        withCredentials: true,
        // Only the wasm-free build is vendored (frontend/static/frontend/vendor/pdfjs/README.md).
        useWasm: false,
        enableXfa: false,
        // No eval() probe: the Content Security Policy forbids it and would log a violation.
        isEvalSupported: false,
        // The server answers byte ranges: pdf.js fetches the first pages' objects first and
        // the rest as needed, so page 1 of a 200-page record appears before the whole file.
        disableAutoFetch: true,
        rangeChunkSize: 262144,
        verbosity: 0,
      });
      this.pdf = await task.promise;
      this.pdfjs = pdfjs;
      for (const listener of this.listeners) {
        listener(this.pdf);
      }
      return this.pdf;
    } catch (error) {
      // The images stay; the reason goes to the console for whoever debugs it.
      console.warn("pdf.js could not open the record; showing page images", error);
      return null;
    }
  }

  getPage(number) {
    if (!this.pages.has(number)) {
      this.pages.set(number, this.pdf.getPage(number));
    }
    return this.pages.get(number);
  }
}
