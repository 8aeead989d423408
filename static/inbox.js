// The approvals inbox: "select all on this page" and a row marked when ticked. Without script
// the page works the same, one tick at a time (the select-all box stays hidden).
(function () {
  "use strict";
  function boxes(form) {
    return Array.prototype.slice.call(form.querySelectorAll('input[type="checkbox"][name="proposal"]'));
  }
  function mark(box) {
    var row = box.closest("tr");
    if (row) { row.classList.toggle("picked", box.checked); }
  }
  function sync(all, form) {
    var list = boxes(form), ticked = list.filter(function (b) { return b.checked; }).length;
    all.checked = list.length > 0 && ticked === list.length;
    all.indeterminate = ticked > 0 && ticked < list.length;
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("inbox-form"), all = document.getElementById("select-all");
    if (!form || !all) { return; }
    all.closest(".select-all").hidden = false;
    all.addEventListener("change", function () {
      boxes(form).forEach(function (b) { b.checked = all.checked; mark(b); });
    });
    boxes(form).forEach(function (b) {
      mark(b);
      b.addEventListener("change", function () { mark(b); sync(all, form); });
    });
    sync(all, form);
  });
})();
