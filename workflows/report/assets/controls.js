/* furpe-label report: the what-if controls. One slider (plus an exact number box) per keep
 * threshold of `furpe-label audit --what-if`, the step 3 frame as a choice, and per signal
 * rule beyond FuRPE (signals.*) an on/off box and its threshold; the URL hash
 * (#step3.max_mse=0.05&step1.min_count=20&signals.max_betas_norm=off) sets them on load
 * through the same input events a hand fires, and follows every change. */
(function (root) {
  "use strict";

  var MANTISSAS = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9];
  var SPECS = {
    "step1.min_count": { kind: "int", lo: 0, hi: 137, help: "keep when confident keypoints >= this" },
    "step2.hand_min_keypoints": { kind: "int", lo: 0, hi: 21,
      help: "hand usable when MORE than this many of its keypoints are confident" },
    "step2.hand_max_abs": { kind: "grid", lo: 5, hi: 630, div: 100,
      help: "hand usable when every finger axis-angle |x| < this (rad)" },
    "step2.betas_max_abs": { kind: "grid", lo: 1, hi: 100, div: 10,
      help: "sample kept when every body shape |beta| <= this" },
    "step2.rotation_tolerance": { kind: "log", lo: -8, hi: 0,
      help: "sample kept when the body rotations are rotations within this" },
    "step3.max_mse": { kind: "log", lo: -4, hi: 2, loPx: -1, hiPx: 6,
      help: "sample kept when the mean squared reprojection distance <= this" },
    "temporal.max_temporal_accel": { kind: "grid", lo: 1, hi: 100, div: 10,
      help: "video: sample kept when its body rotations' angular acceleration along its track <= this (rad/frame^2)" }
  };

  function ladder(key, frame) {
    var spec = SPECS[key], out = [], k, d;
    if (spec.kind === "int") for (k = spec.lo; k <= spec.hi; k++) out.push(k);
    if (spec.kind === "grid") for (k = spec.lo; k <= spec.hi; k++) out.push(k / spec.div);
    if (spec.kind === "log") {
      var lo = frame === "px" && spec.loPx !== undefined ? spec.loPx : spec.lo;
      var hi = frame === "px" && spec.hiPx !== undefined ? spec.hiPx : spec.hi;
      for (d = lo; d < hi; d++) MANTISSAS.forEach(function (m) { out.push(parseFloat(m + "e" + d)); });
      out.push(parseFloat("1e" + hi));
    }
    return out;
  }

  function withValue(values, value) {
    if (values.indexOf(value) < 0) values = values.concat([value]).sort(function (a, b) { return a - b; });
    return values;
  }

  function valid(key, value) {
    if (SPECS[key].kind === "int") return Number.isInteger(value) && value >= 0;
    return isFinite(value) && value > 0;
  }

  /**
   * Build the controls into `container`. keys: WHAT_IF_KEYS (key -> SelectionConfig field);
   * base: the run's config; onChange(config) after every change. Returns {config, reset}.
   */
  function build(container, keys, base, onChange) {
    var config = Object.assign({}, base), rows = {};
    function emit() { onChange(Object.assign({}, config)); }

    Object.keys(SPECS).forEach(function (key) {
      if (!keys[key]) return;
      var field = keys[key], row = document.createElement("div");
      row.className = "control";
      row.innerHTML = "<label><code></code><span class='help'></span></label>" +
        "<input type='range' min='0' step='1'><input type='number' step='any'>";
      row.querySelector("code").textContent = key;
      row.querySelector(".help").textContent = SPECS[key].help;
      var slider = row.querySelector("input[type=range]"), box = row.querySelector("input[type=number]");
      slider.id = "slider-" + key.replace(".", "-");
      slider.setAttribute("data-key", key);
      box.setAttribute("data-key", key);
      var state = { values: [] };
      function place(value) {
        state.values = withValue(ladder(key, config.mse_frame), value);
        slider.max = String(state.values.length - 1);
        slider.value = String(state.values.indexOf(value));
        box.value = String(value);
        row.classList.toggle("changed", value !== base[field]);
      }
      slider.addEventListener("input", function () {
        config[field] = state.values[Number(slider.value)];
        box.value = String(config[field]);
        row.classList.toggle("changed", config[field] !== base[field]);
        emit();
      });
      box.addEventListener("change", function () {
        var value = Number(box.value);
        box.classList.toggle("invalid", !valid(key, value));
        if (!valid(key, value)) return;
        config[field] = value;
        place(value);
        emit();
      });
      rows[key] = { place: place, slider: slider, box: box, field: field,
        values: function () { return state.values; } };
      container.appendChild(row);
      place(config[field]);
    });

    if (keys["step3.mse_frame"]) {
      var row = document.createElement("div");
      row.className = "control";
      row.innerHTML = "<label><code>step3.mse_frame</code><span class='help'>frame of the step 3 " +
        "distance: body crop normalised to [-1, 1] (norm) or image pixels (px)</span></label>" +
        "<select id='select-step3-mse_frame'><option>norm</option><option>px</option></select>";
      var select = row.querySelector("select");
      select.value = config.mse_frame;
      select.addEventListener("change", function () {
        config.mse_frame = select.value;
        row.classList.toggle("changed", config.mse_frame !== base.mse_frame);
        if (rows["step3.max_mse"]) rows["step3.max_mse"].place(config.max_mse);
        emit();
      });
      rows["step3.mse_frame"] = { select: select };
      container.appendChild(row);
    }

    Object.keys(keys).forEach(function (key) {
      if (key.indexOf("signals.") !== 0) return;
      var field = keys[key], row = document.createElement("div");
      row.className = "control";
      row.innerHTML = "<label><code></code><span class='help'>rule beyond FuRPE: on / off and its " +
        "threshold (selection.signal_rules)</span></label><input type='checkbox'>" +
        "<input type='number' step='any' min='0'>";
      row.querySelector("code").textContent = key;
      var check = row.querySelector("input[type=checkbox]"), box = row.querySelector("input[type=number]");
      check.id = "toggle-" + key.replace(".", "-");
      box.setAttribute("data-key", key);
      var last = base[field] === null ? 1 : base[field];
      function show() {
        check.checked = config[field] !== null;
        box.disabled = config[field] === null;
        box.value = String(config[field] === null ? last : config[field]);
        row.classList.toggle("changed", config[field] !== base[field]);
      }
      check.addEventListener("change", function () {
        config[field] = check.checked ? last : null;
        show();
        emit();
      });
      box.addEventListener("change", function () {
        var value = Number(box.value);
        box.classList.toggle("invalid", !(isFinite(value) && value >= 0));
        if (!(isFinite(value) && value >= 0)) return;
        last = config[field] = value;
        show();
        emit();
      });
      rows[key] = { field: field, signal: function (text) {
        var off = ["off", "none", "null"].indexOf(String(text).toLowerCase()) >= 0;
        var value = Number(text);
        if (!off && !(isFinite(value) && value >= 0)) {
          throw new Error("what-if " + key + "=" + text + " is not a valid value");
        }
        if (!off) last = value;
        config[field] = off ? null : value;
        show();
        emit();
      } };
      container.appendChild(row);
      show();
    });

    /** Set one key as a hand would: move its slider to the value (added to the slider's
     * steps if missing) and fire the slider's input event. */
    function set(key, text) {
      if (!rows[key]) throw new Error("what-if key " + key + " is not one of " + Object.keys(rows).join(", "));
      var row = rows[key];
      if (row.signal) {
        row.signal(text);
        return;
      }
      if (row.select) {
        row.select.value = text;
        row.select.dispatchEvent(new Event("change"));
        return;
      }
      var value = Number(text);
      if (!valid(key, value)) throw new Error("what-if " + key + "=" + text + " is not a valid value");
      row.place(value);
      row.slider.value = String(row.values().indexOf(value));
      row.slider.dispatchEvent(new Event("input"));
    }

    function fromHash(hash) {
      var params = new URLSearchParams(hash.replace(/^#/, ""));
      params.forEach(function (value, key) {
        if (key.indexOf("step") === 0 || key.indexOf("signals.") === 0) set(key, value);
      });
    }

    function changed() {
      return Object.keys(keys).filter(function (key) {
        return config[keys[key]] !== base[keys[key]];
      });
    }

    function reset() {
      Object.keys(rows).forEach(function (key) {
        set(key, String(base[rows[key].field || "mse_frame"]));
      });
    }
    return { config: function () { return Object.assign({}, config); }, fromHash: fromHash,
      changed: changed, reset: reset, slider: function (key) { return rows[key] && rows[key].slider; } };
  }

  /** `furpe-label audit OUT --what-if K=V ...` for the changed keys (shell-quoted OUT). */
  function command(out, keys, changedKeys, config) {
    var quoted = "'" + String(out).replace(/'/g, "'\\''") + "'";
    var parts = ["furpe-label audit", quoted];
    changedKeys.forEach(function (key) {
      var value = config[keys[key]];
      parts.push("--what-if " + key + "=" + (value === null ? "off" : String(value)));
    });
    return parts.join(" ");
  }

  root.FurpeControls = { build: build, command: command, ladder: ladder };
})(this);
