// Live refresh of the dashboard's live region (#jobs-live): every N seconds (the user's
// choice, remembered in this browser per user; default from the page), paused while the tab
// is hidden or while the user works in a form of the region; the region is replaced in place.
(function () {
  "use strict";
  const region = document.getElementById("jobs-live");
  const select = document.getElementById("jobs-refresh");
  if (!region || !select) return;
  const key = "jobs.dashboard.refresh." + (select.dataset.user || "anonymous");
  let timer = null;
  let busy = false;

  function seconds() {
    return parseInt(select.value, 10) || 0;
  }

  async function refresh() {
    if (busy || document.hidden || region.contains(document.activeElement)) return;
    busy = true;
    try {
      const response = await fetch(region.dataset.liveUrl, {
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" },
      });
      if (response.ok && !response.redirected) {
        region.innerHTML = await response.text();
        region.dataset.refreshes = String((parseInt(region.dataset.refreshes, 10) || 0) + 1);
      }
    } finally {
      busy = false;
    }
  }

  function schedule() {
    if (timer) clearInterval(timer);
    timer = seconds() > 0 ? setInterval(refresh, seconds() * 1000) : null;
  }

  const remembered = window.localStorage.getItem(key);
  const allowed = Array.from(select.options).map((option) => option.value);
  select.value = allowed.includes(remembered) ? remembered : select.dataset.default;
  select.addEventListener("change", function () {
    window.localStorage.setItem(key, select.value);
    schedule();
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && seconds() > 0) refresh();
  });
  schedule();
})();
