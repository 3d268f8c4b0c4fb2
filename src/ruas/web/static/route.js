/* Route and accessibility maps (Leaflet): click to fill the point fields, draw the answer the server wrote into
   the page (GeoJSON in a JSON script element). The answer is also on the page in words. */
(function () {
  "use strict";
  function fmt(latlng) { return latlng.lat.toFixed(6) + "," + latlng.lng.toFixed(6); }

  function styleFor(p) {
    if (p.kind === "route") { return { color: "#0b57d0", weight: 6, opacity: 0.85 }; }
    if (p.kind === "reachable_area") { return { color: "#0b57d0", weight: 1, fillColor: "#9ec5fe", fillOpacity: 0.35 }; }
    if (p.kind === "segment") { return { color: p.usable ? "#1a7f37" : "#c4141b", weight: p.usable ? 3 : 5, dashArray: p.usable ? null : "6 4" }; }
    return { color: "#37474f" };
  }

  function init(el) {
    if (typeof L === "undefined") { el.classList.add("map-plain"); return; }
    var map = L.map(el, { scrollWheelZoom: false });
    var bounds = JSON.parse(el.dataset.bounds || "[[52.33,4.92],[52.35,4.94]]");
    map.fitBounds(bounds, { padding: [20, 20] });
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, { maxZoom: 19, attribution: el.dataset.tileAttribution || "" }).addTo(map);
    } else {
      el.classList.add("map-plain");
    }
    var drawn = 0;
    if (el.dataset.inline) {
      var script = document.getElementById(el.dataset.inline);
      if (script) {
        var layer = L.geoJSON(JSON.parse(script.textContent), {
          style: function (f) { return styleFor(f.properties || {}); },
          pointToLayer: function (f, latlng) {
            var p = f.properties || {};
            return L.circleMarker(latlng, { radius: 7, color: p.kind === "wait" ? "#9c4a00" : "#0b57d0", fillOpacity: 0.9 });
          },
          onEachFeature: function (f, l) {
            var p = f.properties || {};
            l.on("add", function () {
              var node = l.getElement && l.getElement();
              if (node) { node.setAttribute("data-kind", p.kind || ""); if (p.kind === "segment") { node.setAttribute("data-usable", p.usable ? "true" : "false"); } }
            });
          }
        }).addTo(map);
        drawn = layer.getLayers().length;
        if (drawn) { map.fitBounds(layer.getBounds(), { padding: [20, 20], maxZoom: 17 }); }
      }
    }
    el.dataset.features = String(drawn);
    // clicks fill the point fields in turn (from, to) or the single point field
    var fields = (el.dataset.pick || "").split(",").filter(Boolean);
    var next = 0;
    var marker = null;
    map.on("click", function (e) {
      if (!fields.length) { return; }
      var input = document.getElementById(fields[next % fields.length]);
      if (input) { input.value = fmt(e.latlng); input.dispatchEvent(new Event("change")); }
      if (marker) { marker.setLatLng(e.latlng); } else { marker = L.circleMarker(e.latlng, { radius: 6, color: "#202124" }).addTo(map); }
      next += 1;
      el.dataset.picked = String(next);
    });
    el.dataset.ready = "1";
  }

  document.addEventListener("DOMContentLoaded", function () {
    var maps = document.querySelectorAll("[data-route-map]");
    for (var i = 0; i < maps.length; i++) { init(maps[i]); }
  });
})();
