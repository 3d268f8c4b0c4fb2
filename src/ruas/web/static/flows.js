/* Logistics-flow charts (Chart.js) and the camera map (Leaflet), drawn from the page's JSON data blocks.
   Withheld numbers (null) are gaps, never zeros. When everything is drawn: <html data-flows-charts="N">. */
(function () {
  "use strict";
  function json(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  var PALETTE = ["#1f5f8b", "#d9822b", "#3c8d40", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#b8860b", "#34495e"];

  function chart(id, config) {
    var el = document.getElementById(id);
    if (!el || !window.Chart) { return 0; }
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
    new window.Chart(el, config);
    return 1;
  }

  function draw() {
    var d = json("flows-chart-data");
    var t = json("flows-chart-labels") || {};
    var drawn = 0;
    if (d && d.buckets && d.buckets.length) {
      drawn += chart("chart-trend", {
        data: {
          labels: d.buckets,
          datasets: [
            { type: "bar", label: t.entries, data: d.totals, backgroundColor: PALETTE[0], yAxisID: "y" },
            { type: "line", label: t.ze_share, yAxisID: "y2", borderColor: PALETTE[2], backgroundColor: PALETTE[2],
              data: d.ze_share.map(function (v) { return v === null ? null : Math.round(v * 1000) / 10; }) }
          ]
        },
        options: { scales: { y: { beginAtZero: true }, y2: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } } } }
      });
      drawn += chart("chart-classes", {
        type: "bar",
        data: {
          labels: d.classes.labels,
          datasets: d.classes.columns.map(function (c, j) {
            return { label: (t.classes || {})[c] || c, backgroundColor: PALETTE[j % PALETTE.length],
                     data: d.classes.values.map(function (row) { return row[j]; }) };
          })
        },
        options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }
      });
      drawn += chart("chart-hours", {
        type: "bar",
        data: { labels: d.hours.labels, datasets: [{ label: t.entries, data: d.hours.values, backgroundColor: PALETTE[1] }] },
        options: { scales: { y: { beginAtZero: true } } }
      });
      drawn += chart("chart-outcomes", {
        type: "bar",
        data: {
          labels: d.outcomes.labels.map(function (o) { return (t.outcomes || {})[o] || o; }),
          datasets: [{ label: t.entries, data: d.outcomes.values, backgroundColor: [PALETTE[2], PALETTE[0], PALETTE[4], PALETTE[6]] }]
        },
        options: { indexAxis: "y", scales: { x: { beginAtZero: true } } }
      });
    }
    var sim = json("flows-sim-data");
    if (sim) {
      drawn += chart("chart-sim-hours", {
        type: "bar",
        data: {
          labels: sim.hours,
          datasets: [
            { label: sim.labels.in_force, data: sim.in_force, backgroundColor: PALETTE[0] },
            { label: sim.labels.draft, data: sim.draft, backgroundColor: PALETTE[1] }
          ]
        },
        options: { scales: { y: { beginAtZero: true } } }
      });
    }
    document.documentElement.dataset.flowsCharts = String(drawn);
    if (d) { map(d.cameras || []); }
  }

  function map(cameras) {
    var el = document.getElementById("flows-map");
    if (!el || !window.L) { return; }
    var m = window.L.map(el, { scrollWheelZoom: false }).setView([52.45, 4.9], 9);
    if (el.dataset.tileUrl) {
      window.L.tileLayer(el.dataset.tileUrl, { maxZoom: 18, attribution: el.dataset.tileAttribution || "" }).addTo(m);
    }
    var max = 1;
    cameras.forEach(function (c) { if (c.passages) { max = Math.max(max, c.passages); } });
    var layer = window.L.featureGroup();
    cameras.forEach(function (c) {
      var r = c.passages === null ? 4 : 4 + 16 * Math.sqrt(c.passages / max);
      window.L.circleMarker([c.lat, c.lon], { radius: r, color: "#1f5f8b", weight: 1, fillOpacity: 0.5 })
        .bindTooltip(c.id + ": " + (c.passages === null ? "–" : c.passages)).addTo(layer);
    });
    layer.addTo(m);
    if (cameras.length) { m.fitBounds(layer.getBounds().pad(0.2)); }
    el.dataset.cameras = String(cameras.length);
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
