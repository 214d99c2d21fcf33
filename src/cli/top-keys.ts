import type { JobState } from '../com/enums.js';
import { sanitize } from './top-screen.js';

/**
 * What a key does in `rx-bits top`: a pure state machine, so the confirmation flow is tested
 * without a terminal. The keys (also in the footer and the README):
 *
 *   Up/Down, k/j     move            PgUp/PgDn, Home/End (g/G)  move further
 *   s                suspend         r  resume
 *   c                cancel, after a y/n question (the files are deleted)
 *   x                complete: at once for a transferred job; otherwise after a y/n question, since
 *                    completing early keeps only the files that arrived. `x` rather than `C`, one
 *                    shift away from cancel.
 *   q, Ctrl-C        quit            Ctrl-L  redraw
 */

/** A key as `readline.emitKeypressEvents` reports it. */
export interface Key {
  readonly name?: string | undefined;
  readonly sequence?: string | undefined;
  readonly ctrl?: boolean | undefined;
  readonly shift?: boolean | undefined;
  readonly meta?: boolean | undefined;
}

export type JobAction = 'suspend' | 'resume' | 'cancel' | 'complete';

/** The selected job, as far as the keys need it. */
export interface SelectedJob {
  readonly id: string;
  readonly name: string;
  readonly state: JobState | undefined;
}

export type KeyMode =
  | { readonly kind: 'browse' }
  /** A question is on the status line, about this job (whatever row is selected meanwhile). */
  | { readonly kind: 'confirm'; readonly action: 'cancel' | 'complete'; readonly job: SelectedJob };

export type KeyCommand =
  | { readonly kind: 'move'; readonly by: number }
  | { readonly kind: 'moveTo'; readonly to: 'first' | 'last' }
  | { readonly kind: 'act'; readonly action: JobAction; readonly job: SelectedJob }
  | { readonly kind: 'redraw' }
  | { readonly kind: 'quit' };

export interface KeyOutcome {
  readonly mode: KeyMode;
  readonly command?: KeyCommand;
  /** New text for the status line; undefined leaves it as it is. */
  readonly status?: string;
}

export const BROWSE: KeyMode = { kind: 'browse' };

function named(job: SelectedJob): string {
  return `"${sanitize(job.name)}" (${job.id.slice(0, 8)})`;
}

function isQuit(key: Key): boolean {
  return key.ctrl === true && key.name === 'c';
}

/** The question asked before an action that cannot be undone. */
export function question(action: 'cancel' | 'complete', job: SelectedJob): string {
  return action === 'cancel'
    ? `Cancel ${named(job)}? Its downloaded data is deleted. y/n`
    : `Complete ${named(job)} now? It is ${job.state ?? 'not transferred'}: only the files that arrived are kept. y/n`;
}

/**
 * The outcome of one key: the next mode, a command for top.ts to carry out, and the status line.
 * `page` is how many rows a page key moves.
 */
export function onKey(mode: KeyMode, key: Key, selected: SelectedJob | undefined, page: number): KeyOutcome {
  if (isQuit(key)) return { mode: BROWSE, command: { kind: 'quit' } };
  if (mode.kind === 'confirm') {
    if (key.name === 'y' || key.sequence === 'y' || key.sequence === 'Y') {
      return { mode: BROWSE, command: { kind: 'act', action: mode.action, job: mode.job }, status: `${mode.action === 'cancel' ? 'cancelling' : 'completing'} ${named(mode.job)}...` };
    }
    // Anything else is a no: an action that cannot be undone is never taken by a stray key.
    return { mode: BROWSE, status: `${mode.action === 'cancel' ? 'not cancelled' : 'not completed'}: ${named(mode.job)}` };
  }
  if (key.ctrl === true && key.name === 'l') return { mode, command: { kind: 'redraw' } };
  if (key.ctrl === true || key.meta === true) return { mode };
  switch (key.sequence === 'G' ? 'G' : key.name) {
    case 'q':
      return { mode, command: { kind: 'quit' } };
    case 'up':
    case 'k':
      return { mode, command: { kind: 'move', by: -1 } };
    case 'down':
    case 'j':
      return { mode, command: { kind: 'move', by: 1 } };
    case 'pageup':
      return { mode, command: { kind: 'move', by: -Math.max(1, page) } };
    case 'pagedown':
      return { mode, command: { kind: 'move', by: Math.max(1, page) } };
    case 'home':
    case 'g':
      return { mode, command: { kind: 'moveTo', to: 'first' } };
    case 'end':
    case 'G':
      return { mode, command: { kind: 'moveTo', to: 'last' } };
  }
  const action = key.sequence === 's' ? 'suspend' : key.sequence === 'r' ? 'resume' : key.sequence === 'c' ? 'cancel' : key.sequence === 'x' ? 'complete' : undefined;
  if (action === undefined) return { mode };
  if (selected === undefined) return { mode, status: 'no job selected' };
  if (action === 'suspend' || action === 'resume') return { mode, command: { kind: 'act', action, job: selected }, status: `${action === 'suspend' ? 'suspending' : 'resuming'} ${named(selected)}...` };
  // Completing a transferred job is what it is for: no question.
  if (action === 'complete' && selected.state === 'transferred') {
    return { mode, command: { kind: 'act', action, job: selected }, status: `completing ${named(selected)}...` };
  }
  return { mode: { kind: 'confirm', action, job: selected }, status: question(action, selected) };
}
