// Shows the blur slider's value as it moves.
(function () {
  "use strict";
  var slider = document.getElementById("blur");
  var output = document.getElementById("blur-value");
  if (slider && output) {
    slider.addEventListener("input", function () { output.textContent = slider.value; });
  }
})();
