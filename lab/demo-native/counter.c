/* demo-native: a tiny C service for the native (gdb) attach path. It counts in a global
 * variable a debugger can read after restore, and sleeps between ticks. */
#include <stdio.h>
#include <unistd.h>

volatile unsigned long tick_count = 0;
char last_message[64] = "not started";

static void tick(void) {
	tick_count++;
	snprintf(last_message, sizeof last_message, "tick %lu", tick_count);
}

int main(void) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("demo-native started\n");
	for (;;) {
		tick();
		sleep(1);
	}
}
