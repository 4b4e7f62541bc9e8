/* furpe-label report: small SVG charts (no library): histograms with a threshold marker and
 * horizontal bars. Every function returns an SVG element built with createElementNS. */
(function (root) {
  "use strict";

  var NS = "http://www.w3.org/2000/svg";

  function el(name, attrs, text) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function fmt(value) {
    if (!isFinite(value)) return String(value);
    var a = Math.abs(value);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return value.toExponential(1);
    return String(Number(value.toPrecision(3)));
  }

  /** Bin edges: integers (width >= 1), linear or logarithmic between lo and hi. */
  function edges(lo, hi, bins, scale) {
    var out = [];
    for (var k = 0; k <= bins; k++) {
      var t = k / bins;
      out.push(scale === "log" ? Math.pow(10, Math.log10(lo) + t * (Math.log10(hi) - Math.log10(lo)))
        : lo + t * (hi - lo));
    }
    return out;
  }

  /** Counts per bin of each series; values outside [lo, hi] go to the first / last bin. */
  function counts(series, e, scale) {
    var n = e.length - 1, lo = e[0], hi = e[n];
    return series.map(function (values) {
      var c = new Array(n).fill(0);
      values.forEach(function (v) {
        if (!isFinite(v)) return;
        var t = scale === "log" ? (Math.log10(Math.max(v, lo)) - Math.log10(lo)) /
          (Math.log10(hi) - Math.log10(lo)) : (v - lo) / (hi - lo);
        c[Math.min(n - 1, Math.max(0, Math.floor(t * n)))] += 1;
      });
      return c;
    });
  }

  /**
   * Histogram of one or more series (stacked), threshold marked.
   * spec: {series: [[values]], colours: [css], names: [str], lo, hi, bins, scale ("lin"|"log"),
   *        threshold, thresholdLabel, keep(x) -> bool (bins failing the rule are faded), unit}
   */
  function histogram(spec) {
    var W = 440, H = 170, L = 44, B = 30, T = 10, R = 10;
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, "class": "chart", role: "img" });
    var e = edges(spec.lo, spec.hi, spec.bins, spec.scale);
    var c = counts(spec.series, e, spec.scale);
    var totals = c[0].map(function (_, k) { return c.reduce(function (s, x) { return s + x[k]; }, 0); });
    var top = Math.max(1, Math.max.apply(null, totals));
    var x = function (v) {
      var t = spec.scale === "log" ? (Math.log10(v) - Math.log10(spec.lo)) /
        (Math.log10(spec.hi) - Math.log10(spec.lo)) : (v - spec.lo) / (spec.hi - spec.lo);
      return L + Math.min(1, Math.max(0, t)) * (W - L - R);
    };
    var y = function (v) { return H - B - (v / top) * (H - B - T); };
    svg.appendChild(el("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, "class": "axis" }));
    for (var k = 0; k < spec.bins; k++) {
      var base = 0, mid = spec.scale === "log" ? Math.sqrt(e[k] * e[k + 1]) : (e[k] + e[k + 1]) / 2;
      var faded = spec.keep && !spec.keep(mid);
      c.forEach(function (bins, s) {
        if (!bins[k]) return;
        var rect = el("rect", { x: x(e[k]) + 0.5, width: Math.max(0.5, x(e[k + 1]) - x(e[k]) - 1),
          y: y(base + bins[k]), height: y(base) - y(base + bins[k]), fill: spec.colours[s],
          opacity: faded ? 0.35 : 1 });
        rect.appendChild(el("title", {}, spec.names[s] + ": " + bins[k] + " in [" + fmt(e[k]) +
          ", " + fmt(e[k + 1]) + ")"));
        svg.appendChild(rect);
        base += bins[k];
      });
    }
    [0, 0.5, 1].forEach(function (t) {
      var v = spec.scale === "log" ? Math.pow(10, Math.log10(spec.lo) + t * (Math.log10(spec.hi) -
        Math.log10(spec.lo))) : spec.lo + t * (spec.hi - spec.lo);
      svg.appendChild(el("text", { x: x(v), y: H - B + 14, "class": "tick",
        "text-anchor": t === 0 ? "start" : (t === 1 ? "end" : "middle") }, fmt(v)));
    });
    svg.appendChild(el("text", { x: L - 4, y: T + 8, "class": "tick", "text-anchor": "end" },
      String(top)));
    svg.appendChild(el("text", { x: (L + W - R) / 2, y: H - 2, "class": "tick",
      "text-anchor": "middle" }, spec.unit || ""));
    if (spec.threshold !== undefined && isFinite(spec.threshold)) {
      var tx = x(spec.threshold);
      svg.appendChild(el("line", { x1: tx, y1: T - 4, x2: tx, y2: H - B, "class": "threshold" }));
      svg.appendChild(el("text", { x: tx + (tx > W / 2 ? -4 : 4), y: T + 6, "class": "threshold-label",
        "text-anchor": tx > W / 2 ? "end" : "start" }, spec.thresholdLabel || fmt(spec.threshold)));
    }
    return svg;
  }

  /**
   * Horizontal bars. rows: [{label, value, ghost (optional second value, drawn as an outline),
   * text (right-hand label)}], colour: css.
   */
  function bars(rows, colour) {
    var W = 760, rowH = 24, L = 200, R = 250;
    var H = rows.length * rowH + 6;
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, "class": "chart bars", role: "img" });
    var top = Math.max(1e-12, Math.max.apply(null, rows.map(function (r) {
      return Math.max(r.value, r.ghost === undefined ? 0 : r.ghost);
    })));
    rows.forEach(function (r, k) {
      var y = 4 + k * rowH, w = function (v) { return (v / top) * (W - L - R); };
      svg.appendChild(el("text", { x: L - 6, y: y + 15, "class": "label", "text-anchor": "end" },
        r.label));
      svg.appendChild(el("rect", { x: L, y: y + 2, width: Math.max(0, w(r.value)), height: rowH - 8,
        fill: colour, "class": "bar" }));
      if (r.ghost !== undefined && r.ghost !== r.value) {
        svg.appendChild(el("rect", { x: L, y: y + 2, width: Math.max(0, w(r.ghost)), height: rowH - 8,
          "class": "ghost" }));
      }
      svg.appendChild(el("text", { x: L + w(Math.max(r.value, r.ghost || 0)) + 6, y: y + 15,
        "class": "value" }, r.text));
    });
    return svg;
  }

  /**
   * Precision / recall curve on [0, 1] x [0, 1]. spec: {points: [{recall, precision, label}],
   * marks: [{recall, precision, label, colour}], target (precision line, optional)}.
   */
  function curve(spec) {
    var W = 440, H = 220, L = 44, B = 30, T = 10, R = 10;
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, "class": "chart", role: "img" });
    var x = function (v) { return L + v * (W - L - R); };
    var y = function (v) { return H - B - v * (H - B - T); };
    svg.appendChild(el("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, "class": "axis" }));
    svg.appendChild(el("line", { x1: L, y1: T, x2: L, y2: H - B, "class": "axis" }));
    [0, 0.5, 1].forEach(function (t) {
      svg.appendChild(el("text", { x: x(t), y: H - B + 14, "class": "tick", "text-anchor": "middle" }, fmt(t)));
      svg.appendChild(el("text", { x: L - 4, y: y(t) + 4, "class": "tick", "text-anchor": "end" }, fmt(t)));
    });
    svg.appendChild(el("text", { x: (L + W - R) / 2, y: H - 2, "class": "tick", "text-anchor": "middle" },
      "recall (x) / precision (y)"));
    if (spec.target !== undefined && isFinite(spec.target)) {
      svg.appendChild(el("line", { x1: L, y1: y(spec.target), x2: W - R, y2: y(spec.target), "class": "threshold" }));
    }
    var path = spec.points.map(function (p, k) { return (k ? "L" : "M") + x(p.recall) + "," + y(p.precision); });
    svg.appendChild(el("path", { d: path.join(" "), fill: "none", stroke: "#3b7dd8", "stroke-width": 1.5 }));
    spec.points.forEach(function (p) {
      var dot = el("circle", { cx: x(p.recall), cy: y(p.precision), r: 2, fill: "#3b7dd8" });
      dot.appendChild(el("title", {}, p.label));
      svg.appendChild(dot);
    });
    spec.marks.forEach(function (m) {
      var dot = el("circle", { cx: x(m.recall), cy: y(m.precision), r: 5, fill: m.colour, "class": "mark" });
      dot.appendChild(el("title", {}, m.label));
      svg.appendChild(dot);
    });
    return svg;
  }

  root.FurpeCharts = { histogram: histogram, bars: bars, curve: curve, fmt: fmt };
})(this);
