/**
 * Survive a restart: start downloads with `persist`, quit whenever, and pick them up at the next
 * start. BITS keeps the jobs; it does not keep our callbacks, which `resumePending` registers again
 * (a job that finished while the app was closed completes at once).
 * Run on Windows: node --import tsx examples/reattach-on-restart.ts [url file]
 */
import path from 'node:path';
import { download, resumePending, type DownloadSnapshot } from 'rx-bits';

const appName = 'reattach-example';
const show = (name: string) => ({
  next: (s: DownloadSnapshot) => console.log(`${name}: ${s.state} ${s.ratio === undefined ? '?' : Math.floor(s.ratio * 100)}%`),
  error: (e: unknown) => console.error(`${name}: ${e instanceof Error ? e.message : String(e)}`),
  complete: () => console.log(`${name}: done`),
});

for (const pending of await resumePending({ appName })) {
  console.log(`picking up ${pending.displayName} (${pending.jobId})`);
  pending.download$.subscribe(show(pending.displayName));
}

const [url, file] = process.argv.slice(2);
if (url !== undefined && file !== undefined) {
  // Ctrl-C now leaves the job running in BITS; run this script again without arguments to pick it up.
  download(url, path.resolve(file), { appName, persist: true }).subscribe(show(file));
}
