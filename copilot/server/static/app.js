// LQMF dashboard: live updates from /api/events (server-sent events), job start/stop
// through the REST API, and the plots (plotly.js, vendored) where a page has them.
(function () {
  "use strict";
  const $ = (s, el) => (el || document).querySelector(s);
  const canRun = () => window.LQMF_CAN_RUN === true;

  function setRow(tr, j) {
    tr.className = "st-" + j.status;
    $(".state", tr).textContent = j.status;
    if (j.what) $(".what", tr).textContent = j.what;
    const p = j.progress == null ? null : Math.round(j.progress * 1000) / 10;
    $(".fill", tr).style.width = (p == null ? 0 : p) + "%";
    $(".pct", tr).textContent = p == null ? "" : Math.round(p) + "%";
    $(".stage", tr).textContent = j.stage || "";
    const b = $("button.cancel", tr);
    if (b) b.hidden = !(j.status === "queued" || j.status === "running");
  }

  function onJob(j) {
    const body = $("#jobs tbody");
    if (!body) return;
    let tr = document.getElementById("job-" + j.id);
    if (!tr) {
      if (!$("#job-row-template")) return;  // a job page shows its own job only
      tr = $("#job-row-template").content.firstElementChild.cloneNode(true);
      tr.id = "job-" + j.id; tr.dataset.job = j.id;
      const a = $("a.jid", tr); a.href = "/jobs/" + j.id; a.textContent = j.id;
      const b = $("button.cancel", tr); if (b) b.dataset.cancel = j.id;
      body.prepend(tr);
    }
    setRow(tr, j);
    const n = $("#n-running");
    if (n) n.textContent = document.querySelectorAll("#jobs tr.st-running").length;
    const plot = $("#progress-plot");
    if (plot && plot.dataset.job === j.id && j.progress != null && window.Plotly && plot.data) {
      Plotly.extendTraces(plot, { x: [[new Date()]], y: [[j.progress * 100]] }, [0]);
    }
  }

  async function api(method, url, body) {
    const r = await fetch(url, { method, headers: body ? { "Content-Type": "application/json" } : {},
                                 body: body ? JSON.stringify(body) : undefined, credentials: "same-origin" });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((data.error && data.error.message) || r.statusText);
    return data;
  }

  document.addEventListener("submit", async (e) => {
    if (e.target.id !== "start-job") return;
    e.preventDefault();
    const f = new FormData(e.target), kind = f.get("kind"), msg = $("#start-msg");
    const body = { kind, quant_type: f.get("quant_type") || null };
    body[kind === "quantize" ? "model" : "target"] = f.get("model");
    if (kind === "benchmark" && f.get("chunks")) body.chunks = Number(f.get("chunks"));
    try { const r = await api("POST", "/api/jobs", body); msg.textContent = "queued " + r.job; msg.className = "msg"; }
    catch (err) { msg.textContent = err.message; msg.className = "msg err"; }
  });

  document.addEventListener("click", async (e) => {
    const b = e.target.closest("button[data-cancel]");
    if (b) {
      try { onJob(await api("POST", "/api/jobs/" + b.dataset.cancel + "/cancel")); }
      catch (err) { alert(err.message); }
      return;
    }
    const s = e.target.closest("a.sort");
    if (s) {  // keep the filter form's sort in step with the header clicked
      e.preventDefault();
      const f = $("#filters");
      if (f) { f.elements.sort.value = s.dataset.sort; f.elements.order.value = s.classList.contains("on") && s.classList.contains("asc") ? "desc" : "asc"; }
    }
  });

  // --- plots --------------------------------------------------------------------------------
  const json = (id) => { const el = document.getElementById(id); return el ? JSON.parse(el.textContent) : null; };
  const layout = (title, extra) => Object.assign({ title: { text: title, font: { size: 14 } }, margin: { l: 110, r: 10, t: 36, b: 40 },
                                                   autosize: true, paper_bgcolor: "#fff" }, extra || {});
  const cfg = { responsive: true, displaylogo: false };
  const samples = json("samples-data") || [];

  function heat(el, field, title, none) {
    if (!el || !window.Plotly) return;
    const jobs = [...new Set(samples.filter((s) => s[field] != null).map((s) => s.job))];
    if (!jobs.length) { el.textContent = none || "No samples yet: they are taken while jobs run."; return; }
    const t0 = Math.min(...samples.map((s) => s.at)), t1 = Math.max(...samples.map((s) => s.at));
    const bins = Math.max(1, Math.min(120, Math.ceil((t1 - t0) / 2) + 1)), w = Math.max(2, (t1 - t0) / bins);
    const z = jobs.map(() => new Array(bins).fill(null));
    for (const s of samples) {
      if (s[field] == null) continue;
      const r = jobs.indexOf(s.job), c = Math.min(bins - 1, Math.floor((s.at - t0) / w));
      z[r][c] = Math.max(z[r][c] || 0, s[field]);
    }
    const x = [...Array(bins).keys()].map((i) => new Date((t0 + i * w) * 1000));
    const labels = jobs.map((j) => { const s = samples.find((q) => q.job === j); return s.kind + " " + j; });
    Plotly.react(el, [{ type: "heatmap", x, y: labels, z, colorscale: "YlOrRd", hoverongaps: false }], layout(title), cfg);
  }

  function plots() {
    if (!window.Plotly) return;
    heat($("#heat-cpu"), "cpu_pct", "CPU % per job over time");
    heat($("#heat-rss"), "rss_mb", "RSS MB per job over time");
    heat($("#heat-gpu"), "gpu_pct", "GPU % per job over time (the device's utilization)",
         "No GPU use sampled: no job held memory on an NVIDIA GPU (or NVML is missing: pip install nvidia-ml-py).");
    const jr = $("#job-resources");
    if (jr && samples.length) {
      Plotly.react(jr, [{ x: samples.map((s) => new Date(s.at * 1000)), y: samples.map((s) => s.cpu_pct), name: "CPU %" },
                        { x: samples.map((s) => new Date(s.at * 1000)), y: samples.map((s) => s.rss_mb), name: "RSS MB", yaxis: "y2" },
                        ...(samples.some((s) => s.gpu_mem_mb != null) ? [{ x: samples.map((s) => new Date(s.at * 1000)),
                            y: samples.map((s) => s.gpu_mem_mb), name: "GPU MB", yaxis: "y2" }] : [])],
                   layout(samples.some((s) => s.gpu_mem_mb != null) ? "CPU, RSS and GPU memory" : "CPU and RSS", { yaxis2: { overlaying: "y", side: "right" }, margin: { l: 40, r: 40, t: 36, b: 40 } }), cfg);
    }
    const pp = $("#progress-plot");
    if (pp) {
      const pts = json("progress-data") || [];
      Plotly.react(pp, [{ x: pts.map((p) => new Date(p.at * 1000)), y: pts.map((p) => p.progress * 100), mode: "lines+markers", name: "progress %" }],
                   layout("progress %", { yaxis: { range: [0, 100] }, margin: { l: 40, r: 10, t: 36, b: 40 } }), cfg);
    }
    const tl = $("#timeline-records");
    if (tl) {
      const pts = json("points-data") || [];
      const kinds = [...new Set(pts.map((p) => p.kind))];
      Plotly.react(tl, kinds.map((k) => { const ps = pts.filter((p) => p.kind === k);
        return { type: "scatter", mode: "markers", name: k, x: ps.map((p) => new Date(p.at * 1000)), y: ps.map((p) => p.label), text: ps.map((p) => p.status) }; }),
        layout("records over time"), cfg);
      tl.on && tl.on("plotly_click", () => {});
      const jobs = (json("jobs-data") || []).filter((j) => j.started_at);
      const tj = $("#timeline-jobs");
      if (tj && jobs.length) {
        Plotly.react(tj, [{ type: "bar", orientation: "h", y: jobs.map((j) => j.what + " " + j.id),
          x: jobs.map((j) => ((j.finished_at || Date.now() / 1000) - j.started_at) * 1000),
          base: jobs.map((j) => new Date(j.started_at * 1000)), marker: { color: jobs.map((j) => j.status === "succeeded" ? "#2f855a" : j.status === "running" ? "#2b6cb0" : "#c53030") } }],
          layout("jobs", { xaxis: { type: "date" } }), cfg);
      }
    }
  }

  // --- live events ----------------------------------------------------------------------------
  function live() {
    if (!window.EventSource) return;
    const es = new EventSource("/api/events");
    const dot = $("#live");
    es.onopen = () => dot && dot.classList.add("on");
    es.onerror = () => dot && dot.classList.remove("on");
    es.addEventListener("job", (m) => onJob(JSON.parse(m.data)));
    es.addEventListener("record", () => { const n = $("#n-records"); if (n) n.textContent = String(Number(n.textContent) + 1); });
    es.addEventListener("resource", (m) => {
      const s = JSON.parse(m.data);
      const jr = $("#job-resources"), pp = $("#progress-plot");
      if ($("#heat-cpu") || (pp && pp.dataset.job === s.job && jr)) { samples.push(s); plots(); }
    });
  }

  document.addEventListener("DOMContentLoaded", () => { plots(); live(); });
  window.addEventListener("load", plots);
})();
