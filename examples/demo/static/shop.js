// Encore Tickets — the shop's small script: the checkout total and the
// order page's status polling. The pages work without it.
(function () {
  "use strict";

  function money(minor, currency) {
    try {
      return new Intl.NumberFormat("en-IE", { style: "currency", currency: currency }).format(minor / 100);
    } catch (e) {
      return (minor / 100).toFixed(2) + " " + currency;
    }
  }

  // Checkout: live total and prices per ticket source.
  var form = document.getElementById("checkout");
  if (form) {
    var currency = form.dataset.currency;
    var update = function () {
      var kind = (form.querySelector("input[name=kind]:checked") || {}).value || "primary";
      var total = 0, count = 0;
      form.querySelectorAll(".ticket-type").forEach(function (row) {
        var priceEl = row.querySelector(".ticket-price");
        var unit = Number(kind === "resale" ? priceEl.dataset.resale : priceEl.dataset.price);
        if (kind === "transfer") unit = 0;
        priceEl.textContent = kind === "transfer" ? "Free" : money(unit, currency);
        var n = Number(row.querySelector("select").value);
        total += n * unit;
        count += n;
      });
      document.getElementById("total").textContent = count ? money(total, currency) : "—";
      var pay = document.getElementById("pay");
      pay.textContent = !count ? "Choose your tickets" :
        kind === "transfer" ? "Accept " + count + " ticket" + (count > 1 ? "s" : "") :
        "Pay " + money(total, currency);
    };
    form.addEventListener("change", update);
    form.addEventListener("submit", function () {
      var pay = document.getElementById("pay");
      setTimeout(function () { pay.disabled = true; pay.textContent = "Redirecting to payment…"; }, 0);
    });
    update();
  }

  // Order page: poll until the payment provider confirmed.
  var order = document.getElementById("order");
  if (order && order.dataset.status === "processing") {
    var tries = 0;
    var poll = function () {
      fetch("/orders/" + encodeURIComponent(order.dataset.id) + "/status", { headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          if (s.status === "processing") {
            if (tries++ < 120) setTimeout(poll, 500);
            return;
          }
          order.dataset.status = s.status;
          order.querySelectorAll(".status").forEach(function (el) { el.hidden = !el.classList.contains("status-" + s.status); });
          if (s.credit) {
            document.getElementById("credit").hidden = false;
            document.getElementById("credit-source").textContent = s.credit.channel + " · " + s.credit.source;
            document.getElementById("credit-evidence").textContent = s.credit.evidence;
            document.getElementById("credit-excluded").textContent = s.credit.excluded ?
              s.credit.excluded + " resold or transferred ticket(s) recorded, not counted as sales." : "";
          }
        })
        .catch(function () { if (tries++ < 120) setTimeout(poll, 1000); });
    };
    setTimeout(poll, 400);
  }
})();
