// Keyboard navigation of the triage queue: j/k move, Enter opens, x selects.
// Loaded as a file (the CSP forbids inline scripts).
(function () {
  "use strict";
  var table = document.getElementById("queue-table");
  if (!table) { return; }
  var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-href]"));
  var counter = document.getElementById("selected-count");
  var current = -1;

  function updateCount() {
    var n = table.querySelectorAll("tbody input[type=checkbox]:checked").length;
    if (counter) { counter.textContent = n + " selected"; }
    rows.forEach(function (row) {
      var box = row.querySelector("input[type=checkbox]");
      row.classList.toggle("selected", !!(box && box.checked));
    });
  }

  function move(to) {
    if (rows.length === 0) { return; }
    if (current >= 0) { rows[current].classList.remove("current"); }
    current = Math.max(0, Math.min(rows.length - 1, to));
    var row = rows[current];
    row.classList.add("current");
    row.setAttribute("aria-selected", "true");
    var link = row.querySelector("a");
    if (link) { link.focus({ preventScroll: true }); }
    row.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    var tag = (event.target && event.target.tagName) || "";
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    if (event.key === "j") { move(current + 1); event.preventDefault(); }
    else if (event.key === "k") { move(current - 1); event.preventDefault(); }
    else if (event.key === "x" && current >= 0) {
      var box = rows[current].querySelector("input[type=checkbox]");
      if (box) { box.checked = !box.checked; updateCount(); }
      event.preventDefault();
    } else if (event.key === "Enter" && current >= 0 && tag !== "A" && tag !== "BUTTON") {
      window.location.assign(rows[current].getAttribute("data-href"));
      event.preventDefault();
    }
  });

  table.addEventListener("change", updateCount);
  rows.forEach(function (row, i) {
    row.addEventListener("focusin", function () {
      if (current >= 0 && current !== i) { rows[current].classList.remove("current"); }
      current = i;
      row.classList.add("current");
    });
  });
  updateCount();
})();
