// Reveal of one blurred picture at a time. The reveal is a POST with the session's CSRF token:
// the server writes the media.view audit entry first and only then answers with the unblurred
// picture, shown through a blob: URL. Videos never autoplay and start muted.
(function () {
  "use strict";
  var meta = document.querySelector("meta[name=csrf-token]");
  var csrf = meta ? meta.getAttribute("content") : "";
  var revealed = null;

  function hide(figure) {
    var img = figure.querySelector("img");
    if (img && img.dataset.blurred) {
      if (img.src.indexOf("blob:") === 0) { URL.revokeObjectURL(img.src); }
      img.src = img.dataset.blurred;
    }
    figure.classList.remove("revealed");
    var button = figure.querySelector("button.reveal");
    if (button) { button.textContent = "Reveal"; }
  }

  function reveal(figure) {
    var img = figure.querySelector("img");
    var button = figure.querySelector("button.reveal");
    if (!img || !button) { return; }
    if (figure.classList.contains("revealed")) { hide(figure); revealed = null; return; }
    if (revealed && revealed !== figure) { hide(revealed); }
    button.disabled = true;
    button.textContent = "Revealing…";
    var body = new URLSearchParams();
    body.set("csrf", csrf);
    fetch(figure.getAttribute("data-reveal"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString()
    }).then(function (response) {
      if (!response.ok) { throw new Error("reveal refused: " + response.status); }
      return response.blob();
    }).then(function (blob) {
      if (!img.dataset.blurred) { img.dataset.blurred = img.src; }
      img.src = URL.createObjectURL(blob);
      img.alt = img.alt.replace("Blurred preview", "Revealed picture");
      figure.classList.add("revealed");
      button.textContent = "Blur again";
      revealed = figure;
    }).catch(function () {
      button.textContent = "Could not reveal";
    }).finally(function () {
      button.disabled = false;
    });
  }

  document.querySelectorAll("figure.thumb").forEach(function (figure) {
    var button = figure.querySelector("button.reveal");
    if (button) { button.addEventListener("click", function () { reveal(figure); }); }
  });
  document.querySelectorAll("video").forEach(function (video) {
    video.muted = true;
    video.autoplay = false;
    video.preload = "none";
  });
})();
