"""The fake kbuild: config targets and a 'bzImage' that embeds the sources."""
import sys
from pathlib import Path

cmd = sys.argv[1]
if cmd == "base":
    cfg = Path(sys.argv[2])
    mitig = "y" if sys.argv[3] == "defconfig" else "n"
    cfg.write_text(f"CONFIG_X86_64=y\nCONFIG_CPU_MITIGATIONS={mitig}\n" if mitig == "y" else
                   "CONFIG_X86_64=y\n# CONFIG_CPU_MITIGATIONS is not set\n")
elif cmd == "olddefconfig":
    cfg = Path(sys.argv[2])
    vals = {}
    for line in cfg.read_text().splitlines():
        if line.startswith("CONFIG_"):
            k, v = line.split("=", 1)
            vals[k[7:]] = v
        elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
            vals[line[9:-11]] = "n"
    if vals.get("ADDRESS_MASKING") == "y" and vals.get("CPU_MITIGATIONS") == "y":
        vals["ADDRESS_MASKING"] = "n"  # the real Kconfig's "depends on" at work
    vals.setdefault("BUG", "y")
    cfg.write_text("".join(f"# CONFIG_{k} is not set\n" if v == "n" else f"CONFIG_{k}={v}\n"
                           for k, v in sorted(vals.items())))
elif cmd == "bzimage":
    src, out = Path(sys.argv[2]), Path(sys.argv[3])
    (out / "arch/x86/boot/bzImage").write_bytes((src / "init/main.c").read_bytes()
                                                + (out / ".config").read_bytes())
    (out / "vmlinux").write_bytes(b"ELF")
    (out / "System.map").write_text("ffffffff81000000 T _text\n")
    (out / "include/config/kernel.release").write_text("6.12.0-fake\n")
