// Encore organiser dashboard: forms and deletions through the tracklink
// report API (/admin/api/), copy buttons, the promoter detail panel and
// the live feed of new sales (Server-Sent Events). Pages are rendered on
// the server; this only adds interaction. Everything from the server that
// goes into the page as text uses textContent; the panel is an HTML
// fragment rendered (and escaped) by the server's templates.
(function () {
  "use strict";

  var API = "/admin/api";
  var events = {};
  try { events = JSON.parse(document.body.dataset.events || "{}"); } catch (e) { /* names fall back to slugs */ }

  // api calls the report API. Every call carries X-Requested-With, which
  // the server requires on state-changing requests (CSRF defence).
  function api(method, path, body) {
    var opts = { method: method, headers: { "X-Requested-With": "tracklink-admin", Accept: "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(API + path, opts).then(function (r) {
      if (r.status === 204) return { status: 204, body: null };
      return r.json().catch(function () { return {}; }).then(function (b) { return { status: r.status, body: b }; });
    });
  }

  function money(minor, currency) {
    try {
      return new Intl.NumberFormat("en-IE", { style: "currency", currency: currency }).format(minor / 100);
    } catch (e) {
      return (minor / 100).toFixed(2) + " " + currency;
    }
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function showError(id, msg) {
    var box = document.getElementById(id);
    if (box) { box.textContent = msg; box.hidden = false; } else { alert(msg); }
  }

  // ---- copy buttons ----
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Fallback for plain-http pages off localhost: a hidden textarea.
    return new Promise(function (resolve, reject) {
      var ta = el("textarea");
      ta.value = text;
      ta.setAttribute("readonly", "");
      ta.style.position = "fixed";
      ta.style.opacity = "0";
      document.body.appendChild(ta);
      ta.select();
      try { document.execCommand("copy") ? resolve() : reject(new Error("copy refused")); } catch (e) { reject(e); }
      document.body.removeChild(ta);
    });
  }

  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-copy]");
    if (!btn) return;
    ev.preventDefault();
    ev.stopPropagation();
    var label = btn.textContent;
    copyText(btn.dataset.copy).then(function () {
      btn.textContent = "Copied!";
    }, function () {
      var input = btn.parentNode.querySelector("input");
      if (input) input.select();
      btn.textContent = "Press Ctrl+C";
    }).then(function () { setTimeout(function () { btn.textContent = label; }, 1500); });
  });
  document.addEventListener("focusin", function (ev) {
    if (ev.target.classList && ev.target.classList.contains("copy-input")) ev.target.select();
  });

  // ---- toggles ----
  document.querySelectorAll("[data-toggle]").forEach(function (b) {
    b.addEventListener("click", function () {
      var t = document.querySelector(b.dataset.toggle);
      t.hidden = !t.hidden;
      if (!t.hidden) { var f = t.querySelector("input"); if (f) f.focus(); }
    });
  });

  // ---- campaign links ----
  var linkForm = document.getElementById("link-form");
  if (linkForm) {
    linkForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var f = new FormData(linkForm);
      var btn = document.getElementById("create-link");
      btn.disabled = true;
      api("POST", "/links", {
        event: f.get("event"), name: f.get("name"),
        utm: { source: f.get("source"), medium: f.get("medium"), campaign: f.get("campaign") }
      }).then(function (r) {
        btn.disabled = false;
        if (r.status !== 201) return showError("link-error", (r.body && r.body.error) || "Could not create the link.");
        location.assign("/admin/links?created=" + encodeURIComponent(r.body.id));
      }, function () { btn.disabled = false; showError("link-error", "Network error."); });
    });
  }
  document.querySelectorAll("[data-delete-link]").forEach(function (b) {
    b.addEventListener("click", function () {
      if (!confirm("Delete the link “" + b.dataset.name + "”? Its figures stay with its utm_source.")) return;
      api("DELETE", "/links/" + encodeURIComponent(b.dataset.deleteLink)).then(function (r) {
        if (r.status === 204) location.reload(); else alert((r.body && r.body.error) || "Could not delete.");
      });
    });
  });

  // ---- promoters ----
  var promoterForm = document.getElementById("promoter-form");
  if (promoterForm) {
    promoterForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var f = new FormData(promoterForm);
      var split = function (s) { return (s || "").split(",").map(function (x) { return x.trim(); }).filter(Boolean); };
      var body = { code: f.get("code"), name: f.get("name"), groups: split(f.get("groups")), events: f.getAll("events") };
      if ((f.get("promo") || "").trim()) body.promo_codes = [f.get("promo").trim()];
      var btn = document.getElementById("save-promoter");
      btn.disabled = true;
      api("POST", "/promoters", body).then(function (r) {
        btn.disabled = false;
        if (r.status !== 200) return showError("promoter-error", (r.body && r.body.error) || "Could not save the promoter.");
        location.assign("/admin/promoters?code=" + encodeURIComponent(r.body.code));
      }, function () { btn.disabled = false; showError("promoter-error", "Network error."); });
    });
  }

  var panel = document.getElementById("panel");
  var layout = document.getElementById("promoters-layout");

  function openPanel(code, push) {
    return fetch("/admin/promoters/" + encodeURIComponent(code) + "/panel", { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        panel.innerHTML = html; // rendered and escaped by the server's templates
        panel.dataset.code = code;
        panel.hidden = false;
        layout.classList.add("with-panel");
        document.querySelectorAll("#promoters-table tr[data-code]").forEach(function (tr) {
          tr.classList.toggle("selected", tr.dataset.code === code);
        });
        if (push) {
          var u = new URL(location.href);
          u.searchParams.set("code", code);
          history.replaceState(null, "", u);
        }
      });
  }

  function closePanel() {
    panel.hidden = true;
    delete panel.dataset.code;
    layout.classList.remove("with-panel");
    document.querySelectorAll("#promoters-table tr.selected").forEach(function (tr) { tr.classList.remove("selected"); });
    var u = new URL(location.href);
    u.searchParams.delete("code");
    history.replaceState(null, "", u);
  }

  if (panel) {
    document.querySelectorAll("#promoters-table tr[data-code]").forEach(function (tr) {
      var open = function (ev) {
        if (ev.target.closest("[data-copy]")) return;
        ev.preventDefault();
        openPanel(tr.dataset.code, true).catch(function () { location.assign("/admin/promoters?code=" + encodeURIComponent(tr.dataset.code)); });
      };
      tr.addEventListener("click", open);
      tr.addEventListener("keydown", function (ev) { if (ev.key === "Enter") open(ev); });
    });
    panel.addEventListener("click", function (ev) {
      if (ev.target.closest("[data-close-panel]")) return closePanel();
      var del = ev.target.closest("[data-delete-promoter]");
      if (del) deletePromoter(del.dataset.deletePromoter, del.dataset.name);
    });
  }

  // Deleting a promoter removes all its data for good, so it takes two
  // confirmations, matching the API's two steps: the first DELETE answers
  // 409 with a token, the second DELETE sends it back.
  function deletePromoter(code, name) {
    if (!confirm("Delete " + name + " (" + code + ")?\n\nThis removes the promoter and ALL of its visits and sales data.")) return;
    api("DELETE", "/promoters/" + encodeURIComponent(code)).then(function (r) {
      if (r.status !== 409 || !r.body.confirm) throw new Error((r.body && r.body.error) || "unexpected answer " + r.status);
      if (!confirm("Are you really sure? " + name + "'s history cannot be recovered.")) return null;
      return api("DELETE", "/promoters/" + encodeURIComponent(code) + "?confirm=" + encodeURIComponent(r.body.confirm));
    }).then(function (r) {
      if (r === null) return;
      if (r.status !== 204) throw new Error((r.body && r.body.error) || "unexpected answer " + r.status);
      location.assign("/admin/promoters");
    }).catch(function (e) { alert("Could not delete: " + e.message); });
  }

  // ---- live feed ----
  var live = document.getElementById("live");
  var toasts = document.getElementById("toasts");

  function toast(title, text, cls) {
    var t = el("div", { "class": "toast " + (cls || ""), role: "status" });
    t.appendChild(el("strong", {}, title));
    t.appendChild(el("span", {}, text));
    toasts.appendChild(t);
    setTimeout(function () { t.classList.add("out"); setTimeout(function () { t.remove(); }, 400); }, 6000);
  }

  function describe(a) {
    var t = a.touch || {};
    var who = t.channel === "promoter" ? "promoter " + (t.promoter || t.source) :
      t.channel === "campaign" ? "campaign " + t.source : (t.source || "direct");
    return who;
  }

  var channelLabels = { promoter: "Promoters", campaign: "Campaign links", platform: "Our own site", social: "Social",
    search: "Search", email: "Email", messenger: "Messengers", link_in_bio: "Link in bio", referral: "Other websites",
    direct: "Direct", unknown: "Unknown" };

  function prependOrder(a, kind) {
    var tbody = document.querySelector("#recent-orders tbody");
    if (!tbody) return;
    var existing = tbody.querySelector('tr[data-order="' + CSS.escape(a.order_id) + '"]');
    if (kind === "refunded") {
      if (existing) existing.classList.add("refunded");
      return;
    }
    if (existing) return;
    var empty = tbody.querySelector(".empty-row");
    if (empty) empty.remove();
    var t = a.touch || {};
    var tr = el("tr", { "data-order": a.order_id, "class": "fresh" });
    var at = new Date(a.at);
    var months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    var pad = function (n) { return n < 10 ? "0" + n : "" + n; };
    tr.appendChild(el("td", { "class": "nowrap" }, at.getUTCDate() + " " + months[at.getUTCMonth()] + " " + pad(at.getUTCHours()) + ":" + pad(at.getUTCMinutes())));
    var id = el("td");
    id.appendChild(el("code", {}, a.order_id));
    tr.appendChild(id);
    tr.appendChild(el("td", { "class": "nowrap" }, events[a.event] || a.event));
    tr.appendChild(el("td", { "class": "num" }, String(a.tickets) + (a.excluded ? " +" + a.excluded : "")));
    tr.appendChild(el("td", { "class": "num" }, money(a.revenue, a.currency)));
    var who = el("td");
    who.appendChild(el("span", { "class": "chip", "data-channel": t.channel || "direct" }, channelLabels[t.channel] || t.channel || "Direct"));
    who.appendChild(document.createTextNode(" " + (t.promoter || t.source || "")));
    tr.appendChild(who);
    tr.appendChild(el("td", { "class": "small muted" }, a.rule === "no touch" ? "no touch" : (a.rule + ": " + (t.evidence || ""))));
    tbody.insertBefore(tr, tbody.firstChild);
  }

  function refreshPanel(a) {
    if (!panel || panel.hidden || !panel.dataset.code) return;
    var t = a.touch || {};
    if (t.channel !== "promoter" || (t.promoter || t.source) !== panel.dataset.code) return;
    var before = panel.querySelector('[data-stat="tickets"]');
    var old = before ? before.textContent : "";
    openPanel(panel.dataset.code, false).then(function () {
      var now = panel.querySelector('[data-stat="tickets"]');
      if (now && now.textContent !== old) {
        panel.querySelectorAll(".stat-value").forEach(function (v) { v.classList.add("bump"); });
      }
    });
    var cell = document.querySelector('#promoters-table tr[data-code="' + CSS.escape(panel.dataset.code) + '"] [data-col="tickets"]');
    if (cell && a.tickets) cell.textContent = String(Number(cell.textContent) + (a.kind === "refunded" ? -a.tickets : a.tickets));
  }

  function setLive(state, text) {
    if (!live) return;
    live.dataset.state = state;
    live.querySelector(".live-text").textContent = text;
  }

  if (window.EventSource && live) {
    var es = new EventSource(API + "/stream");
    es.onopen = function () { setLive("open", "Live"); };
    es.onerror = function () { setLive(es.readyState === EventSource.CLOSED ? "error" : "connecting", es.readyState === EventSource.CLOSED ? "Offline" : "Reconnecting…"); };
    var onSale = function (kind) {
      return function (msg) {
        var a;
        try { a = JSON.parse(msg.data); } catch (e) { return; }
        a.kind = kind;
        var ev = events[a.event] || a.event;
        if (kind === "refunded") {
          toast("Refund", a.order_id + " · " + ev + " · " + describe(a), "refund");
        } else {
          toast("New sale · " + money(a.revenue, a.currency), a.tickets + " ticket" + (a.tickets === 1 ? "" : "s") +
            (a.excluded ? " (+" + a.excluded + " resold/transferred)" : "") + " · " + ev + " · via " + describe(a));
        }
        prependOrder(a, kind);
        refreshPanel(a);
      };
    };
    es.addEventListener("attributed", onSale("attributed"));
    es.addEventListener("unattributed", onSale("unattributed"));
    es.addEventListener("refunded", onSale("refunded"));
    window.addEventListener("beforeunload", function () { es.close(); });
  } else {
    setLive("error", "Live updates unavailable");
  }
})();
