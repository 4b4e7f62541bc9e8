"""The run's console and log files, piece by piece: plain progress lines where no terminal is
(a SLURM log), phase lines, and the capture that sends Python records, library prints and C++
lines (written to file descriptor 2 directly, as MediaPipe's glog does) to ``OUT/logs/``."""

from __future__ import annotations

import io
import logging
import os
import warnings

from furpe_label.pipeline.progress import LineBar, Progress
from furpe_label.pipeline.run_logging import (
    DRIVER_LOG,
    WorkerLogs,
    capture_driver_logs,
    worker_log_name,
)


class _FakeClock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_at_every_tenth_and_never_a_carriage_return():
    stream, clock = io.StringIO(), _FakeClock()
    bar = LineBar(stream, total=100, desc="labelling", unit="samples", clock=clock)
    for _ in range(100):
        clock.now += 0.1  # 10 s in all: no line is due to time
        bar.update(1)
    bar.note("kept 50.0 %")
    bar.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10 and "\r" not in stream.getvalue()
    assert lines[0].startswith("labelling: 10/100 samples (10 %)")
    assert lines[-1].startswith("labelling: 100/100 samples (100 %), 10.00 samples/s")


def test_plain_lines_every_30_seconds_between_tenths_and_the_end_once():
    stream, clock = io.StringIO(), _FakeClock()
    bar = LineBar(stream, total=1000, desc="labelling", unit="samples", clock=clock)
    bar.note("kept 20.0 %")
    for _ in range(3):
        clock.now += 31.0
        bar.update(1)  # far below the next tenth: lines because of time only
    clock.now += 1.0
    bar.update(1)  # neither a tenth nor 30 s: no line
    bar.close()  # the end was not written yet: one more line
    bar.close()  # and only once
    lines = stream.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "labelling: 1/1000 samples",
        "labelling: 2/1000 samples",
        "labelling: 3/1000 samples",
        "labelling: 4/1000 samples",
    ]
    assert lines[0].endswith("kept 20.0 %")


def test_progress_draws_plain_lines_off_a_terminal_and_logs_every_phase(caplog):
    stream = io.StringIO()
    progress = Progress(stream)
    assert not progress.interactive
    with caplog.at_level(logging.INFO, logger="furpe_label"):
        progress.phase("manifest: 3 person instances from 2 images")
    bar = progress.bar(2, desc="finding people", unit="images")
    assert isinstance(bar, LineBar)
    bar.update(2)
    bar.close()
    assert stream.getvalue().splitlines()[0] == "manifest: 3 person instances from 2 images"
    assert stream.getvalue().splitlines()[1].startswith("finding people: 2/2 images (100 %)")
    assert "manifest: 3 person instances" in caplog.text
    silent = Progress(None)
    silent.bar(5, desc="x", unit="y").update(5)  # no stream: nothing to write to, no error
    assert not silent.interactive


def _library_noise(tag: str) -> None:
    """What libraries do during a run: C++ writes to fd 2, print, logging, warnings."""
    os.write(2, f"W0000 {tag} inference_feedback_manager.cc:114] glog line\n".encode())
    os.write(1, f"{tag} C stdout line\n".encode())
    print(f"WARNING: {tag} printed by a library")
    logging.getLogger("furpe_label.experts.fake").warning("%s library record", tag)
    logging.getLogger("distributed.scheduler").info("%s scheduler record", tag)
    warnings.warn(f"{tag} library warning", UserWarning, stacklevel=1)


def test_driver_capture_keeps_library_output_off_the_console(tmp_path, capfd):
    logs = tmp_path / "logs"
    with capture_driver_logs(logs) as console:
        _library_noise("driver")
        console.out.write("manifest: 1 person instance\n")
        console.err.write("SYNTHETIC banner\n")
    os.write(2, b"after the run\n")  # the descriptors are back
    out, err = capfd.readouterr()
    assert out == "manifest: 1 person instance\n"
    assert err == "SYNTHETIC banner\nafter the run\n"
    text = (logs / DRIVER_LOG).read_text()
    for line in (
        "W0000 driver",
        "driver C stdout line",
        "WARNING: driver printed",
        "furpe_label.experts.fake: driver library record",
        "distributed.scheduler: driver scheduler record",
        "driver library warning",
    ):
        assert line in text, line
    assert "after the run" not in text


