// Versions (docs/sync.md, issue 28 item 2): every change carries a hybrid logical clock (HLC) stamp,
// (hlc_ms, hlc_counter), made by the capture trigger's tick (capture.ts) from the later of the wall
// clock and every stamp the node has made or seen, so that a write made after seeing a version always
// carries a greater one whatever the wall clock says. Versions are compared as numbers: the stamp, then
// the node id to break a tie; in a prefer_main table a change made on main first. It is a total order
// that every node computes alike from the two versions alone, and each node keeps the greatest version
// of every row it has seen, so the nodes converge whatever the order files arrive in, repeated or late.

/** 9999-12-31T23:59:59.999Z: the greatest time ISO-8601 writes with four digits. */
export const MAX_MS = 253_402_300_799_999;

export interface Version {
  readonly hlcMs: number;
  readonly hlcCounter: number;
  readonly node: string;
  /** Made on the node this node knows as main (its own config, or the header of a file from main). */
  readonly fromMain: boolean;
}

/** > 0 when `a` wins over `b`, < 0 when `b` wins, 0 for the same version. */
export function compareVersions(a: Version, b: Version, preferMain: boolean): number {
  if (preferMain && a.fromMain !== b.fromMain) return a.fromMain ? 1 : -1;
  if (a.hlcMs !== b.hlcMs) return a.hlcMs - b.hlcMs;
  if (a.hlcCounter !== b.hlcCounter) return a.hlcCounter - b.hlcCounter;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

/** `2 h 5 min`, `7,973 years`: how far a clock is ahead, for the import line. */
export function describeAhead(ms: number): string {
  const minutes = ms / 60_000;
  if (minutes < 120) return `${Math.round(minutes)} min`;
  const hours = minutes / 60;
  if (hours < 72) return `${Math.round(hours)} h`;
  const days = hours / 24;
  if (days < 730) return `${Math.round(days)} days`;
  return `${Math.round(days / 365.25).toLocaleString('en')} years`;
}
