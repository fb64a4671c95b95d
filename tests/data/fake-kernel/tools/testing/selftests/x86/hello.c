#include <stdio.h>
int main(void) { printf("ok 1 hello\n"); return 0; }