def test_verbose_driver_capture_shows_the_records_on_the_console_too(tmp_path, capfd):
    logs = tmp_path / "logs"
    with capture_driver_logs(logs, verbose=1) as console:
        logging.getLogger("furpe_label.experts.fake").info("shown record")
        os.write(2, b"W0000 verbose glog line\n")
        print("printed by a library")
        console.out.write("phase\n")
    out, err = capfd.readouterr()
    assert out == "phase\n"
    assert "INFO furpe_label.experts.fake: shown record" in err
    assert "W0000 verbose glog line" in err and "printed by a library" in err
    text = (logs / DRIVER_LOG).read_text()
    assert "shown record" in text and "W0000 verbose glog line" in text
    assert "printed by a library" in text


def test_worker_capture_writes_the_worker_file_and_restores_after_the_last_task(tmp_path, capfd):
    logs = WorkerLogs(str(tmp_path / "logs"), driver_pid=-1)  # this process plays a worker
    with logs.captured():
        with logs.captured():  # a second task of the same process shares the capture
            _library_noise("task")
        os.write(2, b"W0000 still inside\n")
    os.write(2, b"worker console again\n")
    out, err = capfd.readouterr()
    assert out == "" and err == "worker console again\n"
    text = (tmp_path / "logs" / worker_log_name()).read_text()
    assert "W0000 task" in text and "W0000 still inside" in text
    assert "furpe_label.experts.fake: task library record" in text


def test_tasks_in_the_driver_process_keep_the_driver_capture(tmp_path):
    logs = WorkerLogs(str(tmp_path / "logs"), driver_pid=os.getpid())
    assert logs.wrap(lambda shard: shard + 1)(41) == 42
    assert not (tmp_path / "logs").exists()


def test_summary_table_and_the_synthetic_banner_once(tmp_path):
    from furpe_label.experts.bodymodels.synthetic.family import write_synthetic_family
    from furpe_label.pipeline.config import RunConfig
    from furpe_label.pipeline.driver import RunSummary
    from furpe_label.pipeline.run_logging import ConsoleStreams
    from furpe_label.storage.stats import ShardStats
    from furpe_label.workflows.console import RunConsole

    out, err = io.StringIO(), io.StringIO()
    console = RunConsole(ConsoleStreams(out, err), Progress(out), tmp_path / "logs")
    stats = ShardStats(samples=5, kept=2, drops={"keypoints": {"no_person_in_box": 3}})
    models = write_synthetic_family(tmp_path / "models", seed=0).out_dir
    config = RunConfig(dataset="samples", models=str(models))
    assert config.synthetic_labels and RunConfig(dataset="samples").synthetic_labels
    assert not RunConfig(dataset="samples", models=str(tmp_path / "logs")).synthetic_labels
    summary = RunSummary(
        tmp_path,
        stats,
        shards=2,
        skipped=1,
        failed={1: "OSError: disk"},
        synthetic=config.synthetic_labels,
        seconds=12.4,
    )
    console.summary(summary)
    lines = out.getvalue().splitlines()
    assert lines[0] == (
        "done in 12 s: 5 person instances in 2 shard(s) (1 already complete), kept 2 (40.0 %)"
    )
    assert lines[1].split() == ["dropped", "at", "keypoints", "no_person_in_box", "3"]
    assert lines[2] == f"labels in {tmp_path}, logs in {tmp_path / 'logs'}"
    assert err.getvalue().count("SYNTHETIC BODY MODELS") == 1
    assert "shard 1 FAILED: OSError: disk" in err.getvalue()
