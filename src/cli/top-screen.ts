import type { JobProgress } from '../com/job.js';
import type { JobState } from '../com/enums.js';
import { formatHresult } from '../com/hresult.js';

/**
 * What `rx-bits top` draws, as plain text: pure functions of the rows and the terminal's size, so
 * they are tested without a terminal. top.ts adds the escape sequences (reverse video for the
 * selected line, cursor positioning) around the lines made here.
 */

/** The last error a job reported. */
export interface TopError {
  readonly hresult: number;
  readonly code: string | undefined;
  readonly description: string;
  readonly transient: boolean;
}

/** One job as the screen shows it. */
export interface TopRow {
  readonly id: string;
  readonly name: string;
  /** Every user's jobs (`--all-users`): who owns it. */
  readonly owner?: string | undefined;
  /** Undefined until the service first answered. */
  readonly state: JobState | undefined;
  readonly progress: JobProgress | undefined;
  /** Bytes per second; undefined when unknown or not transferring. */
  readonly rate: number | undefined;
  /** Seconds left; undefined when unknown. */
  readonly eta: number | undefined;
  readonly error: TopError | undefined;
}

export interface TopView {
  /** The backend's name, for the title. */
  readonly backend: string;
  readonly allUsers: boolean;
  readonly rows: readonly TopRow[];
  /** Index in `rows` of the selected one (ignored when there are none). */
  readonly selected: number;
  /** Index of the first row shown, as the previous frame had it: the view scrolls only as far as it must. */
  readonly offset: number;
  /** A question or the outcome of the last action, on the line above the keys. */
  readonly status: string | undefined;
}

export interface TopFrame {
  /** At most `height` lines, none wider than `width` cells. */
  readonly lines: string[];
  /** The first row shown: pass it back as the next view's `offset`. */
  readonly offset: number;
  /** Which of `lines` is the selected row, to be highlighted. */
  readonly highlight: number | undefined;
}

export const KEY_HELP = 'Up/Down j/k move  s suspend  r resume  c cancel  x complete  q quit';

/** Lines above the rows (title, column heads) and below them (details, status, keys). */
const HEAD_LINES = 2;
const FOOT_LINES = 3;

