// Album page: uploaded photos or a server-side folder, one setting (or preset) for all, progress, zip.
"use strict";
const $ = (id) => document.getElementById(id);
const mode = segmented($("mode"), () => {});
const strengthShown = () => { $("strength-out").textContent = `${$("strength").value}%`; };
const chain = chainControls($("chain"), { mode: $("mode"), strength: $("strength"), error: $("error") }, strengthShown);
let files = [];

function ready() { $("start").disabled = !(files.length || $("folder").value); }
function pick(list) {
  files = list.filter((f) => f.type.startsWith("image/") || /\.(jpe?g|png|tiff?|webp|bmp)$/i.test(f.name));
  $("picked").textContent = files.length ? `${files.length} photo(s) chosen` : "No photos among those files";
  if (files.length) $("folder").value = "";
  ready();
}

async function start() {
  showError($("error"), "");
  $("errors").innerHTML = ""; $("zip").classList.add("off");
  const faces = $("faces").checked;
  const chosen = { mode: mode(), strength: $("strength").value / 100, faces, ...chain(faces) };
  $("start").disabled = true;
  try {
    let job;
    if ($("folder").value) {
      job = await postJSON("/api/albums", { ...chosen, folder: $("folder").value });
    } else {
      const form = new FormData();
      for (const [k, v] of Object.entries(chosen)) form.append(k, String(v));
      files.forEach((f) => form.append("files", f, f.name));
      $("status").textContent = `Uploading ${files.length} photo(s)…`;
      job = await api("/api/albums", { method: "POST", body: form });
    }
    await follow(job);
  } catch (e) { showError($("error"), e.message); }
  ready();
}

async function follow(job) {
  for (;;) {
    $("progress").max = job.total; $("progress").value = job.done;
    $("status").textContent = `${job.done} of ${job.total} photos · ${job.state}`;
    $("errors").innerHTML = job.errors.map((e) => `<li>${e.replace(/</g, "&lt;")}</li>`).join("");
    if (job.state === "done") break;
    await new Promise((r) => setTimeout(r, 700));
    job = await api(`/api/albums/${job.id}`);
  }
  $("zip").href = job.zip; $("zip").classList.remove("off");
  $("status").textContent = `Done: ${job.total - job.errors.length} of ${job.total} photos deblurred.`;
}

async function folders() {
  try {
    const r = await api("/api/albums/folders");
    if (!r.root) return;
    $("server").hidden = false;
    for (const f of r.folders) $("folder").append(new Option(f === "." ? "(the album root)" : f, f));
  } catch (e) { showError($("error"), e.message); }
}

$("strength").addEventListener("input", strengthShown);
$("faces").addEventListener("change", () => chain($("faces").checked));
$("files").addEventListener("change", (e) => pick([...e.target.files]));
$("folder").addEventListener("change", () => { if ($("folder").value) { files = []; $("picked").textContent = "Drop photos here or choose"; } ready(); });
$("start").addEventListener("click", start);
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); pick([...e.dataTransfer.files]); });
folders();
