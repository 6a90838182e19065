// SIGTERM, SIGINT, SIGHUP and SIGQUIT for the whole run. The first one is the operator's request
// (during boot it interrupts, during supervise it starts the ordered shutdown); one that arrives
// while shutting down is acknowledged; a SIGTERM/SIGINT a second or more after the first forces a
// SIGKILL of everything. The only place bootseq listens to process signals.

import type { BootEvent } from '../events.js';
import type { Clock, SignalSource } from './types.js';

const HANDLED_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'] as const;

/**
 * `npm run` and `timeout` forward the signal the terminal already sent to the whole group, so a
 * repeat within this window is the same request, not an operator insisting.
 */
const DUPLICATE_MS = 1000;

export interface SignalHandlers {
  readonly source: SignalSource;
  readonly clock: Clock;
  readonly emit: (event: BootEvent) => void;
  isShuttingDown(): boolean;
  /** The operator's first signal outside shutdown. */
  onFirst(signal: NodeJS.Signals): void;
  /** A second SIGTERM/SIGINT during shutdown: kill what is left. */
  onForce(signal: NodeJS.Signals): void;
}

export function listenForSignals(handlers: SignalHandlers): { dispose(): void } {
  const { clock, emit } = handlers;
  let firstAtMs: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    const now = clock.now();
    if (firstAtMs === undefined) {
      firstAtMs = now;
      if (handlers.isShuttingDown()) {
        emit({
          event: 'note',
          level: 'info',
          text: `received ${signal} while shutting down; a second one kills what is left`,
        });
        return;
      }
      emit({ event: 'note', level: 'info', text: `received ${signal}` });
      handlers.onFirst(signal);
      return;
    }
    if ((signal === 'SIGTERM' || signal === 'SIGINT') && now - firstAtMs >= DUPLICATE_MS) {
      emit({
        event: 'note',
        level: 'warn',
        text: `second ${signal} during shutdown: killing every remaining process now (SIGKILL)`,
      });
      handlers.onForce(signal);
    }
  };
  for (const s of HANDLED_SIGNALS) handlers.source.on(s, onSignal);
  return {
    dispose() {
      for (const s of HANDLED_SIGNALS) handlers.source.off(s, onSignal);
    },
  };
}
