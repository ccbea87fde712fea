// Shared helpers: JSON/API calls that turn every failure into one readable line.
"use strict";
async function api(path, options = {}) {
  let res;
  try { res = await fetch(path, options); }
  catch (e) { throw new Error("cannot reach the server: is `edgedeblur serve` still running?"); }
  const type = res.headers.get("content-type") || "";
  if (!res.ok) {
    const body = type.includes("json") ? await res.json().catch(() => ({})) : {};
    throw new Error(body.error || `the server answered ${res.status} ${res.statusText}`);
  }
  return type.includes("json") ? res.json() : res;
}
function postJSON(path, body) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}
function showError(el, message) { el.textContent = message || ""; }
function segmented(el, onChange) {
  el.addEventListener("click", (e) => {
    const b = e.target.closest("button"); if (!b) return;
    el.querySelectorAll("button").forEach((x) => x.classList.toggle("on", x === b));
    onChange(b.dataset.value);
  });
  return () => el.querySelector("button.on").dataset.value;
}
