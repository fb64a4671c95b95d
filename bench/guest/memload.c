// memload: a memory-heavy loop for bench/tcg_lam.py, with LAM off or on.
//   memload MODE MIB PASSES
// MODE 0: LAM not enabled, plain pointers.
// MODE 1: LAM_U57 enabled (ARCH_ENABLE_TAGGED_ADDR, 6), plain pointers.
// MODE 2: LAM_U57 enabled, every access through a pointer with bits 62:57 set.
// Reads and writes every 8-byte word of a MIB-MiB buffer PASSES times and
// prints the checksum (so the loop cannot be optimized away).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARCH_ENABLE_TAGGED_ADDR 0x4002

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: memload MODE MIB PASSES\n");
		return 2;
	}
	int mode = atoi(argv[1]);
	size_t words = (size_t)atol(argv[2]) << 17;
	int passes = atoi(argv[3]);
	if (mode > 0 && syscall(SYS_arch_prctl, ARCH_ENABLE_TAGGED_ADDR, 6UL) != 0) {
		perror("ARCH_ENABLE_TAGGED_ADDR");
		return 4;
	}
	uint64_t *buf = malloc(words * sizeof(uint64_t));
	if (!buf)
		return 3;
	volatile uint64_t *p = buf;
	if (mode == 2)
		p = (volatile uint64_t *)((uintptr_t)buf | (0x2aUL << 57));
	uint64_t sum = 0;
	for (size_t i = 0; i < words; i++)
		p[i] = i;
	for (int k = 0; k < passes; k++)
		for (size_t i = 0; i < words; i++) {
			sum += p[i];
			p[i] = sum;
		}
	printf("%llu\n", (unsigned long long)sum);
	return 0;
}
