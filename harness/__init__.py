"""lam-harness: build, boot and test Linux kernel patches on LAM machines under QEMU."""

__version__ = "0.1.0"
