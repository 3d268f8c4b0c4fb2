/* The bundling map (Leaflet): receivers, suppliers and hubs, the city and areas where movements are counted,
   register zones nearby, and the rounds of one variant (and day) as straight lines between their stops. The
   server writes everything into the page (JSON script element); the same content is in the tables in words.
   Names come from an uploaded scenario: they are set as text, never as HTML. */
(function () {
  "use strict";
  var ROLE = {
    direct: { color: "#a3140b", weight: 3, opacity: 0.8 },
    linehaul: { color: "#7a4a00", weight: 3, opacity: 0.8, dashArray: "8 6" },
    last_mile: { color: "#1e6b2b", weight: 4, opacity: 0.85 }
  };
  var POINT = {
    receiver: { radius: 6, color: "#174ea6", fillColor: "#e8f0fe", fillOpacity: 1, weight: 2 },
    supplier: { radius: 6, color: "#6a1b9a", fillColor: "#f3e5f5", fillOpacity: 1, weight: 2 },
    hub: { radius: 9, color: "#7a4a00", fillColor: "#fff2d9", fillOpacity: 1, weight: 3 }
  };
  var AREA = {
    city: { color: "#37474f", weight: 2, dashArray: "6 6", fill: false },
    area: { color: "#37474f", weight: 2, fillColor: "#37474f", fillOpacity: 0.06 },
    zone: { color: "#1e6b2b", weight: 2, fillColor: "#1e6b2b", fillOpacity: 0.12 }
  };

  function label(text) { var span = document.createElement("span"); span.textContent = text; return span; }

  function init(el) {
    if (typeof L === "undefined") { el.classList.add("map-plain"); return; }
    var script = document.getElementById(el.dataset.inline || "");
    if (!script) { return; }
    var data = JSON.parse(script.textContent);
    var map = L.map(el, { scrollWheelZoom: false });
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, { maxZoom: 19, attribution: el.dataset.tileAttribution || "" }).addTo(map);
    } else {
      el.classList.add("map-plain");
    }
    var focus = [];
    (data.areas || []).forEach(function (a) {
      var layer = a.geojson ? L.geoJSON(a.geojson, { style: AREA.zone }) : L.polygon(a.ring, AREA[a.kind] || AREA.area);
      layer.bindTooltip(label(a.name));
      layer.addTo(map);
      if (a.kind === "city" && a.ring) { a.ring.forEach(function (p) { focus.push(p); }); }
    });
    var routes = L.layerGroup().addTo(map);
    var points = L.layerGroup().addTo(map);
    (data.points || []).forEach(function (p) {
      var style = Object.assign({}, POINT[p.kind] || POINT.receiver);
      if (p.kind === "hub" && p.chosen) { style.weight = 6; }
      var marker = L.circleMarker([p.lat, p.lon], style).bindTooltip(label(p.name));
      marker.on("add", function () {
        var node = marker.getElement && marker.getElement();
        if (node) { node.setAttribute("data-kind", p.kind); node.setAttribute("data-id", p.id); }
      });
      marker.addTo(points);
      if (p.kind !== "supplier") { focus.push([p.lat, p.lon]); }
    });
    if (focus.length) { map.fitBounds(L.latLngBounds(focus), { padding: [20, 20], maxZoom: 16 }); }
    else { map.setView([52.37, 4.9], 10); }

    function chosenVariant() {
      var checked = document.querySelector("input[name=map-variant]:checked");
      return checked ? checked.value : "";
    }
    function draw() {
      routes.clearLayers();
      var variant = chosenVariant();
      var daySelect = document.getElementById("map-day");
      var day = daySelect ? daySelect.value : "";
      var n = 0;
      (data.routes || []).forEach(function (r) {
        if (r.variant !== variant || (day && r.day !== day)) { return; }
        var line = L.polyline(r.path, ROLE[r.role] || ROLE.direct);
        line.bindTooltip(label(r.day + " · " + r.operator + " · " + r.vehicle_class + " · " + r.km.toFixed(1) + " km"));
        line.on("add", function () {
          var node = line.getElement && line.getElement();
          if (node) { node.setAttribute("data-role", r.role); node.setAttribute("data-variant", r.variant); }
        });
        line.addTo(routes);
        n += 1;
      });
      points.eachLayer(function (m) { m.bringToFront(); });
      el.dataset.routes = String(n);
      el.dataset.variant = variant;
      el.dataset.day = day;
    }
    var inputs = document.querySelectorAll("input[name=map-variant], #map-day");
    for (var i = 0; i < inputs.length; i++) { inputs[i].addEventListener("change", draw); }
    draw();
    el.dataset.ready = "1";
  }

  document.addEventListener("DOMContentLoaded", function () {
    var maps = document.querySelectorAll("[data-bundling-map]");
    for (var i = 0; i < maps.length; i++) { init(maps[i]); }
  });
})();
