// The dashboard refreshes itself: figures from server.json, charts re-fetched.
(function () {
  "use strict";
  var PERIOD = 30000;
  function refresh() {
    fetch("server.json", {cache: "no-store", credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (figures) {
        if (!figures) { return; }
        document.querySelectorAll("[data-figure]").forEach(function (el) {
          var value = figures[el.getAttribute("data-figure")];
          if (value !== undefined) { el.textContent = String(value); }
        });
        var stamp = String(Date.now());
        document.querySelectorAll("img[data-chart]").forEach(function (img) {
          img.src = img.getAttribute("data-chart") + "?t=" + stamp;
        });
      })
      .catch(function () {});
  }
  setInterval(refresh, PERIOD);
})();
