#!/bin/sh
# Build the bare-metal LAM test kernel (4- and 5-level paging variants) and run
# it under QEMU TCG.  Usage: run.sh [path/to/qemu-system-x86_64]
# Prints one line per check and "RESULT pass=N fail=M"; exits 0 when all pass.
set -e
QEMU=${1:-qemu-system-x86_64}
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
CF="-O2 -ffreestanding -fno-pic -fno-pie -mno-red-zone -fno-stack-protector -nostdlib -mgeneral-regs-only -Wall"
gcc $CF -c "$here/test.c" -o "$out/test.o"
rc=0
for lvl in 4 5; do
    def=; [ $lvl = 5 ] && def=-DLA57
    gcc $def -c "$here/boot.S" -o "$out/boot$lvl.o"
    ld -n -T "$here/link.ld" -no-pie -z noexecstack --no-warn-rwx-segments \
        -o "$out/t$lvl.elf" "$out/boot$lvl.o" "$out/test.o"
    objcopy -O binary "$out/t$lvl.elf" "$out/t$lvl.bin"
    # isa-debug-exit: QEMU exits with 1 when all checks pass, 3 otherwise
    set +e
    timeout 120 "$QEMU" -accel tcg -cpu max,+lam -m 1G -display none -nodefaults \
        -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 -no-reboot \
        -kernel "$out/t$lvl.bin"
    st=$?
    set -e
    [ $st = 1 ] || rc=1
done
exit $rc
