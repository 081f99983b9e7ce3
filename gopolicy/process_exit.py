"""Leave the process without running C++ static destructors.

llvmlite (0.50, LLVM 20) keeps every module numba compiled in one global
LLVMContext and destroys it from the C exit handlers, after Python has shut
down. After a session that JIT-compiled the kernels, that destructor sometimes
frees corrupted memory: a core dump of a crashed test run shows
``llvm::LLVMContext::~LLVMContext`` <- ``__run_exit_handlers`` aborting with
"free(): invalid next size"; CI saw "double free or corruption" and exit 134
after all tests had passed. All work is done by then, so we run Python's own
exit handlers (atexit, logging, multiprocessing), flush the standard streams and
end the process with ``os._exit``: same exit status, no crash.
"""
from __future__ import annotations

import atexit
import os
import sys


def exit_process(code: int) -> None:
    try:
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # a closed pipe must not change the exit status
                pass
        os._exit(int(code))
