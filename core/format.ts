// Durations in words, the one way each: how long something took (`elapsed`) and a configured duration
// as bootseq.yml writes it (`configDuration`). Used by the log, status and the phases' notes alike so
// that one wait reads the same wherever it is shown.

/** How long something took or has waited: `850 ms`, `1.4 s`, `42 s`, `119 s`, `3m 20s`, `3m`, `2h 5m`. */
export function elapsed(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const [big, small, units] =
    s < 3600
      ? [Math.floor(s / 60), s % 60, ['m', 's']]
      : [Math.floor(s / 3600), Math.floor((s % 3600) / 60), ['h', 'm']];
  return small === 0 ? `${big}${units[0]}` : `${big}${units[0]} ${small}${units[1]}`;
}

/** A configured duration as bootseq.yml would write it: `10m`, `90s`, `500ms`. */
export function configDuration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
