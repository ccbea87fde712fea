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
function setSegment(el, value) {
  el.querySelectorAll("button").forEach((x) => x.classList.toggle("on", x.dataset.value === String(value)));
}
// The restore chain's controls, shared by the photo and album pages: a preset (from
// /api/presets) sets the controls it covers; the server applies the rest of it (its denoise and
// upscale strengths, models); a control moved afterwards wins, as a flag does on the command line.
function chainControls(c, onChange) {
  const upscale = segmented(c.upscale, onChange);
  const presets = {};
  api("/api/presets").then((r) => {
    for (const p of r.presets) {
      const o = new Option(p.source === "built-in" ? p.name : `${p.name} (yours)`, p.name);
      o.title = p.description; c.preset.append(o); presets[p.name] = p;
    }
  }).catch((e) => showError(c.error, e.message));
  c.preset.addEventListener("change", () => {
    const p = presets[c.preset.value];
    c.note.hidden = !p; c.note.textContent = p ? p.description : "";
    if (p) {
      const s = p.settings;
      if (s.mode) setSegment(c.mode, s.mode);
      if (s.strength !== undefined) c.strength.value = Math.round(s.strength * 100);
      const denoise = String(s.denoise ?? "off");
      if (![...c.denoise.options].some((o) => o.value === denoise)) c.denoise.append(new Option(denoise, denoise));
      c.denoise.value = denoise;
      setSegment(c.upscale, s.upscale ?? 1);
    }
    onChange();
  });
  c.denoise.addEventListener("change", onChange);
  // Face priority runs alone: the chain's controls rest while it is on.
  return (faces) => {
    c.fieldset.disabled = faces;
    return { preset: c.preset.value, denoise: faces ? "off" : c.denoise.value, upscale: faces ? 1 : Number(upscale()) };
  };
}
