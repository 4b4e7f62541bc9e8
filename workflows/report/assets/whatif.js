/* furpe-label report: the selection's keep rules, re-decided in the browser.
 *
 * A line-by-line replica of furpe_label.selection.decisions.decide + combine as
 * furpe_label.workflows.audit.recompute calls them (tests/workflows/report/test_report_whatif.py
 * runs this file with node and compares every row's decision with recompute()):
 *   before step 1: the stored input / detection outcome (pre_stage, pre_reason);
 *   step 1: n_confident_kp >= min_count;
 *   step 2 per part (step2_validity.part_status): not scored -> not_scored; an expert-stage
 *     reason; non-finite output; out of range (body: betas_max_abs > limit or rotation_error >
 *     tolerance; hand: hand_max_abs >= limit); hand: n_visible_kp <= hand_min_keypoints; a bad
 *     body drops the row at the experts stage. The range scores are float32 arrays and numpy
 *     compares a float32 array with a Python float in float32, so limits go through Math.fround;
 *   step 3 (step3_reprojection.overall_reprojection + reprojection_status): the mean squared
 *     distance over the parts valid after step 2, sum_p n_p * mse_p / sum_p n_p in float64 with
 *     numpy's summation order; > max_mse -> reprojection_error, NaN -> unverifiable;
 *   signals (selection.signal_rules.signal_status, SIGNAL_RULES below, equal to Python's
 *     registry: tests/workflows/report/test_report_signals.py): on the rows step 3 kept, each
 *     rule that is on (threshold not null) fires on a part when its score is > (above) or <
 *     (below) the threshold, compared in float64 (NaN never fires); the first rule that fires
 *     names the part's reason; a body reason drops the row (stage signals), a face / hand
 *     reason suppresses that part.
 *   temporal (selection/temporal.py temporal_status, after the signals): temporal_accel_rad >
 *     Math.fround(max_temporal_accel) -> temporal_spike (a null score or a null limit keeps the row).
 * Columns are the typed arrays of columns.js (payload.py's stored dtypes), so float32 scores
 * compare bit-exact.
 */
