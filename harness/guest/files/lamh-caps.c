/* lamh-caps: what the guest itself says about LAM, read by lam-harness
 * before LAM tests run: the CPUID bit the vCPU offers and whether the guest
 * kernel enables LAM (arch_prctl(ARCH_GET_MAX_TAG_BITS) > 0). Passive: it
 * never enables LAM, since enabling it is itself a trigger on the kernels
 * under test (the LAM repro's race runs inside ARCH_ENABLE_TAGGED_ADDR).
 *
 * `lamh-caps enable` goes to the end of the chain, for a test to run: in a
 * child process, LAM_U57 enabled, the untag mask /proc/self/status then
 * shows, and one load through a tagged pointer. Exit 1 if any of it fails. */
#include <cpuid.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define ARCH_ENABLE_TAGGED_ADDR 0x4002
#define ARCH_GET_MAX_TAG_BITS 0x4003

static void lam_child(void)
{
	static volatile int cell = 42;
	char line[256];
	FILE *f;

	if (syscall(SYS_arch_prctl, ARCH_ENABLE_TAGGED_ADDR, 6UL) != 0) {
		printf("enable_errno=%d\n", errno);
		fflush(stdout);
		_exit(1);
	}
	f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "untag_mask:", 11) == 0)
			printf("untag_mask=%s", line + 11 + strspn(line + 11, " \t"));
	if (f)
		fclose(f);
	fflush(stdout);
	/* bits 62:57 set: faults (SIGSEGV) unless LAM_U57 really masks them */
	volatile int *p = (volatile int *)((uintptr_t)&cell | (0x3fUL << 57));
	printf("tagged_access=%d\n", *p == 42);
	fflush(stdout);
	if (*p != 42)
		_exit(1);
}

int main(int argc, char **argv)
{
	unsigned int a = 0, b = 0, c = 0, d = 0;
	unsigned long bits = 0;
	int cpuid_lam = 0, status = 0;
	long r;
	pid_t pid;

	if (__get_cpuid_max(0, 0) >= 7) {
		__cpuid_count(7, 1, a, b, c, d);
		cpuid_lam = (a >> 26) & 1;
	}
	r = syscall(SYS_arch_prctl, ARCH_GET_MAX_TAG_BITS, &bits);
	printf("cpuid_lam=%d\nmax_tag_bits=%lu\nprctl_errno=%d\n", cpuid_lam,
	       r == 0 ? bits : 0UL, r == 0 ? 0 : errno);
	fflush(stdout);
	if (argc < 2 || strcmp(argv[1], "enable") != 0)
		return 0;
	if (r != 0 || bits == 0) {
		printf("# LAM not enabled by this kernel: nothing to enable\n");
		return 1;
	}
	pid = fork();
	if (pid == 0) {
		lam_child();
		fflush(stdout);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 1;
	if (WIFSIGNALED(status)) {
		printf("tagged_access=0\ntagged_signal=%d\n", WTERMSIG(status));
		return 1;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
