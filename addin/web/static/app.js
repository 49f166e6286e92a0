// Optional niceties; the page works without JavaScript.
(function () {
  var zone = document.getElementById("drop");
  var input = document.getElementById("file");
  var label = document.getElementById("file-name");
  function show() { if (label && input.files.length) label.textContent = input.files[0].name; }
  if (zone && input) {
    input.addEventListener("change", show);
    ["dragenter", "dragover"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      zone.addEventListener(t, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) { input.files = e.dataTransfer.files; show(); }
    });
  }
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function () {
      var b = form.querySelector("button[type=submit]");
      if (b && b.id) {
        b.dataset.text = b.textContent;
        setTimeout(function () { b.disabled = true; b.textContent = "Подождите…"; }, 0);
      }
    });
  });
  window.addEventListener("pageshow", function () {  // back button: buttons usable again
    document.querySelectorAll("button[data-text]").forEach(function (b) {
      b.disabled = false; b.textContent = b.dataset.text;
    });
  });
  var job = document.getElementById("job");  // «Собрать свод»: progress of a running job
  if (job && job.dataset.state === "running" && window.fetch) {
    var bar = document.getElementById("job-progress");
    var text = document.getElementById("job-text");
    var poll = function () {
      fetch(job.dataset.progress || ("/staff/sync/" + job.dataset.job + "/progress"),
            {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (p) {
          if (p.total) { bar.max = p.total; bar.value = p.done; }
          text.textContent = (job.dataset.label || "Проверено книг: ") + p.done + " из " +
            (p.total || "?");
          if (p.state !== "running") { window.location.reload(); } else { setTimeout(poll, 1000); }
        })
        .catch(function () { setTimeout(poll, 3000); });
    };
    setTimeout(poll, 500);
  }
})();
