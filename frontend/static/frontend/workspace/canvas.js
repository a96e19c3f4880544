// A pdf.js page drawn on a new canvas at the screen's own resolution (at most 3 device pixels per
// CSS pixel), scaled down when it would exceed `maxPixels` (browsers refuse larger canvases and
// the memory adds up across panes). Returns the canvas, pdf.js's render task (await its
// promise, or cancel it) and the viewport (for a text layer).
import { el } from "../common.js";

export function drawPage(page, scale, maxPixels) {
  const viewport = page.getViewport({ scale });
  let ratio = Math.min(window.devicePixelRatio || 1, 3);
  const pixels = viewport.width * viewport.height * ratio * ratio;
  if (pixels > maxPixels) {
    ratio *= Math.sqrt(maxPixels / pixels);
  }
  const canvas = el("canvas", { "aria-hidden": "true" });
  canvas.width = Math.floor(viewport.width * ratio);
  canvas.height = Math.floor(viewport.height * ratio);
  const task = page.render({
    canvas,
    viewport,
    transform: ratio !== 1 ? [ratio, 0, 0, ratio, 0, 0] : undefined,
  });
  return { canvas, task, viewport };
}
