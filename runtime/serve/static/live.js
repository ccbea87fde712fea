// Live page: one MJPEG stream shared by every viewer; settings and stats over JSON.
"use strict";
const $ = (id) => document.getElementById(id);

async function send(change) {
  try { render(await postJSON("/api/live/settings", change)); } catch (e) { showError($("error"), e.message); }
}

function render(s) {
  $("fps").textContent = s.frames ? s.fps.toFixed(1) : "–";
  $("nfaces").textContent = s.frames ? s.faces : "–";
  $("latency").textContent = s.frames ? `${s.total_ms.toFixed(0)} ms` : "–";
  $("energy").textContent = s.frames ? `${s.energy_mj.toFixed(0)} mJ` : "–";
  $("note").textContent = s.energy_note;
  $("source").textContent = s.source ? `source: ${s.source} · ${s.viewers} viewer(s)` : "";
  const top = Math.max(1, ...Object.values(s.stages_ms));
  $("stages").innerHTML = Object.entries(s.stages_ms).map(([k, v]) =>
    `<div><span>${k}</span><i style="width:${(100 * v / top).toFixed(0)}%"></i><span>${v.toFixed(1)}</span></div>`).join("");
  if (s.error) showError($("error"), s.error);
  $("enabled").checked = s.settings.enabled; $("boxes").checked = s.settings.boxes;
}

async function poll() {
  try {
    const s = await api("/api/live/stats");
    render(s);
    if (!s.source) showError($("error"), "No live source: start the server with --live 0 (camera), --live rtsp://… or --live clip.mp4.");
    else if (!$("video").src) $("video").src = "/api/live/stream.mjpg";
  } catch (e) { showError($("error"), e.message); }
  setTimeout(poll, 1000);
}

$("enabled").addEventListener("change", () => send({ enabled: $("enabled").checked }));
$("boxes").addEventListener("change", () => send({ boxes: $("boxes").checked }));
$("strength").addEventListener("input", () => { $("strength-out").textContent = `${$("strength").value}%`; });
$("strength").addEventListener("change", () => send({ strength: $("strength").value / 100 }));
$("video").addEventListener("error", () => { if ($("video").src) showError($("error"), "the video stream stopped; reload the page"); });
poll();
