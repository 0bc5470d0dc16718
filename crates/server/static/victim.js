// Marking a clue's region: drag a rectangle on the picture; the form's x, y, width and height
// fields are filled in 1/10000 of the picture (so the region holds whatever size it is shown at).
// Typing numbers in the fields moves the rectangle too.
(function () {
  "use strict";
  var stage = document.getElementById("clue-stage");
  var draft = document.getElementById("clue-draft");
  if (!stage || !draft) { return; }
  var fields = ["x", "y", "w", "h"].map(function (k) { return document.getElementById("region-" + k); });
  var start = null;

  function point(event) {
    var box = stage.getBoundingClientRect();
    var x = Math.round(((event.clientX - box.left) / box.width) * 10000);
    var y = Math.round(((event.clientY - box.top) / box.height) * 10000);
    return { x: Math.max(0, Math.min(10000, x)), y: Math.max(0, Math.min(10000, y)) };
  }

  function show(r) {
    draft.setAttribute("x", r.x);
    draft.setAttribute("y", r.y);
    draft.setAttribute("width", r.w);
    draft.setAttribute("height", r.h);
  }

  function fill(r) {
    fields[0].value = r.x; fields[1].value = r.y; fields[2].value = r.w; fields[3].value = r.h;
    show(r);
  }

  function rect(a, b) {
    return { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), w: Math.abs(a.x - b.x), h: Math.abs(a.y - b.y) };
  }

  stage.addEventListener("pointerdown", function (event) {
    event.preventDefault();
    start = point(event);
    stage.setPointerCapture(event.pointerId);
    fill({ x: start.x, y: start.y, w: 0, h: 0 });
  });
  stage.addEventListener("pointermove", function (event) {
    if (start) { fill(rect(start, point(event))); }
  });
  stage.addEventListener("pointerup", function (event) {
    if (start) { fill(rect(start, point(event))); start = null; }
  });
  fields.forEach(function (f) {
    f.addEventListener("input", function () {
      show({
        x: Number(fields[0].value) || 0, y: Number(fields[1].value) || 0,
        w: Number(fields[2].value) || 0, h: Number(fields[3].value) || 0
      });
    });
  });
})();
