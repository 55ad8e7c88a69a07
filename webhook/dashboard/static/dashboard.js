// float-hooks dashboard: follow the server's event stream and re-render the page's main part
// (the server renders it; this script only fetches the same page again and swaps it in).
// Without JavaScript the page is complete as served; reloading shows the latest state.
"use strict";
(function () {
  const body = document.body;
  const url = body.dataset.events;
  if (!url || !window.EventSource || !window.fetch) return;
  const onlyRepo = body.dataset.repo || "";
  const live = document.getElementById("live");
  let timer = null, busy = false, again = false, last = "";

  function say(text) { if (live) live.textContent = text; }

  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const response = await fetch(window.location.href, {
        credentials: "same-origin", headers: { "Accept": "text/html" }, cache: "no-store" });
      if (!response.ok) { say("Could not refresh (" + response.status + ")."); return; }
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.getElementById("main");
      const main = document.getElementById("main");
      if (!fresh || !main) return;
      const open = new Set();
      main.querySelectorAll("details[open]").forEach(function (d) { open.add(d.dataset.path); });
      main.replaceChildren(...Array.from(fresh.childNodes).map(function (n) {
        return document.importNode(n, true); }));
      main.querySelectorAll("details").forEach(function (d) {
        if (open.has(d.dataset.path)) d.open = true; });
      say("Updated " + new Date().toLocaleTimeString() + (last ? " after " + last : "") + ".");
    } catch (e) {
      say("Could not refresh: " + e.message);
    } finally {
      busy = false;
      if (again) { again = false; schedule(); }
    }
  }

  function schedule() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(function () { timer = null; refresh(); }, 300);
  }

  function describe(event) {
    const d = event.data || {};
    if (event.kind === "delivery") return "delivery " + (d.state || "") + " for " + event.repo;
    if (event.kind === "sync") return "a sync of " + event.repo;
    return "new context in " + event.repo;
  }

  const source = new EventSource(url, { withCredentials: true });
  ["delivery", "sync", "context"].forEach(function (kind) {
    source.addEventListener(kind, function (message) {
      let event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      if (onlyRepo && event.repo !== onlyRepo) return;
      last = describe(event);
      schedule();
    });
  });
  // the server dropped events this page missed while it was away: reload what it shows
  source.addEventListener("gap", function () { last = "events were missed"; schedule(); });
  source.addEventListener("open", function () { body.dataset.live = "on"; });
  source.addEventListener("error", function () { body.dataset.live = "reconnecting"; });
})();
