// Between PDF points (origin bottom-left, the page's crop box) and CSS pixels on the page box,
// with the page's /Rotate applied: the same transform as pdf.js's PageViewport, so marks line up
// with pdf.js's canvas and text layer and with the server's PDFium images alike.

const A4 = [0, 0, 595.28, 841.89, 0];

export class PageGeometry {
  constructor(box, scale = 1) {
    const [x1, y1, x2, y2, rotate] = box && box.length >= 4 ? box : A4;
    this.box = [x1, y1, x2, y2];
    this.rotation = (((rotate || 0) % 360) + 360) % 360;
    this.scale = scale;
    const cx = (x1 + x2) / 2;
    const cy = (y1 + y2) / 2;
    let a, b, c, d;
    switch (this.rotation) {
      case 90:
        [a, b, c, d] = [0, 1, 1, 0];
        break;
      case 180:
        [a, b, c, d] = [-1, 0, 0, 1];
        break;
      case 270:
        [a, b, c, d] = [0, -1, -1, 0];
        break;
      default:
        [a, b, c, d] = [1, 0, 0, -1];
    }
    let offsetX, offsetY;
    if (a === 0) {
      offsetX = Math.abs(cy - y1) * scale;
      offsetY = Math.abs(cx - x1) * scale;
      this.width = Math.abs(y2 - y1) * scale;
      this.height = Math.abs(x2 - x1) * scale;
    } else {
      offsetX = Math.abs(cx - x1) * scale;
      offsetY = Math.abs(cy - y1) * scale;
      this.width = Math.abs(x2 - x1) * scale;
      this.height = Math.abs(y2 - y1) * scale;
    }
    this.transform = [
      a * scale,
      b * scale,
      c * scale,
      d * scale,
      offsetX - a * scale * cx - c * scale * cy,
      offsetY - b * scale * cx - d * scale * cy,
    ];
  }

  // The page's size in points as shown (rotated): for fitting the page to a width.
  get shownWidthPoints() {
    return this.width / this.scale;
  }

  toScreen(x, y) {
    const [a, b, c, d, e, f] = this.transform;
    return [a * x + c * y + e, b * x + d * y + f];
  }

  toPdf(x, y) {
    const [a, b, c, d, e, f] = this.transform;
    const det = a * d - b * c;
    return [(d * (x - e) - c * (y - f)) / det, (a * (y - f) - b * (x - e)) / det];
  }

  // A PDF rect [x1, y1, x2, y2] as a screen box {left, top, width, height}.
  rectToScreen(rect) {
    const [p1x, p1y] = this.toScreen(rect[0], rect[1]);
    const [p2x, p2y] = this.toScreen(rect[2], rect[3]);
    return {
      left: Math.min(p1x, p2x),
      top: Math.min(p1y, p2y),
      width: Math.abs(p2x - p1x),
      height: Math.abs(p2y - p1y),
    };
  }

  // A screen box (two corners) as a PDF rect [x1, y1, x2, y2], rounded to 0.01 pt.
  screenToRect(sx1, sy1, sx2, sy2) {
    const [ax, ay] = this.toPdf(sx1, sy1);
    const [bx, by] = this.toPdf(sx2, sy2);
    const r = (v) => Math.round(v * 100) / 100;
    return [r(Math.min(ax, bx)), r(Math.min(ay, by)), r(Math.max(ax, bx)), r(Math.max(ay, by))];
  }
}
