# Names vulture reports as unused although something outside the package's own code uses them.
# Read by tests/workflows/test_dead_code.py (never imported or run: ``_`` stands for "any
# object", as in vulture's own whitelists). Each entry names why it is used; the test fails
# when an entry no longer names anything in the package, so the list cannot go stale.

# Called by the interpreter or a library, never by name in this code
_.__getattr__  # pipeline/__init__.py: PEP 562 lazy exports, called by `from ... import`
_.find_class  # experts/safe_load/unpickler.py: pickle.Unpickler's hook, called by load()
_.external_attr  # experts/bodymodels/synthetic/writers.py: ZipInfo field read by zipfile
_.base_name  # experts/detectors/openpifpaf_detector.py: class attribute openpifpaf reads
_.setup  # pipeline/worker_threads.py: the WorkerPlugin hook distributed calls on each worker
_.synth_models  # workflows/cli.py: the `synth-models` click command, registered by decorator

# selection/config.py: the signal rules' thresholds, read by name through
# getattr(config, rule.field) (selection/signal_rules.py SIGNAL_RULES)
_.max_wrist_disagreement_rad
_.max_wrist_twist_rad
_.min_hands_swap_ratio
_.min_limbs_swap_ratio
_.max_limbs_swap_gain
_.max_arms_swap_bone_gain
_.max_arms_swap_hand_gain_rad
_.max_legs_swap_llr
_.max_pose_limit_excess_rad
_.max_betas_norm
_.max_head_disagreement_rad
_.max_crop_outside_fraction
_.min_crop_inside_fraction
_.max_body_agreement_mm
_.max_face_agreement_mm
_.max_hand_agreement_mm

# Left to the helper that reshapes this code in issue 12 (drop the entry when it is gone)
