// Photo page: upload, preview at screen size while the slider moves, compare, zoom faces,
// denoise and upscale (or a preset), download.
"use strict";
const $ = (id) => document.getElementById(id);
const state = { photos: [], current: null, busy: false, again: false };
const mode = segmented($("mode"), () => refresh());
const errorBox = $("error");
const chain = chainControls($("chain"), { mode: $("mode"), strength: $("strength"), error: errorBox }, () => refresh());

function settings() {
  const faces = $("faces").checked;
  return { mode: mode(), strength: $("strength").value / 100, faces, ...chain(faces) };
}
function screenSide() {
  const px = Math.max(window.screen.width, window.screen.height) * (window.devicePixelRatio || 1);
  return Math.round(Math.min(2048, Math.max(640, px)));
}

async function addFiles(files) {
  showError(errorBox, "");
  for (const file of files) {
    const form = new FormData();
    form.append("file", file, file.name);
    $("status").textContent = `Uploading ${file.name}…`;
    try {
      const info = await api("/api/uploads", { method: "POST", body: form });
      state.photos.push(info);
      select(info);
    } catch (e) { showError(errorBox, `${file.name}: ${e.message}`); $("status").textContent = ""; }
  }
}

function select(info) {
  state.current = info;
  const chips = $("photos");
  chips.innerHTML = "";
  for (const p of state.photos) {
    const b = document.createElement("button");
    b.textContent = p.name; b.title = `${p.name} · ${p.width}×${p.height}`;
    b.classList.toggle("on", p === info);
    b.onclick = () => select(p);
    chips.append(b);
  }
  refresh();
}

// One request in flight; a change made meanwhile sends one more when it returns.
async function refresh() {
  $("strength-out").textContent = `${$("strength").value}%`;
  $("faces-note").hidden = !$("faces").checked;
  const photo = state.current;
  if (!photo) return;
  const s = settings();
  const q = new URLSearchParams(s);
  $("download").href = `/api/uploads/${photo.id}/download?${q}`;
  $("download").classList.remove("off");
  if (state.busy) { state.again = true; return; }
  state.busy = true; $("compare").classList.add("busy");
  const t0 = performance.now();
  try {
    const r = await postJSON(`/api/uploads/${photo.id}/preview`, { ...s, side: screenSide() });
    show(r);
    const ms = performance.now() - t0;
    $("status").textContent = `${photo.width}×${photo.height} · ${r.label} · preview ${r.width}×${r.height} in ${ms.toFixed(0)} ms`;
    showError(errorBox, "");
  } catch (e) { showError(errorBox, e.message); }
  state.busy = false; $("compare").classList.remove("busy");
  if (state.again) { state.again = false; refresh(); }
}

function show(r) {
  $("empty").hidden = true;
  for (const el of [$("before"), $("after-wrap"), $("bar"), ...document.querySelectorAll(".tag")]) el.hidden = false;
  $("compare").classList.remove("none");
  $("before").src = r.before; $("after").src = r.after;
  const list = $("face-list");
  list.innerHTML = "";
  $("faces-title").hidden = r.faces.length === 0;
  r.faces.forEach((f, i) => {
    const d = document.createElement("div");
    d.className = "face";
    d.innerHTML = `<img alt="face ${i + 1} before" src="${f.before}"><img alt="face ${i + 1} after" src="${f.after}"><span>before</span><span>after</span>`;
    list.append(d);
  });
}

// Compare slider: drag (mouse or finger) across the image.
function cut(e) {
  const box = $("compare").getBoundingClientRect();
  const x = Math.min(Math.max((e.clientX - box.left) / box.width, 0), 1);
  $("compare").style.setProperty("--cut", `${(x * 100).toFixed(1)}%`);
}
$("compare").addEventListener("pointerdown", (e) => { $("compare").setPointerCapture(e.pointerId); cut(e); });
$("compare").addEventListener("pointermove", (e) => { if (e.buttons) cut(e); });

$("strength").addEventListener("input", refresh);
$("faces").addEventListener("change", refresh);
$("file").addEventListener("change", (e) => addFiles([...e.target.files]));
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); addFiles([...e.dataTransfer.files]); });

// Full resolution: fetched here so a failure shows in the page, not as a raw error page.
$("download").addEventListener("click", async (e) => {
  e.preventDefault();
  const link = $("download");
  if (!state.current || link.classList.contains("off")) return;
  link.classList.add("off");
  const old = $("status").textContent;
  $("status").textContent = "Deblurring at full resolution… (large photos take a while)";
  try {
    const res = await api(link.href);
    const name = (res.headers.get("content-disposition") || "").match(/filename="([^"]+)"/)?.[1] || "photo.sharp.png";
    const url = URL.createObjectURL(await res.blob());
    const a = Object.assign(document.createElement("a"), { href: url, download: name });
    document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    $("status").textContent = `Saved ${name}`;
  } catch (err) { showError(errorBox, err.message); $("status").textContent = old; }
  link.classList.remove("off");
});
