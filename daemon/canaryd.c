/* canaryd.c: placeholder until the poll loop lands. */
int main(void) { return 0; }
