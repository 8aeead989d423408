// AnSinh: the little the pages do in the browser. Loaded from /static so the Content-Security-Policy
// can forbid inline script; every page works without it. base.html loads it on every page; a page
// that also loads it itself must not get its handlers twice.
(function () {
  if (window.ansinhLoaded) { return; }
  window.ansinhLoaded = true;

  // A select marked data-autosubmit sends its form as soon as a value is picked (the queue's commune
  // filter); the form's own button stays for browsers without script.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
