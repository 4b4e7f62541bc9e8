/* furpe-label report: the page. Reads the embedded data (#report-data), decodes the stored
 * scores, re-decides the selection under the controls' thresholds (FurpeWhatIf.decide) and
 * redraws the funnel, reasons, per-dataset / subject tables, score histograms, ground-truth
 * block and gallery badges after every change. The run's own decisions are drawn as outlines /
 * "stored" columns beside the what-if ones. */
(function () {
  "use strict";

  var errors = [];
  function showError(text) {
    errors.push(text);
    var box = document.getElementById("js-errors");
    if (box) { box.hidden = false; box.textContent = "Page error: " + errors.join("; "); }
  }
  window.addEventListener("error", function (event) { showError(String(event.message || event)); });

  var W = window.FurpeWhatIf, C = window.FurpeCharts;
  var STAGE_LABELS = ["kept", "input (reading)", "keypoints (detection, step 1)",
    "experts (crops, step 2)", "fusion", "reprojection (step 3)", "signals (beyond FuRPE)",
    "temporal (video tracks)"];
  var PART_NAMES = ["body", "face", "left hand", "right hand"];

  function $(id) { return document.getElementById(id); }
  function num(v) { return Number(v).toLocaleString("en-US"); }
  function pct(a, b) { return b ? (100 * a / b).toFixed(1) + " %" : "-"; }
  function cell(row, text, cls) {
    var td = document.createElement(row.parentNode && row.parentNode.tagName === "THEAD" ? "th" : "td");
    td.textContent = text;
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }
  function table(container, head, rows) {
    container.textContent = "";
    var t = document.createElement("table"), th = t.createTHead(), tb = t.createTBody();
    var hr = th.insertRow();
    head.forEach(function (h) { cell(hr, h); });
    rows.forEach(function (r) {
      var tr = tb.insertRow();
      r.forEach(function (v) { if (Array.isArray(v)) cell(tr, v[0], v[1]); else cell(tr, v); });
    });
    container.appendChild(t);
  }
  function withStored(now, stored) { return now === stored ? num(now) : num(now) + " (was " + num(stored) + ")"; }

  var data = JSON.parse($("report-data").textContent), n = data.rows.n;
  var cols, stored, controls;  // set once the rows block is decoded (FurpeColumns, async)
  var R = {};
  data.reasons.forEach(function (r, i) { R[r] = i; });

  function stageCounts(stage, filter) {
    var c = [0, 0, 0, 0, 0, 0, 0, 0];
    for (var i = 0; i < n; i++) if (!filter || filter(i)) c[stage[i]] += 1;
    return c;
  }

  function drawFunnel(decided) {
    var now = stageCounts(decided.stage), was = stageCounts(stored.stage);
    var rows = [{ label: "inputs", value: n, text: num(n) }], left = n, leftWas = n;
    for (var s = 1; s < STAGE_LABELS.length; s++) {
      left -= now[s]; leftWas -= was[s];
      rows.push({ label: "after " + STAGE_LABELS[s], value: left, ghost: leftWas,
        text: num(left) + " (" + pct(left, n) + ")" + (left !== leftWas ? " was " + num(leftWas) : "") });
    }
    $("funnel-chart").textContent = "";
    $("funnel-chart").appendChild(C.bars(rows, "#3b7dd8"));
    var suppressed = [1, 2, 3].map(function (p) {
      var c = 0;
      for (var i = 0; i < n; i++) {
        if (decided.stage[i] === 0 && !((decided.partValid[i] >> p) & 1)) c += 1;
      }
      return PART_NAMES[p] + " suppressed in " + num(c) + " kept";
    });
    $("suppressed").textContent = suppressed.join(" · ");
    var groups = new Map(), subjects = data.rows.subjects.length;  // by dataset / subject index
    for (var i = 0; i < n; i++) {
      var code = cols.dataset[i] * subjects + cols.subject[i], group = groups.get(code);
      if (!group) {
        group = { now: [0, 0, 0, 0, 0, 0, 0, 0], was: [0, 0, 0, 0, 0, 0, 0, 0] };
        groups.set(code, group);
        group.key = data.rows.datasets[cols.dataset[i]] + "\u0000" + data.rows.subjects[cols.subject[i]];
      }
      group.now[decided.stage[i]] += 1;
      group.was[stored.stage[i]] += 1;
    }
    var keys = {}, order = [];
    groups.forEach(function (group) { keys[group.key] = group; order.push(group.key); });
    order.sort();
    table($("funnel-table"), ["dataset", "subject", "inputs", "dropped: input", "keypoints",
      "experts", "fusion", "reprojection", "signals", "temporal", "kept", "kept %"], order.slice(0, 500).map(function (key) {
      var g = keys[key], total = g.now.reduce(function (a, b) { return a + b; }, 0), names = key.split("\u0000");
      return [names[0], names[1], num(total)].concat([1, 2, 3, 4, 5, 6, 7, 0].map(function (s) {
        return [withStored(g.now[s], g.was[s]), g.now[s] !== g.was[s] ? "changed" : ""];
      })).concat([pct(g.now[0], total)]);
    }));
    $("funnel-note").textContent = order.length > 500 ? "first 500 of " + order.length + " dataset / subject groups" : "";
  }

  function drawReasons(decided) {
    var counts = new Map();  // by stage * 65536 + reason, in first-seen order
    function add(stage, reason, which) {
      if (stage === 0) return;
      var key = stage * 65536 + reason, count = counts.get(key);
      if (!count) { count = { stage: stage, reason: reason, now: 0, was: 0 }; counts.set(key, count); }
      count[which] += 1;
    }
    for (var i = 0; i < n; i++) { add(decided.stage[i], decided.reason[i], "now"); add(stored.stage[i], stored.reason[i], "was"); }
    var rows = Array.from(counts.values()).sort(function (a, b) {
      return a.stage - b.stage || b.now - a.now;
    });
    table($("reasons-table"), ["stage", "reason", "meaning", "stored", "what-if"], rows.map(function (r) {
      var reason = data.reasons[r.reason];
      return [STAGE_LABELS[r.stage], reason, data.meanings[reason], num(r.was), [num(r.now), r.now !== r.was ? "changed" : ""]];
    }));
  }

  function drawKept(decided, controls) {
    var kept = 0, keptWas = 0;
    for (var i = 0; i < n; i++) { if (decided.stage[i] === 0) kept += 1; if (stored.stage[i] === 0) keptWas += 1; }
    $("kept-count").textContent = num(kept);
    $("kept-percent").textContent = pct(kept, n);
    $("kept-stored").textContent = num(keptWas);
    var changed = controls.changed();
    $("command").textContent = FurpeControls.command(data.provenance.out, data.what_if_keys, changed, controls.config());
    $("command-note").textContent = changed.length ? "reproduces this choice" : "the run's own thresholds";
    var hash = changed.map(function (k) {
      var value = controls.config()[data.what_if_keys[k]];
      return k + "=" + (value === null ? "off" : value);
    }).join("&");
    if (window.history && window.history.replaceState && location.protocol !== "about:") {
      try { history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search); } catch (e) { /* file: */ }
    }
  }

  var Sections = window.FurpeSections;

  function update(config) {
    var start = performance.now();
    var decided = W.decide(cols, data.reasons, config);
    $("decide-ms").textContent = "re-decided " + num(n) + " rows in " +
      (performance.now() - start).toFixed(0) + " ms";
    drawKept(decided, controls);
    drawFunnel(decided);
    drawReasons(decided);
    Sections.scores($("scores"), cols, decided, config, data);
    Sections.truth($("truth"), cols, decided, data);
    Sections.galleryOutcomes(decided, data);
  }

  Sections.provenance($("provenance"), data.provenance);
  Sections.timings($("timings"), data.timings);
  (data.notes || []).forEach(function (note) {
    var p = document.createElement("p");
    p.className = "note";
    p.textContent = note;
    $("notes").appendChild(p);
  });
  var asked = location.hash || location.search.replace(/^\?/, "#");  // before update() rewrites it
  $("decide-ms").textContent = "reading " + num(n) + " rows ...";
  window.FurpeColumns.decodeRows(data.rows, $("report-rows").textContent).then(function (decoded) {
    cols = decoded;
    stored = { stage: cols.stored_stage, reason: cols.stored_reason };
    controls = FurpeControls.build($("controls"), data.what_if_keys, data.selection, update);
    Sections.gallery($("gallery"), data, cols.sample_idx);
    $("reset").addEventListener("click", function () { controls.reset(); });
    update(controls.config());
    controls.fromHash(asked);
    document.body.setAttribute("data-ready", "1");
  }).catch(function (error) {
    console.error(error);
    showError("the rows could not be read: " + String(error && error.message || error));
  });
})();