/** Control characters (C0, DEL, C1) a job name could carry to the terminal: shown as '?', never sent. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

export function sanitize(text: string): string {
  return text.replace(CONTROL, '?');
}

/** Terminal cells a code point takes: 0 for combining marks, 2 for wide East Asian characters and emoji. */
function cells(codePoint: number, char: string): number {
  if (/\p{Mn}|\p{Me}|\u200b|\u200d/u.test(char)) return 0;
  if (
    (codePoint >= 0x1100 && codePoint <= 0x115f) ||
    (codePoint >= 0x2e80 && codePoint <= 0xa4cf && codePoint !== 0x303f) ||
    (codePoint >= 0xac00 && codePoint <= 0xd7a3) ||
    (codePoint >= 0xf900 && codePoint <= 0xfaff) ||
    (codePoint >= 0xfe30 && codePoint <= 0xfe4f) ||
    (codePoint >= 0xff00 && codePoint <= 0xff60) ||
    (codePoint >= 0xffe0 && codePoint <= 0xffe6) ||
    (codePoint >= 0x1f300 && codePoint <= 0x1faff) ||
    (codePoint >= 0x20000 && codePoint <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

/** How many terminal cells `text` takes. */
export function textWidth(text: string): number {
  let width = 0;
  for (const char of text) width += cells(char.codePointAt(0)!, char);
  return width;
}

/** `text` cut to at most `width` cells; a cut text ends with '~' so that the cut shows. */
export function fit(text: string, width: number): string {
  if (width <= 0) return '';
  if (textWidth(text) <= width) return text;
  let out = '';
  let used = 0;
  for (const char of text) {
    const w = cells(char.codePointAt(0)!, char);
    if (used + w > width - 1) break;
    out += char;
    used += w;
  }
  return `${out}~`;
}

/** `text` cut or padded with spaces to exactly `width` cells. */
export function cell(text: string, width: number): string {
  const cut = fit(text, width);
  return cut + ' '.repeat(Math.max(0, width - textWidth(cut)));
}

/** Bytes in at most 5 characters: `512B`, `9.8K`, `99.9M`, `1023G`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes}B`;
  const units = ['K', 'M', 'G', 'T', 'P'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  // 1023.95 would round up to "1024.0": keep to whole numbers from 100 on.
  return value < 99.95 ? `${value.toFixed(1)}${units[unit]}` : `${Math.min(Math.round(value), 1023)}${units[unit]}`;
}

/** Seconds as `45s`, `12m03s`, `2h05m`, `3d04h`; `-` when unknown. */
export function formatEta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '-';
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  const days = Math.floor(s / 86_400);
  return days > 99 ? '>99d' : `${days}d${String(Math.floor((s % 86_400) / 3600)).padStart(2, '0')}h`;
}

/** Progress as a fraction, or undefined while the total is unknown. */
export function ratioOf(progress: JobProgress | undefined): number | undefined {
  if (progress === undefined) return undefined;
  if (progress.bytesTotal !== undefined && progress.bytesTotal > 0) return Math.min(1, progress.bytesTransferred / progress.bytesTotal);
  if (progress.bytesTotal === 0 && progress.filesTotal > 0) return progress.filesTransferred / progress.filesTotal;
  return undefined;
}

/** `[####......]`, `inner` characters between the brackets; dots only while the total is unknown. */
export function progressBar(ratio: number | undefined, inner: number): string {
  const filled = ratio === undefined ? 0 : Math.max(0, Math.min(inner, Math.floor(ratio * inner)));
  return `[${'#'.repeat(filled)}${'.'.repeat(inner - filled)}]`;
}

/** A job's error as one short word: its name (`BG_E_HTTP_ERROR_404`), else its HRESULT. */
export function errorLabel(error: TopError | undefined): string {
  if (error === undefined) return '';
  return error.code ?? formatHresult(error.hresult);
}

interface Layout {
  readonly barInner: number;
  readonly errorWidth: number;
}

/** Fixed columns: marker 2, id 8+1, state 14+1, percent 4+1, bytes 11+1, rate 7+1, ETA 6+1. */
const FIXED = 2 + 9 + 15 + 5 + 12 + 8 + 7;
const NAME_ROOM = 20;

function layout(rows: readonly TopRow[], width: number): Layout {
  const errorWidth = rows.reduce((widest, row) => Math.max(widest, textWidth(errorLabel(row.error))), 0);
  const errorColumn = errorWidth === 0 ? 0 : Math.min(errorWidth, 24) + 1;
  // The name comes first: the bar grows only once the name has NAME_ROOM cells.
  const barInner = Math.max(6, Math.min(30, width - FIXED - errorColumn - 3 - NAME_ROOM));
  return { barInner, errorWidth: errorColumn === 0 ? 0 : errorColumn - 1 };
}

function headLine({ barInner, errorWidth }: Layout): string {
  return [
    '  ',
    cell('ID', 9),
    cell('STATE', 15),
    cell('PROGRESS', barInner + 3),
    '   % ',
    cell('BYTES', 12),
    cell('RATE', 8),
    cell('ETA', 7),
    errorWidth === 0 ? '' : cell('ERROR', errorWidth + 1),
    'NAME',
  ].join('');
}

function rowLine(row: TopRow, selected: boolean, { barInner, errorWidth }: Layout): string {
  const { progress, state } = row;
  const ratio = ratioOf(progress);
  const percent = ratio === undefined ? '?%' : `${Math.floor(ratio * 100)}%`;
  const bytes = progress === undefined ? '' : `${formatBytes(progress.bytesTransferred)}/${progress.bytesTotal === undefined ? '?' : formatBytes(progress.bytesTotal)}`;
  const transferring = state === 'transferring';
  const rate = transferring && row.rate !== undefined ? `${formatBytes(Math.round(row.rate))}/s` : '-';
  const eta = state === 'transferred' ? '0s' : transferring ? formatEta(row.eta) : '-';
  const owner = row.owner === undefined ? '' : ` (${sanitize(row.owner)})`;
  return [
    selected ? '> ' : '  ',
    cell(row.id.slice(0, 8), 9),
    cell(state ?? '...', 15),
    `${progressBar(ratio, barInner)} `,
    `${percent.padStart(4)} `,
    cell(bytes, 12),
    cell(rate, 8),
    cell(eta, 7),
    errorWidth === 0 ? '' : cell(errorLabel(row.error), errorWidth + 1),
    sanitize(row.name) + owner,
  ].join('');
}

/** The selected job in full: id, name, owner, and its last error with the service's description. */
function detailLine(row: TopRow | undefined): string {
  if (row === undefined) return '';
  const parts = [row.id, `"${sanitize(row.name)}"`];
  if (row.owner !== undefined) parts.push(`owner ${sanitize(row.owner)}`);
  if (row.error !== undefined) {
    const { code, hresult, description, transient } = row.error;
    const label = code === undefined ? formatHresult(hresult) : `${code} (${formatHresult(hresult)})`;
    parts.push(`${transient ? 'transient error' : 'error'} ${label}${description === '' ? '' : `: ${sanitize(description.trim())}`}`);
  }
  return parts.join('  ');
}

function titleLine(view: TopView, shown: { from: number; to: number } | undefined): string {
  const counts = new Map<string, number>();
  for (const row of view.rows) counts.set(row.state ?? '...', (counts.get(row.state ?? '...') ?? 0) + 1);
  const jobs = `${view.rows.length} ${view.rows.length === 1 ? 'job' : 'jobs'}`;
  const states = [...counts].map(([state, n]) => `${n} ${state}`).join(', ');
  const scope = view.allUsers ? 'all users' : 'this user';
  const window = shown === undefined ? '' : `  [rows ${shown.from}-${shown.to} of ${view.rows.length}]`;
  return `rx-bits top - ${view.backend} - ${scope} - ${jobs}${states === '' ? '' : `: ${states}`}${window}`;
}

/** The first row to show: the previous one, moved only as far as keeps the selected row in view. */
export function scrollOffset(selected: number, previous: number, visible: number, total: number): number {
  let offset = previous;
  if (selected < offset) offset = selected;
  if (selected >= offset + visible) offset = selected - visible + 1;
  return Math.max(0, Math.min(offset, total - visible));
}

/**
 * The whole screen: title, column heads, one line per job (scrolled to keep the selected one in
 * view), the selected job's details, the status line and the keys. Every line is cut to `width`;
 * on a terminal too short for all of it, the lines at the bottom go first.
 */
export function renderTopScreen(view: TopView, width: number, height: number): TopFrame {
  const w = Math.max(1, Math.floor(width));
  const h = Math.max(1, Math.floor(height));
  const total = view.rows.length;
  const visible = Math.max(1, h - HEAD_LINES - FOOT_LINES);
  const selected = total === 0 ? 0 : Math.max(0, Math.min(view.selected, total - 1));
  const offset = total === 0 ? 0 : scrollOffset(selected, view.offset, visible, total);
  const shown = total > visible ? { from: offset + 1, to: Math.min(total, offset + visible) } : undefined;
  const grid = layout(view.rows, w);
  const lines = [titleLine(view, shown), headLine(grid)];
  let highlight: number | undefined;
  if (total === 0) lines.push('  no jobs (new ones show up as they are created)');
  for (let i = offset; i < Math.min(total, offset + visible); i++) {
    if (i === selected) highlight = lines.length;
    lines.push(rowLine(view.rows[i]!, i === selected, grid));
  }
  while (lines.length < HEAD_LINES + visible) lines.push('');
  lines.push(detailLine(view.rows[selected]), sanitize(view.status ?? ''), KEY_HELP);
  const cut = lines.slice(0, h).map((line) => fit(line, w));
  return { lines: cut, offset, highlight: highlight !== undefined && highlight < h ? highlight : undefined };
}

/** The rows as a plain table, for a log or a pipe: nothing cut, a bar of fixed width. */
export function snapshotTable(rows: readonly TopRow[]): string[] {
  const grid = { ...layout(rows, 200), barInner: 20 };
  return [headLine(grid).trimEnd(), ...rows.map((row) => rowLine(row, false, grid).trimEnd())];
}
