int main(void) { return 0; }
/* line 2 */
/* line 3 */