(function (root) {
  "use strict";

  var STAGE = { KEPT: 0, INPUT: 1, KEYPOINTS: 2, EXPERTS: 3, FUSION: 4, REPROJECTION: 5, SIGNALS: 6,
    TEMPORAL: 7 };
  /* selection.signal_rules.SIGNAL_RULES (SignalRule.to_json), in order. */
  var SIGNAL_RULES = [
    { field: "max_wrist_disagreement_rad", direction: "above", effect: "suppress",
      reason: "wrist_disagreement", columns: [null, null, "wrist_disagreement_rad_left_hand", "wrist_disagreement_rad_right_hand"] },
    { field: "max_wrist_twist_rad", direction: "above", effect: "suppress",
      reason: "wrist_disagreement", columns: [null, null, "wrist_twist_rad_left_hand", "wrist_twist_rad_right_hand"] },
    { field: "min_hands_swap_ratio", direction: "below", effect: "suppress",
      reason: "hands_swapped", columns: [null, null, "hands_swap_ratio", "hands_swap_ratio"] },
    { field: "min_limbs_swap_ratio", direction: "below", effect: "drop",
      reason: "limbs_swapped", columns: ["limbs_swap_ratio", null, null, null] },
    { field: "max_limbs_swap_gain", direction: "above", effect: "drop",
      reason: "limbs_swapped", columns: ["limbs_swap_gain", null, null, null] },
    { field: "max_arms_swap_bone_gain", direction: "above", effect: "drop",
      reason: "limbs_swapped", columns: ["arms_swap_bone_gain", null, null, null] },
    { field: "max_arms_swap_hand_gain_rad", direction: "above", effect: "drop",
      reason: "limbs_swapped", columns: ["arms_swap_hand_gain_rad", null, null, null] },
    { field: "max_legs_swap_llr", direction: "above", effect: "drop",
      reason: "limbs_swapped", columns: ["legs_swap_llr", null, null, null] },
    { field: "max_pose_limit_excess_rad", direction: "above", effect: "drop",
      reason: "implausible_pose", columns: ["pose_limit_excess_rad", null, null, null] },
    { field: "max_betas_norm", direction: "above", effect: "drop",
      reason: "implausible_shape", columns: ["betas_norm", null, null, null] },
    { field: "max_head_disagreement_rad", direction: "above", effect: "drop",
      reason: "experts_disagree", columns: ["head_disagreement_rad", null, null, null] },
    { field: "max_crop_outside_fraction", direction: "above", effect: "suppress",
      reason: "crop_truncated", columns: ["crop_outside_fraction_body", "crop_outside_fraction_face", "crop_outside_fraction_left_hand", "crop_outside_fraction_right_hand"] },
    { field: "min_crop_inside_fraction", direction: "below", effect: "suppress",
      reason: "crop_misses_keypoints", columns: ["crop_inside_fraction_body", "crop_inside_fraction_face", "crop_inside_fraction_left_hand", "crop_inside_fraction_right_hand"] },
    { field: "max_body_agreement_mm", direction: "above", effect: "drop",
      reason: "fit_disagreement", columns: ["agreement_body_mm", null, null, null] },
    { field: "max_face_agreement_mm", direction: "above", effect: "suppress",
      reason: "fit_disagreement", columns: [null, "agreement_face_mm", null, null] },
    { field: "max_hand_agreement_mm", direction: "above", effect: "suppress",
      reason: "fit_disagreement", columns: [null, null, "agreement_left_hand_mm", "agreement_right_hand_mm"] }
  ];
  var PARTS = ["body", "face", "left_hand", "right_hand"];

  function reasonCodes(reasons) {
    var code = {};
    reasons.forEach(function (value, index) { code[value] = index; });
    return code;
  }

  /** The per-part columns of one frame, looked up once (the loops index plain arrays). */
  function partColumns(cols, frame) {
    function each(prefix) { return PARTS.map(function (part) { return cols[prefix + part]; }); }
    return {
      expert: each("expert_reason_"), nonFinite: each("non_finite_"), count: each("reproj_n_kp_"),
      mse: each("reproj_mse_" + frame + "_"),
      handMax: [null, null, cols.hand_max_abs_left_hand, cols.hand_max_abs_right_hand],
      visible: [null, null, cols.n_visible_kp_left_hand, cols.n_visible_kp_right_hand]
    };
  }

  /** overall_reprojection of row i over the parts in okBits: float64, parts summed left to
   * right as numpy's row sums; NaN when no keypoint is compared. */
  function overall(parts, i, okBits) {
    var total = 0, weighted = 0;
    for (var p = 0; p < 4; p++) {
      var count = ((okBits >> p) & 1) ? parts.count[p][i] : 0;
      total += count;
      weighted += count > 0 ? count * parts.mse[p][i] : 0;
    }
    return total > 0 ? weighted / total : NaN;
  }

  /** overall for one row of the decoded columns (frame "norm" or "px"). */
  function overallMse(cols, i, okBits, frame) { return overall(partColumns(cols, frame), i, okBits); }

  /** The rules that are on under config, their columns looked up once:
   * [{above, threshold, reason (code), columns: [4 arrays or null]}]. */
  function activeRules(cols, R, config) {
    return SIGNAL_RULES.filter(function (rule) {
      var t = config[rule.field];
      return t !== null && t !== undefined;
    }).map(function (rule) {
      return {
        above: rule.direction === "above", threshold: Number(config[rule.field]), reason: R[rule.reason],
        columns: rule.columns.map(function (name) {
          if (name === null) return null;
          if (!cols[name]) throw new Error("the payload lacks signal column " + name);
          return cols[name];
        })
      };
    });
  }

  /** Signal status of row i: writes 4 reason codes (ok where no rule fires) into out[4 i..]. */
  function signalStatus(rules, i, ok, out) {
    for (var p = 0; p < 4; p++) out[4 * i + p] = ok;
    for (var r = 0; r < rules.length; r++) {
      var rule = rules[r];
      for (var q = 0; q < 4; q++) {
        var column = rule.columns[q];
        if (column === null || out[4 * i + q] !== ok) continue;
        var v = column[i];
        if (rule.above ? v > rule.threshold : v < rule.threshold) out[4 * i + q] = rule.reason;
      }
    }
  }

  /**
   * Decide every row under config (SelectionConfig field names: min_count, hand_max_abs,
   * betas_max_abs, rotation_tolerance, hand_min_keypoints, max_mse, mse_frame,
   * max_temporal_accel).
   * Returns {stage: Int8Array (Stage value, 0 kept), reason: Int16Array (index into reasons),
   * partValid: Uint8Array (bit p: part p labelled; 0 for dropped rows), status: Int16Array
   * (4 n: step 2 status per row and part, -1 where the row never reached step 2), mse:
   * Float64Array (the overall step 3 value in the config's frame for rows that reach step 3,
   * else NaN), signal: Int16Array (4 n: signal status per row and part, -1 where the row
   * never passed step 3)}. The signal fields of config (SIGNAL_RULES) are null when off.
   */
  function decide(cols, reasons, config) {
    var R = reasonCodes(reasons), parts = partColumns(cols, config.mse_frame);
    var n = cols.sample_idx.length;
    var stage = new Int8Array(n), reason = new Int16Array(n), partValid = new Uint8Array(n);
    var mseOut = new Float64Array(n).fill(NaN), status = new Int16Array(4 * n).fill(-1);
    var betasLimit = Math.fround(config.betas_max_abs);
    var rotationLimit = Math.fround(config.rotation_tolerance);
    var handLimit = Math.fround(config.hand_max_abs);
    var minCount = config.min_count, minVisible = config.hand_min_keypoints;
    var maxMse = config.max_mse;
    var temporalLimit = config.max_temporal_accel === null || config.max_temporal_accel === undefined
      ? Infinity : Math.fround(config.max_temporal_accel);
    var rules = activeRules(cols, R, config), signal = new Int16Array(4 * n).fill(-1);
    for (var i = 0; i < n; i++) {
      if (cols.pre_stage[i] !== STAGE.KEPT) {
        stage[i] = cols.pre_stage[i];
        reason[i] = cols.pre_reason[i];
        continue;
      }
      if (!(cols.n_confident_kp[i] >= minCount)) {
        stage[i] = STAGE.KEYPOINTS;
        reason[i] = R.few_confident_keypoints;
        continue;
      }
      var scored2 = cols.step2_scored[i] !== 0, okBits = 0, body = R.ok;
      for (var p = 0; p < 4; p++) {
        var upstream = parts.expert[p][i], s = R.ok, bad;
        if (p === 0) {
          bad = cols.betas_max_abs[i] > betasLimit || cols.rotation_error[i] > rotationLimit;
        } else {
          bad = p >= 2 && parts.handMax[p][i] >= handLimit;
        }
        if (!scored2) s = R.not_scored;
        else if (upstream !== R.ok) s = upstream;
        else if (parts.nonFinite[p][i] !== 0) s = R.non_finite_output;
        else if (bad) s = R.parameters_out_of_range;
        else if (p >= 2 && parts.visible[p][i] <= minVisible) s = R.hand_invisible;
        if (p === 0) body = s;
        status[4 * i + p] = s;
        if (s === R.ok) okBits |= 1 << p;
      }
      if (body !== R.ok) {
        stage[i] = STAGE.EXPERTS;
        reason[i] = body;
        continue;
      }
      var mse = overall(parts, i, okBits);
      mseOut[i] = mse;
      var s3 = R.ok;
      if (mse > maxMse) s3 = R.reprojection_error;
      if (isNaN(mse)) s3 = R.reprojection_unverifiable;
      if (cols.step3_scored[i] === 0) s3 = R.not_scored;
      if (s3 !== R.ok) {
        stage[i] = STAGE.REPROJECTION;
        reason[i] = s3;
        continue;
      }
      signalStatus(rules, i, R.ok, signal);
      if (signal[4 * i] !== R.ok) {
        stage[i] = STAGE.SIGNALS;
        reason[i] = signal[4 * i];
        continue;
      }
      if (cols.temporal_accel_rad[i] > temporalLimit) { // the temporal rule (video tracks)
        stage[i] = STAGE.TEMPORAL;
        reason[i] = R.temporal_spike;
        continue;
      }
      for (var q = 1; q < 4; q++) if (signal[4 * i + q] !== R.ok) okBits &= ~(1 << q);
      partValid[i] = okBits;
    }
    return {
      stage: stage, reason: reason, partValid: partValid, status: status, mse: mseOut, signal: signal
    };
  }

  var api = {
    STAGE: STAGE, PARTS: PARTS, SIGNAL_RULES: SIGNAL_RULES,
    decide: decide, overallMse: overallMse
  };
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.FurpeWhatIf = api;
})(this);
