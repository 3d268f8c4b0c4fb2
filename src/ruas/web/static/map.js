/* RUAS portal maps (Leaflet). Zones are drawn from GeoJSON (fetched, or inline for previews), styled by
   the kind and state the server wrote on the zone's entry in the page, with that entry as the popup.
   Without a tile URL the zones draw on a plain background over the municipal boundaries. */
(function () {
  "use strict";
  var COLOURS = {
    zero_emission: "#1e6b2b", environmental: "#6a1b9a", time_window: "#174ea6",
    vehicle_restriction: "#9c4a00", pedestrian: "#37474f"
  };

  function entryFor(id) { return document.getElementById("zone-" + id); }

  function styleFor(kind, state) {
    var colour = COLOURS[kind] || "#37474f";
    return {
      color: colour, weight: 3, fillColor: colour,
      fillOpacity: state === "scheduled" ? 0.08 : 0.25,
      dashArray: state === "scheduled" || state === "draft" ? "8 6" : null
    };
  }

  function popupFor(feature) {
    var entry = entryFor(feature.id);
    if (entry) {
      var clone = entry.cloneNode(true);
      var withIds = clone.querySelectorAll("[id]");
      for (var i = 0; i < withIds.length; i++) { withIds[i].removeAttribute("id"); }
      var box = document.createElement("div");
      box.className = "popup";
      box.innerHTML = clone.innerHTML;
      return box;
    }
    var div = document.createElement("div");
    div.textContent = (feature.properties && feature.properties.name) || feature.id;
    return div;
  }

  function addZones(map, data) {
    var layer = L.geoJSON(data, {
      style: function (f) {
        var entry = entryFor(f.id);
        var kind = entry ? entry.dataset.kind : (f.properties || {}).kind;
        var state = (f.properties || {}).preview_state || (entry ? entry.dataset.state : "in_force");
        return styleFor(kind, state);
      },
      onEachFeature: function (f, l) {
        l.bindPopup(function () { return popupFor(f); }, { maxWidth: 360 });
        l.on("add", function () {
          if (l.getElement) {
            var el = l.getElement();
            if (el) { el.setAttribute("data-zone-id", f.id); }
          }
        });
      }
    }).addTo(map);
    if (layer.getLayers().length) { map.fitBounds(layer.getBounds(), { padding: [10, 10] }); }
    document.documentElement.dataset.mapZones = String(layer.getLayers().length);
    return layer;
  }

  function init(el) {
    if (typeof L === "undefined") { el.classList.add("map-plain"); return; }
    var map = L.map(el, { scrollWheelZoom: false }).setView([52.45, 4.9], 9);
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, { maxZoom: 18, attribution: el.dataset.tileAttribution || "" }).addTo(map);
    } else {
      el.classList.add("map-plain");
    }
    if (el.dataset.boundaries) {
      fetch(el.dataset.boundaries).then(function (r) { return r.json(); }).then(function (data) {
        L.geoJSON(data, { interactive: false, style: { color: "#8a959e", weight: 1, fill: false } }).addTo(map).bringToBack();
      }).catch(function () { /* the zones draw without boundaries */ });
    }
    if (el.dataset.inline) {
      var script = document.getElementById(el.dataset.inline);
      if (script) { addZones(map, JSON.parse(script.textContent)); }
      el.dataset.ready = "1";
    } else if (el.dataset.geojson) {
      fetch(el.dataset.geojson).then(function (r) { return r.json(); }).then(function (data) {
        addZones(map, data);
        el.dataset.ready = "1";
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var maps = document.querySelectorAll("[data-map], #map");
    for (var i = 0; i < maps.length; i++) { init(maps[i]); }
  });
})();
