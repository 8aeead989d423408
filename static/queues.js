// The queue page: "select all on this page", and only the chosen bulk action's fields shown.
// The page works without it: every checkbox can be ticked by hand and every field is there.
(function () {
  var all = document.getElementById("select-page");
  var boxes = document.querySelectorAll('#bulk input[name="case"]');
  if (all && boxes.length) {
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
    });
  }
  var action = document.getElementById("b-action");
  if (action) {
    var parts = document.querySelectorAll(".bulk-part");
    var show = function () {
      parts.forEach(function (part) { part.hidden = part.getAttribute("data-for") !== action.value; });
    };
    action.addEventListener("change", show);
    show();
  }
})();
