/* Small progressive enhancements; every page works without them. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // the check form: show the fields of the chosen way to describe the vehicle
    var modes = document.querySelectorAll("input[name=mode]");
    function sync() {
      var chosen = document.querySelector("input[name=mode]:checked");
      var groups = document.querySelectorAll("[data-mode]");
      for (var i = 0; i < groups.length; i++) {
        groups[i].hidden = chosen ? groups[i].dataset.mode !== chosen.value : false;
      }
    }
    for (var i = 0; i < modes.length; i++) { modes[i].addEventListener("change", sync); }
    if (modes.length) { sync(); }
  });
  // after htmx swapped in a result, move focus to it so keyboard and screen-reader users hear it
  document.addEventListener("htmx:afterSwap", function (e) {
    var heading = e.detail.target.querySelector("h2");
    if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
  });
})();
