/* lamh-caps: what the guest itself says about LAM, read by lam-harness
 * before LAM tests run: the CPUID bit the vCPU offers and whether the guest
 * kernel enables LAM (arch_prctl(ARCH_GET_MAX_TAG_BITS) > 0). */
#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARCH_GET_MAX_TAG_BITS 0x4003

int main(void)
{
	unsigned int a = 0, b = 0, c = 0, d = 0;
	unsigned long bits = 0;
	int cpuid_lam = 0;
	long r;

	if (__get_cpuid_max(0, 0) >= 7) {
		__cpuid_count(7, 1, a, b, c, d);
		cpuid_lam = (a >> 26) & 1;
	}
	r = syscall(SYS_arch_prctl, ARCH_GET_MAX_TAG_BITS, &bits);
	printf("cpuid_lam=%d\nmax_tag_bits=%lu\nprctl_errno=%d\n", cpuid_lam,
	       r == 0 ? bits : 0UL, r == 0 ? 0 : errno);
	return 0;
}
