// The answer page: a QR code opens /answer#<code>; the code is filled in and sent. The code
// stays after «#», so it never reaches the server's log. The page works without JavaScript.
(function () {
  var input = document.getElementById("code");
  var form = document.getElementById("code-form");
  var code = (window.location.hash || "").replace(/^#/, "").replace(/[^0-9]/g, "");
  if (input && form && code.length === 12 && !document.getElementById("error")) {
    input.value = code.replace(/(\d{4})(?=\d)/g, "$1 ");
    history.replaceState(null, "", window.location.pathname);
    form.submit();
  }
})();
