"""Keep TensorFlow's housekeeping messages off the user's console, without hiding real warnings.

`filter_native_stderr` (command-line entry points only) also drops the lines TensorFlow's C++
runtime writes straight to file descriptor 2.

The package builds and predicts with many small Keras models (domain encoders, the classifiers
of the utility gate); TensorFlow then logs "N out of the last M calls to <function ...>
triggered tf.function retracing" — advice for code that re-traces one function in a loop, which
says nothing to a user of this package. `quiet_tensorflow` drops exactly those records from the
``tensorflow`` logger and sets ``TF_CPP_MIN_LOG_LEVEL=2`` (C++ info and warnings) unless the user
set it; every other TensorFlow warning still shows.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import sys
import threading


class _DropRetracingAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


_FILTER = _DropRetracingAdvice()


#: Set (to anything but "" or "0") to see everything: TensorFlow's C++ and Python messages, and
#: the CLI's tracebacks (``gan-augment --verbose`` sets it).
DEBUG_ENV = "GAN_AUGMENT_DEBUG"


def debugging() -> bool:
    """Whether ``$GAN_AUGMENT_DEBUG`` asks for all output (nothing is filtered then)."""
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def quiet_tensorflow() -> None:
    """Idempotent; call before or after TensorFlow is imported. Does nothing under
    ``$GAN_AUGMENT_DEBUG``."""
    if debugging():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logger = logging.getLogger("tensorflow")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


def show_everything() -> None:
    """Undo `quiet_tensorflow` and turn ``$GAN_AUGMENT_DEBUG`` on (``gan-augment --verbose``;
    before TensorFlow is imported, so its C++ log level takes effect)."""
    os.environ[DEBUG_ENV] = "1"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
    logging.getLogger("tensorflow").removeFilter(_FILTER)


# ---------------------------------------------------------------------- native stderr (CLI only)
#: Lines TensorFlow's C++ runtime writes to file descriptor 2 on import and first use, whatever
#: ``TF_CPP_MIN_LOG_LEVEL`` says (TensorFlow 2.21 logs them before absl is initialised):
#: oneDNN and CPU-feature notes, "no CUDA driver" on CPU machines, and a Grappler remapper
#: message that does not change the results.
NATIVE_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\."
    r"|[IWE]\d{4} [\d:. ]+\d+ (port|cudart_stub|cuda_platform|cuda_executor|cuda_dnn|cuda_fft|cuda_blas"
    r"|cpu_feature_guard|gpu_device|meta_optimizer)\.cc:\d+\] )")

_pump: threading.Thread | None = None


def filter_native_stderr() -> None:
    """Route file descriptor 2 through a thread that drops `NATIVE_NOISE` lines and passes every
    other line on (Python's own stderr included; child processes inherit the filter). For
    command-line entry points only: a library must not take over its host's stderr. Idempotent;
    the rest is flushed at exit."""
    global _pump
    if _pump is not None or debugging():
        return
    try:
        sys.stderr.flush()
        read_end, write_end = os.pipe()
        original = os.dup(2)
        os.dup2(write_end, 2)
        os.close(write_end)
    except OSError:  # no usable fd 2 (embedded interpreters): leave stderr alone
        return

    def pump() -> None:
        with os.fdopen(read_end, "rb", buffering=0) as source, os.fdopen(original, "wb", buffering=0) as sink:
            pending = b""
            for chunk in iter(lambda: source.read(65536), b""):
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    if not NATIVE_NOISE.match(line.decode("utf-8", "replace")):
                        sink.write(line + b"\n")
            if pending and not NATIVE_NOISE.match(pending.decode("utf-8", "replace")):
                sink.write(pending)

    def restore() -> None:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(original_copy, 2)  # fd 2 back to the terminal: the pipe's last writer closes
        if _pump is not None:
            _pump.join(timeout=5)

    original_copy = os.dup(original)
    _pump = threading.Thread(target=pump, name="gan_augment-stderr-filter", daemon=True)
    _pump.start()
    atexit.register(restore)
