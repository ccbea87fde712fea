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
// The restore chain's controls, shared by the photo and album pages and built into their
// <fieldset id="chain">: a preset (from /api/presets) sets the controls it covers; the server
// applies the rest of it (its denoise and upscale strengths, models); a control moved
// afterwards wins, as a flag does on the command line.
const CHAIN_HTML = `
  <label>Preset <select id="preset"><option value="">None: the settings here</option></select></label>
  <p class="muted" id="preset-note" hidden></p>
  <label>Denoise <select id="denoise"><option value="off">Off</option><option value="auto">Auto: by the noise left</option>
    <option value="0.5">Light</option><option value="1">Full</option></select></label>
  <div class="field"><span>Upscale</span>
    <div class="seg" id="upscale"><button type="button" data-value="1" class="on">1×</button><button type="button"
      data-value="2">2×</button><button type="button" data-value="4">4×</button></div>
  </div>`;
function chainControls(fieldset, page, onChange) {
  fieldset.innerHTML = CHAIN_HTML;
  const $$ = (id) => fieldset.querySelector(`#${id}`);
  const [preset, note, denoise] = [$$("preset"), $$("preset-note"), $$("denoise")];
  const upscale = segmented($$("upscale"), onChange);
  const presets = {};
  api("/api/presets").then((r) => {
    for (const p of r.presets) {
      const o = new Option(p.source === "built-in" ? p.name : `${p.name} (yours)`, p.name);
      o.title = p.description; preset.append(o); presets[p.name] = p;
    }
  }).catch((e) => showError(page.error, e.message));
  preset.addEventListener("change", () => {
    const p = presets[preset.value];
    note.hidden = !p; note.textContent = p ? p.description : "";
    if (p) {
      const s = p.settings;
      if (s.mode) setSegment(page.mode, s.mode);
      if (s.strength !== undefined) page.strength.value = Math.round(s.strength * 100);
      const value = String(s.denoise ?? "off");
      if (![...denoise.options].some((o) => o.value === value)) denoise.append(new Option(value, value));
      denoise.value = value;
      setSegment($$("upscale"), s.upscale ?? 1);
    }
    onChange();
  });
  denoise.addEventListener("change", onChange);
  // Face priority runs alone: the chain's controls are greyed out while it is on.
  return (faces) => {
    fieldset.disabled = faces;
    return { preset: preset.value, denoise: faces ? "off" : denoise.value, upscale: faces ? 1 : Number(upscale()) };
  };
}
