// A list job's page: while the job waits or works, read its progress every second and move the
// bar and the figures; when its state changes, reload (the page then shows the preview or the
// summary). Without script the page shows the state and a link to refresh.
(function () {
  var box = document.getElementById("job-progress");
  if (!box || !box.hasAttribute("data-working")) { return; }
  var url = box.getAttribute("data-progress-url");
  var state = box.getAttribute("data-state");
  var bar = document.getElementById("job-bar");
  var number = new Intl.NumberFormat(document.documentElement.lang || "vi");
  var set = function (name, text) {
    var el = box.querySelector('[data-field="' + name + '"]');
    if (el) { el.textContent = text; }
  };
  var tick = function () {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (!job) { return; }
        if (job.state !== state) { window.location.reload(); return; }
        bar.value = job.percent;
        bar.textContent = job.percent + "%";
        set("percent", job.percent);
        set("label", job.label);
        set("rows_done", number.format(job.rows_done));
        set("rows_total", job.rows_total === null ? "?" : number.format(job.rows_total));
        Object.keys(job.counts).forEach(function (key) {
          var el = box.querySelector('[data-live-count="' + key + '"]');
          if (el) { el.textContent = number.format(job.counts[key]); }
        });
        window.setTimeout(tick, 1000);
      })
      .catch(function () { window.setTimeout(tick, 3000); });
  };
  window.setTimeout(tick, 1000);
})();
