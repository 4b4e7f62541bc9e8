/* furpe-label report: the page's sections besides the funnel: score histograms with their
 * thresholds, ground truth (error of the kept labels and of the dropped rows' candidate labels,
 * precision / recall against a cut-off), timings, provenance, and the paginated gallery. */
(function (root) {
  "use strict";

  var C = root.FurpeCharts, KEPT_COLOUR = "#2e9d57", DROP_COLOUR = "#d0513b";
  var PAGE = 12;

  function h(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }
  /** Axis range of the finite values (> 0 on a log scale) and the extra marks: min / max in
   * one pass (values: an array or typed array of up to a few million numbers). */
  function range(values, scale, extra) {
    var lo = Infinity, hi = -Infinity;
    function see(x) {
      if (!isFinite(x) || (scale === "log" && !(x > 0))) return;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    for (var i = 0; i < values.length; i++) see(values[i]);
    (extra || []).forEach(function (x) { see(x === null ? NaN : x); });
    if (lo === Infinity) return scale === "log" ? [1e-3, 1] : [0, 1];
    if (scale === "log") return [Math.pow(10, Math.floor(Math.log10(lo))), Math.pow(10, Math.ceil(Math.log10(hi) + 1e-9))];
    if (hi === lo) hi = lo + 1;
    return [Math.min(0, lo), hi + (hi - lo) * 0.05];
  }
  /** Float64Array of columns[c][i] for every column c and row i < n where keep(i). */
  function gather(columns, n, keep) {
    var out = new Float64Array(columns.length * n), k = 0;
    columns.forEach(function (column) {
      for (var i = 0; i < n; i++) if (keep(i)) out[k++] = column[i];
    });
    return out.subarray(0, k);
  }
  function anyFinite(series) {
    return series.some(function (values) {
      for (var i = 0; i < values.length; i++) if (isFinite(values[i])) return true;
      return false;
    });
  }

  /** One histogram card: title, rule and chart. */
  function card(container, title, rule, spec) {
    var div = h("div", undefined, "card");
    div.appendChild(h("h3", title));
    div.appendChild(h("p", rule, "rule"));
    if (!anyFinite(spec.series)) {
      div.appendChild(h("p", "no scored rows", "note"));
    } else {
      div.appendChild(C.histogram(spec));
    }
    container.appendChild(div);
  }

  function scores(container, cols, decided, config, data) {
    container.textContent = "";
    var n = data.rows.n, pre = cols.pre_stage, step2 = cols.step2_scored;
    function reached(i) { return pre[i] === 0; }
    function scored2(i) { return pre[i] === 0 && step2[i] !== 0; }
    var kpts = gather([cols.n_confident_kp], n, reached);
    card(container, "step 1: confident keypoints", "kept when >= min_count", {
      series: [kpts], colours: ["#5b8def"], names: ["rows"], lo: 0, hi: 138, bins: 46, scale: "lin",
      threshold: config.min_count, thresholdLabel: "min_count " + config.min_count,
      keep: function (x) { return x >= config.min_count; }, unit: "of 137 OpenPose keypoints" });
    var betas = gather([cols.betas_max_abs], n, scored2), br = range(betas, "lin", [config.betas_max_abs]);
    card(container, "step 2: body shape max |beta|", "sample kept when <= betas_max_abs", {
      series: [betas], colours: ["#5b8def"], names: ["rows"], lo: br[0], hi: br[1], bins: 40,
      scale: "lin", threshold: config.betas_max_abs, thresholdLabel: "betas_max_abs " + config.betas_max_abs,
      keep: function (x) { return x <= config.betas_max_abs; }, unit: "standard deviations" });
    var rot = gather([cols.rotation_error], n, scored2), rr = range(rot, "log", [config.rotation_tolerance]);
    card(container, "step 2: body rotation error", "sample kept when <= rotation_tolerance", {
      series: [rot], colours: ["#5b8def"], names: ["rows"], lo: rr[0], hi: rr[1], bins: 40, scale: "log",
      threshold: config.rotation_tolerance, thresholdLabel: "tolerance " + config.rotation_tolerance,
      keep: function (x) { return x <= config.rotation_tolerance; }, unit: "max |R R^T - I|, |det R - 1|" });
    var hands = gather([cols.hand_max_abs_left_hand, cols.hand_max_abs_right_hand], n, scored2);
    var hr = range(hands, "lin", [config.hand_max_abs]);
    card(container, "step 2: hand max |finger rotation| (both hands)", "hand usable when < hand_max_abs", {
      series: [hands], colours: ["#8a6bd8"], names: ["hands"], lo: hr[0], hi: hr[1], bins: 40, scale: "lin",
      threshold: config.hand_max_abs, thresholdLabel: "hand_max_abs " + config.hand_max_abs,
      keep: function (x) { return x < config.hand_max_abs; }, unit: "rad" });
    var vis = gather([cols.n_visible_kp_left_hand, cols.n_visible_kp_right_hand], n, scored2);
    card(container, "step 2: visible hand keypoints (both hands)", "hand usable when > hand_min_keypoints", {
      series: [vis], colours: ["#8a6bd8"], names: ["hands"], lo: 0, hi: 22, bins: 22, scale: "lin",
      threshold: config.hand_min_keypoints + 0.5, thresholdLabel: "> " + config.hand_min_keypoints,
      keep: function (x) { return x > config.hand_min_keypoints; }, unit: "keypoints (wrist + 20)" });
    var mse = gather([decided.mse], n, function (i) { return isFinite(decided.mse[i]); }), mr = range(mse, "log", [config.max_mse]);
    card(container, "step 3: reprojection mean squared distance (" + config.mse_frame + ")",
      "kept when <= max_mse (over the parts valid after step 2, recomputed)", {
        series: [mse], colours: ["#e08a2c"], names: ["rows"], lo: mr[0], hi: mr[1], bins: 40, scale: "log",
        threshold: config.max_mse, thresholdLabel: "max_mse " + config.max_mse,
        keep: function (x) { return x <= config.max_mse; },
        unit: config.mse_frame === "px" ? "pixels^2" : "(crop units)^2, crop = [-1, 1]" });
    var accelColumn = cols.temporal_accel_rad;  // the temporal rule (video tracks)
    var accel = gather([accelColumn], n, function (j) {  // rows past step 3 with a score
      return (decided.stage[j] === 0 || decided.stage[j] === 6) && isFinite(accelColumn[j]);
    });
    if (!accel.length) return;
    var ar = range(accel, "lin", [config.max_temporal_accel]);
    card(container, "temporal: body angular acceleration along the track", "kept when <= max_temporal_accel", {
      series: [accel], colours: ["#2e9d8a"], names: ["rows"], lo: ar[0], hi: ar[1], bins: 40, scale: "lin",
      threshold: config.max_temporal_accel, thresholdLabel: "max_temporal_accel " + config.max_temporal_accel,
      keep: function (x) { return x <= config.max_temporal_accel; }, unit: "rad/frame^2" });
  }

  var cutoff = null;
  function truth(container, cols, decided, data) {
    var n = data.rows.n, errors = cols.gt_mpjpe_mm;
    function judged(i) { return isFinite(errors[i]); }
    var kept = gather([errors], n, function (i) { return judged(i) && decided.stage[i] === 0; });
    var dropped = gather([errors], n, function (i) { return judged(i) && decided.stage[i] !== 0; });
    container.textContent = "";
    if (!kept.length && !dropped.length) {
      container.appendChild(h("p", "No ground truth in this run: the dataset has no 3D joints, so there is no label error to show.", "note"));
      return;
    }
    var all = gather([errors], n, judged).sort();  // typed arrays sort numerically
    if (cutoff === null) cutoff = data.calibration ? data.calibration.max_error_mm : Math.round(all[Math.floor(all.length / 2)]);
    var row = h("div", undefined, "control");
    row.innerHTML = "<label><code>GT error cut-off (mm)</code><span class='help'>a label is good when its " +
      "MPJPE against the ground truth is <= this</span></label><input type='number' id='gt-cutoff' min='0' step='any'>";
    container.appendChild(row);
    var input = row.querySelector("input");
    input.value = String(cutoff);
    input.addEventListener("change", function () {
      if (isFinite(Number(input.value)) && Number(input.value) >= 0) { cutoff = Number(input.value); truth(container, cols, decided, data); }
    });
    var good = function (values) {
      var c = 0;
      for (var k = 0; k < values.length; k++) if (values[k] <= cutoff) c += 1;
      return c;
    };
    var keptGood = good(kept), droppedGood = good(dropped);
    var med = function (v) { if (!v.length) return "-"; var s = v.slice().sort(); return C.fmt(s[Math.floor(s.length / 2)]) + " mm"; };
    var recallBase = keptGood + droppedGood;
    var lines = [
      "labels with a GT error: " + kept.length + " kept (median " + med(kept) + "), " + dropped.length +
        " dropped after fusion (their candidate label: every finite part fused; median " + med(dropped) + ")",
      "precision (kept labels that are good): " + (kept.length ? (100 * keptGood / kept.length).toFixed(1) + " %" : "-"),
      "recall (good labels that are kept): " + (recallBase ? (100 * keptGood / recallBase).toFixed(1) + " %" : "-") +
        " — of the " + recallBase + " good labels among the rows that reached fusion; rows dropped before fusion have no label to measure"
    ];
    lines.forEach(function (t) { container.appendChild(h("p", t, "stat")); });
    if (data.calibration) calibration(container, data.calibration, keptGood, kept.length, recallBase);
    var hi = all[Math.min(all.length - 1, Math.floor(all.length * 0.99))] * 1.1;
    card(container, "label error against ground truth (MPJPE)", "kept (green) vs dropped after fusion (red, candidate labels), cut-off marked", {
      series: [kept, dropped], colours: [KEPT_COLOUR, DROP_COLOUR], names: ["kept", "dropped"], lo: 0,
      hi: Math.max(hi, cutoff * 1.1, 1), bins: 40, scale: "lin", threshold: cutoff, thresholdLabel: "cut-off " + cutoff + " mm",
      unit: "mm" });
  }

  /** `calibrate`'s precision / recall curve (step3.max_mse sweep), its chosen point, the run's
   * thresholds and the what-if's current point (at the GT cut-off above). */
  function calibration(container, cal, keptGood, keptJudged, good) {
    var div = h("div", undefined, "card");
    div.id = "calibration-card";
    div.style.maxWidth = "520px";
    div.appendChild(h("h3", "calibration: precision / recall (good = GT error <= " + C.fmt(cal.max_error_mm) + " mm)"));
    div.appendChild(h("p", "furpe-label calibrate chose the thresholds of OUT/calibrated_selection.json for precision >= " +
      C.fmt(cal.min_precision) + (cal.feasible ? "" : " (not reached)") + "; curve: the rules tightened step by step from the loosest (hover a point for its max_mse)", "rule"));
    var marks = [
      { recall: cal.chosen.recall, precision: cal.chosen.precision, colour: KEPT_COLOUR,
        label: "chosen: precision " + C.fmt(cal.chosen.precision) + ", recall " + C.fmt(cal.chosen.recall) },
      { recall: cal.run.recall, precision: cal.run.precision, colour: "#7a8796",
        label: "run's thresholds: precision " + C.fmt(cal.run.precision) + ", recall " + C.fmt(cal.run.recall) }];
    if (keptJudged && good) {
      marks.push({ recall: keptGood / good, precision: keptGood / keptJudged, colour: DROP_COLOUR,
        label: "what-if now (at the cut-off above)" });
    }
    div.appendChild(C.curve({ target: cal.min_precision, marks: marks, points: cal.curve.map(function (p) {
      return { recall: p.recall, precision: p.precision, label: "max_mse " + C.fmt(p.max_mse) + ": precision " +
        C.fmt(p.precision) + ", recall " + C.fmt(p.recall) + ", kept " + p.kept };
    }) }));
    div.appendChild(h("p", "green: chosen · grey: the run's thresholds · red: the what-if above", "rule"));
    container.appendChild(div);
  }

  function timings(container, t) {
    container.textContent = "";
    container.appendChild(h("p", t.samples + " samples in " + t.shards + " shard(s); " + C.fmt(t.total_seconds) +
      " s of stage work" + (t.samples_per_second ? ", " + C.fmt(t.samples_per_second) + " samples/s per worker" : "") +
      " (from " + t.source + ")", "stat"));
    container.appendChild(C.bars(t.stages.map(function (s) {
      return { label: s.stage, value: s.seconds, text: C.fmt(s.seconds) + " s · " + C.fmt(s.ms_per_sample) + " ms/sample · " + (100 * s.share).toFixed(1) + " %" };
    }), "#7a8796"));
  }

  function provenance(container, p) {
    container.textContent = "";
    if (p.synthetic) {
      container.appendChild(h("div", "SYNTHETIC BODY MODELS — these labels come from the synthetic SMPL-X family " +
        "(furpe-label synth-models): they show the pipeline working and are NOT real labels.", "synthetic"));
    }
    var dl = h("dl");
    [["run folder", p.out], ["code", p.code_version], ["config SHA-256", p.config_hash], ["detector", p.detector],
      ["synthetic body models", p.synthetic ? "YES" : "no"]].forEach(function (kv) {
      dl.appendChild(h("dt", kv[0])); dl.appendChild(h("dd", kv[1]));
    });
    Object.keys(p.experts).forEach(function (part) { dl.appendChild(h("dt", "expert: " + part)); dl.appendChild(h("dd", p.experts[part])); });
    [["model", p.model_sha256], ["checkpoint", p.checkpoint_sha256]].forEach(function (kind) {
      Object.keys(kind[1]).forEach(function (file) {
        dl.appendChild(h("dt", kind[0] + ": " + file)); dl.appendChild(h("dd", kind[1][file], "hash"));
      });
    });
    container.appendChild(dl);
    var details = h("details");
    details.appendChild(h("summary", "run configuration (run.json)"));
    details.appendChild(h("pre", JSON.stringify(p.config, null, 2)));
    container.appendChild(details);
  }

  var galleryState = { page: 0, filter: "all", decided: null };
  function galleryOutcomes(decided) { galleryState.decided = decided; if (galleryState.redraw) galleryState.redraw(); }

  /** Row of a sample in the (sorted) sample_idx column, or undefined. */
  function rowOf(sampleIdx, sample) {
    var lo = 0, hi = sampleIdx.length - 1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (sampleIdx[mid] === sample) return mid;
      if (sampleIdx[mid] < sample) lo = mid + 1; else hi = mid - 1;
    }
    return undefined;
  }

  /** The paginated gallery; sampleIdx: the rows' sample_idx column (ascending). */
  function gallery(container, data, sampleIdx) {
    var entries = data.gallery;
    var controls = h("div", undefined, "gallery-controls"), grid = h("div", undefined, "grid"), pager = h("span");
    var select = h("select"), prev = h("button", "previous"), next = h("button", "next");
    select.id = "gallery-filter";
    var options = [["all", "all pictured samples"], ["kept", "kept"], ["dropped", "dropped"]];
    var reasons = {};
    entries.forEach(function (e) { if (e.stage !== 0) reasons[e.reason] = true; });
    Object.keys(reasons).sort().forEach(function (r) { options.push(["reason:" + r, "dropped: " + r]); });
    options.forEach(function (o) { var opt = h("option", o[1]); opt.value = o[0]; select.appendChild(opt); });
    [select, prev, pager, next].forEach(function (x) { controls.appendChild(x); });
    container.appendChild(controls); container.appendChild(grid);
    if (!entries.length) { grid.appendChild(h("p", "No samples pictured (report --gallery 0).", "note")); }
    function shown() {
      var f = galleryState.filter;
      return entries.filter(function (e) {
        return f === "all" || (f === "kept" && e.stage === 0) || (f === "dropped" && e.stage !== 0) ||
          f === "reason:" + e.reason;
      });
    }
    function redraw() {
      var list = shown(), pages = Math.max(1, Math.ceil(list.length / PAGE));
      galleryState.page = Math.min(galleryState.page, pages - 1);
      pager.textContent = " page " + (galleryState.page + 1) + " of " + pages + " (" + list.length + " pictures) ";
      grid.textContent = "";
      list.slice(galleryState.page * PAGE, (galleryState.page + 1) * PAGE).forEach(function (e) {
        var fig = h("figure", undefined, e.stage === 0 ? "kept" : "dropped"), img = h("img");
        img.src = e.file; img.alt = e.title; img.width = e.width; img.height = e.height;
        img.addEventListener("load", function () { img.setAttribute("data-loaded", "1"); });
        fig.appendChild(img);
        var cap = h("figcaption");
        cap.appendChild(h("strong", e.title));
        e.caption.forEach(function (line) { cap.appendChild(h("div", line)); });
        var row = rowOf(sampleIdx, e.sample), d = galleryState.decided;
        if (d && row !== undefined && (d.stage[row] !== e.stage || data.reasons[d.reason[row]] !== e.reason)) {
          cap.appendChild(h("div", "what-if: " + (d.stage[row] === 0 ? "kept" : "dropped, " + data.reasons[d.reason[row]]), "whatif"));
        }
        fig.appendChild(cap); grid.appendChild(fig);
      });
    }
    select.addEventListener("change", function () { galleryState.filter = select.value; galleryState.page = 0; redraw(); });
    prev.addEventListener("click", function () { galleryState.page = Math.max(0, galleryState.page - 1); redraw(); });
    next.addEventListener("click", function () { galleryState.page += 1; redraw(); });
    galleryState.redraw = redraw;
    redraw();
  }

  root.FurpeSections = { scores: scores, truth: truth, timings: timings, provenance: provenance,
    gallery: gallery, galleryOutcomes: galleryOutcomes };
})(this);
