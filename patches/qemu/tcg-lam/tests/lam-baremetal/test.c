/* Bare-metal checks of Intel LAM under QEMU TCG (CPL0, 4- or 5-level paging). */
#include <stdint.h>

#define NOFAULT (~0ULL)
volatile uint64_t fault_vec = NOFAULT, fault_err, fault_cr2, recover_rip, recover_rsp;
volatile uint64_t soft_int_count;
extern uint64_t pml4[], pml5[], pd[];
extern char stack_top[];

static inline void outb(uint16_t p, uint8_t v) { asm volatile("outb %0,%1" :: "a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { asm volatile("outl %0,%1" :: "a"(v), "Nd"(p)); }
static void putc_(char c) { if (c == '\n') outb(0x3f8, '\r'); outb(0x3f8, c); }
static void puts_(const char *s) { while (*s) putc_(*s++); }
static void puthex(uint64_t v) { puts_("0x"); for (int i = 60; i >= 0; i -= 4) putc_("0123456789abcdef"[(v >> i) & 15]); }
static void putdec(uint64_t v) { char b[24]; int i = 0; do { b[i++] = '0' + v % 10; v /= 10; } while (v); while (i) putc_(b[--i]); }

static int npass, nfail;
static void check(int ok, const char *what, uint64_t a, uint64_t b)
{
    if (ok) npass++; else nfail++;
    puts_(ok ? "ok     " : "FAIL   "); puts_(what);
    if (!ok) { puts_("  got "); puthex(a); puts_(" exp "); puthex(b); }
    putc_('\n');
}

void fatal_exception(void)
{
    puts_("FATAL unexpected exception vec="); putdec(fault_vec);
    puts_(" err="); puthex(fault_err); puts_(" cr2="); puthex(fault_cr2); putc_('\n');
    outl(0xf4, 0x7f);
    for (;;) asm volatile("hlt");
}

/* IDT / TSS */
struct idt_ent { uint16_t off0, sel; uint8_t ist, type; uint16_t off1; uint32_t off2, rsv; } __attribute__((packed));
static struct idt_ent idt[256] __attribute__((aligned(16)));
static uint8_t tss[104] __attribute__((aligned(16)));
static uint8_t ist_stack[16384] __attribute__((aligned(16)));
extern uint64_t gdt[];
static uint64_t gdt2[8] __attribute__((aligned(16)));
extern void exc0(void), exc1(void), exc2(void), exc3(void), exc4(void), exc5(void), exc6(void), exc7(void),
    exc8(void), exc9(void), exc10(void), exc11(void), exc12(void), exc13(void), exc14(void), exc15(void),
    exc16(void), exc17(void), exc18(void), exc19(void), soft_int(void);
static void (*excs[20])(void) = { exc0, exc1, exc2, exc3, exc4, exc5, exc6, exc7, exc8, exc9, exc10,
    exc11, exc12, exc13, exc14, exc15, exc16, exc17, exc18, exc19 };
static void set_gate(int n, void (*f)(void), int ist)
{
    uint64_t a = (uint64_t)f;
    idt[n] = (struct idt_ent){ a & 0xffff, 0x08, ist, 0x8e, (a >> 16) & 0xffff, a >> 32, 0 };
}
static void setup_idt(void)
{
    struct { uint16_t lim; uint64_t base; } __attribute__((packed)) d;
    for (int i = 0; i < 20; i++) set_gate(i, excs[i], 1);
    set_gate(0x80, soft_int, 0);
    /* TSS with IST1 so that faults taken with a bad RSP are still handled */
    *(uint64_t *)(tss + 0x24) = (uint64_t)(ist_stack + sizeof(ist_stack));
    gdt2[0] = 0; gdt2[1] = 0x00af9a000000ffffULL; gdt2[2] = 0x00cf92000000ffffULL;
    uint64_t b = (uint64_t)tss;
    gdt2[3] = 103 | ((b & 0xffffff) << 16) | (0x89ULL << 40) | (((b >> 24) & 0xff) << 56);
    gdt2[4] = b >> 32;
    d.lim = sizeof(gdt2) - 1; d.base = (uint64_t)gdt2;
    asm volatile("lgdt %0" :: "m"(d));
    asm volatile("ltr %w0" :: "r"(0x18));
    d.lim = sizeof(idt) - 1; d.base = (uint64_t)idt;
    asm volatile("lidt %0" :: "m"(d));
}

static uint64_t rd_cr3(void) { uint64_t v; asm volatile("mov %%cr3,%0" : "=r"(v)); return v; }
static uint64_t rd_cr4(void) { uint64_t v; asm volatile("mov %%cr4,%0" : "=r"(v)); return v; }
static void wr_cr3(uint64_t v) { asm volatile("mov %0,%%cr3" :: "r"(v) : "memory"); }
static void wr_cr4(uint64_t v) { asm volatile("mov %0,%%cr4" :: "r"(v) : "memory"); }

#define CR3_U57 (1ULL << 61)
#define CR3_U48 (1ULL << 62)
#define CR4_SUP (1ULL << 28)
static uint64_t cr3_base;
static void lam_cfg(uint64_t cr3bits, int sup)
{
    wr_cr3(cr3_base | cr3bits);
    wr_cr4(sup ? rd_cr4() | CR4_SUP : rd_cr4() & ~CR4_SUP);
}

/* Same code (and so the same TB) is run under every configuration. */
__attribute__((noinline)) static uint64_t load64(uint64_t addr, uint64_t *vec)
{
    uint64_t v = 0xbad0bad0bad0bad0ULL;
    fault_vec = NOFAULT;
    asm volatile("lea 1f(%%rip), %%rax\n\t"
                 "mov %%rax, recover_rip(%%rip)\n\t"
                 "movq (%1), %0\n\t"
                 "1:\n\t"
                 "movq $0, recover_rip(%%rip)\n\t"
                 : "+r"(v) : "r"(addr) : "rax", "memory");
    *vec = fault_vec;
    return v;
}
__attribute__((noinline)) static uint64_t store64(uint64_t addr, uint64_t val)
{
    fault_vec = NOFAULT;
    asm volatile("lea 1f(%%rip), %%rax\n\t"
                 "mov %%rax, recover_rip(%%rip)\n\t"
                 "movq %1, (%0)\n\t"
                 "1:\n\t"
                 "movq $0, recover_rip(%%rip)\n\t"
                 :: "r"(addr), "r"(val) : "rax", "memory");
    return fault_vec;
}
/* push/pop with RSP = tagged pointer (translator stack path) */
__attribute__((noinline)) static uint64_t pushpop(uint64_t rsp, uint64_t *vec)
{
    uint64_t v = 0;
    fault_vec = NOFAULT;
    asm volatile("lea 1f(%%rip), %%rax\n\t"
                 "mov %%rax, recover_rip(%%rip)\n\t"
                 "mov %%rsp, recover_rsp(%%rip)\n\t"
                 "mov %%rsp, %%r12\n\t"
                 "mov %1, %%rsp\n\t"
                 "pushq $0x5a5a\n\t"
                 "popq %0\n\t"
                 "mov %%r12, %%rsp\n\t"
                 "1:\n\t"
                 "movq $0, recover_rip(%%rip)\n\t"
                 "movq $0, recover_rsp(%%rip)\n\t"
                 : "+r"(v) : "r"(rsp) : "rax", "r12", "memory");
    *vec = fault_vec;
    return v;
}
/* int $0x80 / iretq with RSP = tagged pointer (helper pushq/popq path) */
__attribute__((noinline)) static uint64_t softint(uint64_t rsp)
{
    fault_vec = NOFAULT;
    asm volatile("lea 1f(%%rip), %%rax\n\t"
                 "mov %%rax, recover_rip(%%rip)\n\t"
                 "mov %%rsp, recover_rsp(%%rip)\n\t"
                 "mov %%rsp, %%r12\n\t"
                 "mov %0, %%rsp\n\t"
                 "int $0x80\n\t"
                 "mov %%r12, %%rsp\n\t"
                 "1:\n\t"
                 "movq $0, recover_rip(%%rip)\n\t"
                 "movq $0, recover_rsp(%%rip)\n\t"
                 :: "r"(rsp) : "rax", "r12", "memory");
    return fault_vec;
}
/* rep movsb through tagged pointers */
__attribute__((noinline)) static uint64_t repmovs(uint64_t dst, uint64_t src, uint64_t n)
{
    fault_vec = NOFAULT;
    asm volatile("lea 1f(%%rip), %%rax\n\t"
                 "mov %%rax, recover_rip(%%rip)\n\t"
                 "rep movsb\n\t"
                 "1:\n\t"
                 "movq $0, recover_rip(%%rip)\n\t"
                 : "+D"(dst), "+S"(src), "+c"(n) :: "rax", "memory");
    return fault_vec;
}
/* vpgatherqq with a vector of tagged pointers as indexes, base 0 */
__attribute__((noinline)) static uint64_t gather(const uint64_t idx[4], uint64_t out[4])
{
    fault_vec = NOFAULT;
    asm volatile("lea 1f(%%rip), %%rax\n\t"
                 "mov %%rax, recover_rip(%%rip)\n\t"
                 "vmovdqu (%0), %%ymm1\n\t"
                 "vpcmpeqq %%ymm2, %%ymm2, %%ymm2\n\t"
                 "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
                 "vpgatherqq %%ymm2, 0(,%%ymm1,1), %%ymm0\n\t"
                 "vmovdqu %%ymm0, (%1)\n\t"
                 "1:\n\t"
                 "movq $0, recover_rip(%%rip)\n\t"
                 :: "r"(idx), "r"(out) : "rax", "memory");
    return fault_vec;
}
/* LEA must not be masked */
__attribute__((noinline)) static uint64_t lea(uint64_t a)
{
    uint64_t r;
    asm volatile("lea 8(%1), %0" : "=r"(r) : "r"(a));
    return r;
}

static volatile uint64_t data[512] __attribute__((aligned(4096)));
#define HI(x) ((uint64_t)(x) + 0xffffffff80000000ULL)   /* supervisor alias */
static uint64_t tagu(uint64_t a, uint64_t tag, int lo) { return (a & ~(((1ULL << (63 - lo)) - 1) << lo)) | (tag << lo); }

static void expect_load(const char *what, uint64_t addr, int should_fault, uint64_t expval)
{
    uint64_t vec, v = load64(addr, &vec);
    if (should_fault == 2)      /* canonical but unmapped */
        check(vec == 14, what, vec, 14);
    else if (should_fault)
        check(vec == 13 || vec == 12, what, vec, 13);
    else
        check(vec == NOFAULT && v == expval, what, vec == NOFAULT ? v : vec, expval);
}

void main64(void)
{
    int la57;
    uint64_t vec, v;
    setup_idt();
    /* SSE/AVX for the gather test */
    wr_cr4(rd_cr4() | (1 << 9) | (1 << 10) | (1 << 18));
    asm volatile("xsetbv" :: "c"(0), "a"(7), "d"(0));
    cr3_base = rd_cr3();
    la57 = !!(rd_cr4() & (1 << 12));
    puts_(la57 ? "LAM bare-metal test, 5-level paging\n" : "LAM bare-metal test, 4-level paging\n");

    uint64_t a = (uint64_t)&data[3];
    data[3] = 0x1122334455667788ULL;
    uint64_t t57 = tagu(a, 0x2a, 57);             /* tag in 62:57 */
    uint64_t t48 = tagu(a, 0x2a5a, 48);           /* tag in 62:48 */
    uint64_t b56 = a | (1ULL << 56);              /* bit 56 set, user pointer */
    uint64_t b47 = a | (1ULL << 47);              /* bit 47 set, user pointer */
    uint64_t s = HI(a);                           /* canonical supervisor alias */
    uint64_t s57 = tagu(s, 0x55, 57) | (1ULL << 63);
    uint64_t s48 = tagu(s, 0x5a5a, 48) | (1ULL << 63);
    uint64_t sbad = (s & ~(1ULL << 47)) & ~(0x7fffULL << 48);  /* sup ptr, bit 47 = 0, tag 0 */

    puts_("-- LAM off\n");
    lam_cfg(0, 0);
    expect_load("untagged user load", a, 0, data[3]);
    expect_load("sup alias load", s, 0, data[3]);
    expect_load("U57-tagged user load -> #GP", t57, 1, 0);
    expect_load("S-tagged sup load -> #GP", s57, 1, 0);
    v = pushpop(t57 + 64, &vec);
    check(vec != NOFAULT, "push/pop with tagged RSP faults", vec, 13);
    check(softint(t57 + 256) != NOFAULT, "int/iretq with tagged RSP faults", 0, 0);

    puts_("-- CR3.LAM_U57\n");
    lam_cfg(CR3_U57, 0);
    expect_load("U57-tagged user load", t57, 0, data[3]);
    expect_load("untagged user load", a, 0, data[3]);
    expect_load("bit 56 set user load -> #GP", b56, 1, 0);
    if (la57)   /* bits 56:48 are address bits under 5-level paging */
        expect_load("tag in 56:48 user load -> #PF (canonical, unmapped)", t48, 2, 0);
    else
        expect_load("tag in 56:48 user load -> #GP", t48, 1, 0);
    expect_load("S-tagged sup load -> #GP (no LAM_SUP)", s57, 1, 0);
    expect_load("canonical sup load", s, 0, data[3]);
    check(store64(tagu(a, 0x3f, 57), 0xabcdef) == NOFAULT && data[3] == 0xabcdef, "U57-tagged store", data[3], 0xabcdef);
    data[3] = 0x1122334455667788ULL;
    v = pushpop(tagu((uint64_t)&data[100], 0x11, 57), &vec);
    check(vec == NOFAULT && v == 0x5a5a, "push/pop with U57-tagged RSP", vec == NOFAULT ? v : vec, 0x5a5a);
    uint64_t c0 = soft_int_count;
    check(softint(tagu((uint64_t)&data[200], 0x22, 57)) == NOFAULT && soft_int_count == c0 + 1,
          "int/iretq with U57-tagged RSP (helper stack)", soft_int_count - c0, 1);
    {
        static volatile char src[32] = "tagged rep movsb works", dst[32];
        check(repmovs(tagu((uint64_t)dst, 0x3e, 57), tagu((uint64_t)src, 0x01, 57), 23) == NOFAULT &&
              dst[0] == 't' && dst[21] == 's', "rep movsb via tagged pointers", dst[0], 't');
    }
    {
        uint64_t idx[4], out[4];
        data[10] = 10; data[11] = 11; data[12] = 12; data[13] = 13;
        for (int i = 0; i < 4; i++) idx[i] = tagu((uint64_t)&data[10 + i], 0x30 + i, 57);
        vec = gather(idx, out);
        check(vec == NOFAULT && out[0] == 10 && out[1] == 11 && out[2] == 12 && out[3] == 13,
              "vpgatherqq with tagged index vector", vec == NOFAULT ? out[2] : vec, 12);
    }
    check(lea(t57) == t57 + 8, "LEA keeps the tag", lea(t57), t57 + 8);

    puts_("-- CR3.LAM_U48\n");
    lam_cfg(CR3_U48, 0);
    expect_load("U48-tagged user load", t48, 0, data[3]);
    expect_load("U57-tagged user load", t57, 0, data[3]);
    expect_load("bit 47 set user load -> #GP", b47, 1, 0);

    puts_("-- CR3.LAM_U57|LAM_U48 (U57 wins)\n");
    lam_cfg(CR3_U57 | CR3_U48, 0);
    expect_load("U57-tagged user load", t57, 0, data[3]);
    if (la57)
        expect_load("tag in 56:48 -> #PF (canonical, unmapped)", t48, 2, 0);
    else
        expect_load("tag in 56:48 -> #GP", t48, 1, 0);

    puts_("-- back to LAM off (same TBs, new flags)\n");
    lam_cfg(0, 0);
    expect_load("U57-tagged user load -> #GP", t57, 1, 0);
    expect_load("untagged user load", a, 0, data[3]);

    puts_("-- CR4.LAM_SUP\n");
    lam_cfg(0, 1);
    expect_load("S57-tagged sup load", s57, 0, data[3]);
    if (la57) {
        expect_load("tag in 56:48 sup load -> #GP (LAM57 under LA57)", s48, 1, 0);
    } else {
        expect_load("S48-tagged sup load (LAM48 without LA57)", s48, 0, data[3]);
    }
    expect_load("sup ptr with bit 47/56 clear -> #GP", sbad, 1, 0);
    expect_load("U57-tagged user load -> #GP (no CR3.LAM_U*)", t57, 1, 0);
    expect_load("untagged user load", a, 0, data[3]);

    puts_("-- CR4.LAM_SUP + CR3.LAM_U57\n");
    lam_cfg(CR3_U57, 1);
    expect_load("S57-tagged sup load", s57, 0, data[3]);
    expect_load("U57-tagged user load", t57, 0, data[3]);
    expect_load("bit 56 set user load -> #GP", b56, 1, 0);
    if (!la57)
        expect_load("S48-tagged sup load", s48, 0, data[3]);

    puts_("-- CR4.LAM_SUP + CR3.LAM_U48\n");
    lam_cfg(CR3_U48, 1);
    expect_load("U48-tagged user load", t48, 0, data[3]);
    expect_load("S57-tagged sup load", s57, 0, data[3]);

    puts_("-- INVLPG is not masked\n");
    {
        /* VA 0x20000000 (2 MiB page, PD[256]) -> PA 0x20000000, later PA 0x20200000 */
        volatile uint64_t *p0 = (uint64_t *)0x20000000, *p1 = (uint64_t *)0x20200000;
        *p0 = 0xaaaa; *p1 = 0xbbbb;
        lam_cfg(CR3_U57, 0);
        v = load64(0x20000000, &vec);                     /* fill the TLB */
        pd[256] = 0x20200000 | 0x83;                      /* remap, no invalidation yet */
        asm volatile("invlpg (%0)" :: "r"(tagu(0x20000000, 0x15, 57)) : "memory");
        v = load64(0x20000000, &vec);
        check(v == 0xaaaa, "INVLPG with tagged address is a no-op (stale entry kept)", v, 0xaaaa);
        asm volatile("invlpg (%0)" :: "r"(0x20000000ULL) : "memory");
        v = load64(0x20000000, &vec);
        check(v == 0xbbbb, "INVLPG with untagged address flushes", v, 0xbbbb);
        pd[256] = 0x20000000 | 0x83;
        asm volatile("invlpg (%0)" :: "r"(0x20000000ULL) : "memory");
    }
    lam_cfg(0, 0);

    puts_("RESULT pass="); putdec(npass); puts_(" fail="); putdec(nfail); putc_('\n');
    outl(0xf4, nfail ? 1 : 0);   /* isa-debug-exit: QEMU exits with (v << 1) | 1 */
    for (;;) asm volatile("hlt");
}
