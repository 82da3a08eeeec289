/**
 * The flags node runs the worker with. Without a heap limit V8 sizes the old generation from the
 * machine's memory and, while collecting is cheap, lets it grow to about four times what is live
 * before a full collection. The audit projector keeps each batch across database round trips, so
 * its events are promoted and then die old: on a 1,000,000-event backlog the projector's process
 * peaked at about 210 MB of RSS with 26 MB live. With a limit V8 grows the heap by a smaller factor
 * and collects sooner: about 130 MB, for about 6 % more CPU (bench/README.md, force close). 512 MB
 * is about ten times the worker's live heap: a bound on a runaway, not on the worker's work.
 */
export const WORKER_NODE_ARGS: readonly string[] = ['--max-old-space-size=512'];
