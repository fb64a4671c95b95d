/* Bare-metal checks of Intel LAM under QEMU TCG; see run.sh and ../../README.md. */
/* Minimal multiboot (a.out kludge) test kernel: enters long mode with
 * 4-level (or 5-level with -DLA57) paging, identity map of the first 1 GiB
 * plus the same 1 GiB at 0xffffffff80000000, then calls main64(). */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00010000
    .section .text.boot, "ax"
    .code32
    .globl _start
    .align 4
mb_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)
    .long mb_header
    .long __load_start
    .long __load_end
    .long __bss_end
    .long _start
_start:
    cli
    mov $stack_top, %esp
    /* PD: 512 x 2 MiB, identity */
    mov $pd, %edi
    xor %eax, %eax
    mov $0x83, %eax          /* P|RW|PS */
    xor %ecx, %ecx
1:  mov %eax, (%edi,%ecx,8)
    movl $0, 4(%edi,%ecx,8)
    add $0x200000, %eax
    inc %ecx
    cmp $512, %ecx
    jne 1b
    /* pdpt_lo[0] = pd ; pdpt_hi[510] = pd */
    mov $pd, %eax
    or $3, %eax
    mov %eax, pdpt_lo
    mov %eax, pdpt_hi + 510*8
    /* pml4[0] = pdpt_lo ; pml4[511] = pdpt_hi */
    mov $pdpt_lo, %eax
    or $3, %eax
    mov %eax, pml4
    mov $pdpt_hi, %eax
    or $3, %eax
    mov %eax, pml4 + 511*8
#ifdef LA57
    mov $pml4, %eax
    or $3, %eax
    mov %eax, pml5
    mov %eax, pml5 + 511*8
    mov $pml5, %eax
#else
    mov $pml4, %eax
#endif
    mov %eax, %cr3
    mov %cr4, %eax
    or $0x20, %eax           /* PAE */
#ifdef LA57
    or $0x1000, %eax         /* LA57 */
#endif
    mov %eax, %cr4
    mov $0xC0000080, %ecx
    rdmsr
    or $0x100, %eax          /* LME */
    wrmsr
    mov %cr0, %eax
    or $0x80000001, %eax
    mov %eax, %cr0
    lgdt gdt_desc
    ljmp $0x08, $long_entry

    .code64
long_entry:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %ax, %fs
    mov %ax, %gs
    mov $stack_top, %rsp
    call main64
2:  hlt
    jmp 2b

/* Exception stubs: record vector/error code/CR2, resume at recover_rip. */
    .macro EXC_NOERR n
    .globl exc\n
exc\n:
    pushq $0
    pushq $\n
    jmp exc_common
    .endm
    .macro EXC_ERR n
    .globl exc\n
exc\n:
    pushq $\n
    jmp exc_common
    .endm
    EXC_NOERR 0
    EXC_NOERR 1
    EXC_NOERR 2
    EXC_NOERR 3
    EXC_NOERR 4
    EXC_NOERR 5
    EXC_NOERR 6
    EXC_NOERR 7
    EXC_ERR 8
    EXC_NOERR 9
    EXC_ERR 10
    EXC_ERR 11
    EXC_ERR 12
    EXC_ERR 13
    EXC_ERR 14
    EXC_NOERR 15
    EXC_NOERR 16
    EXC_ERR 17
    EXC_NOERR 18
    EXC_NOERR 19
/* vector 0x80: software interrupt that just returns (tests frame push/pop) */
    .globl soft_int
soft_int:
    incq soft_int_count(%rip)
    iretq
exc_common:
    /* stack: vec, err, rip, cs, rflags, rsp, ss */
    push %rax
    mov 8(%rsp), %rax
    mov %rax, fault_vec(%rip)
    mov 16(%rsp), %rax
    mov %rax, fault_err(%rip)
    mov %cr2, %rax
    mov %rax, fault_cr2(%rip)
    mov recover_rip(%rip), %rax
    test %rax, %rax
    jz fatal
    mov %rax, 24(%rsp)       /* new RIP */
    movq $0, recover_rip(%rip)
    mov recover_rsp(%rip), %rax
    test %rax, %rax
    jz 3f
    mov %rax, 48(%rsp)       /* new RSP */
3:  pop %rax
    add $16, %rsp
    iretq
fatal:
    pop %rax
    call fatal_exception
4:  hlt
    jmp 4b

    .section .data
    .align 16
gdt:
    .quad 0
    .quad 0x00af9a000000ffff   /* 64-bit code */
    .quad 0x00cf92000000ffff   /* data */
gdt_desc:
    .word gdt_desc - gdt - 1
    .long gdt

    .section .bss
    .align 4096
    .globl pml5, pml4, pdpt_lo, pdpt_hi, pd
pml5:   .skip 4096
pml4:   .skip 4096
pdpt_lo: .skip 4096
pdpt_hi: .skip 4096
pd:     .skip 4096
    .skip 65536
stack_top:
