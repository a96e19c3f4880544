// The charts of /analytics/: each one a picture of the table printed with it (analytics.charts
// says what to draw). No data is fetched here; without JavaScript the tables are all there.
"use strict";

(function () {
  function draw(spec) {
    const canvas = document.getElementById(spec.id);
    if (!canvas || !spec.labels.length) {
      // Nothing to draw: the table says so; no empty axes and no second caption.
      if (canvas) canvas.closest("figure").querySelector(".chart-canvas").hidden = true;
      if (canvas) canvas.closest("figure").querySelector("figcaption").hidden = true;
      return;
    }
    const reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    const horizontal = Boolean(spec.horizontal);
    const valueAxis = {
      beginAtZero: true,
      stacked: Boolean(spec.stacked),
      title: { display: true, text: spec.unit },
    };
    if (spec.max) valueAxis.max = spec.max;
    const labelAxis = { stacked: Boolean(spec.stacked), ticks: { autoSkip: true } };
    // Taller for a horizontal bar chart, so each stage's name has room.
    if (horizontal) {
      canvas.closest(".chart-canvas").style.height = `${Math.max(12, spec.labels.length * 2.6)}rem`;
    }
    new window.Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map((d) => ({
          label: d.label,
          data: d.data,
          borderColor: d.color,
          backgroundColor: d.color,
          borderDash: d.dashed ? [6, 4] : [],
          pointRadius: 3,
          spanGaps: true,
        })),
      },
      options: {
        animation: reduced ? false : { duration: 300 },
        maintainAspectRatio: false,
        indexAxis: horizontal ? "y" : "x",
        scales: horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }

  function start() {
    const node = document.getElementById("analytics-config");
    if (!node || !window.Chart) return;
    const config = JSON.parse(node.textContent);
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.color = "#333";
    config.charts.forEach(draw);
    document.body.dataset.chartsDrawn = String(config.charts.length);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
