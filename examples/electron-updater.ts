/**
 * An Electron main-process updater. Electron makes the main thread a single-threaded apartment
 * (STA) once the app is ready; rx-bits never initializes COM on that thread (joining the MTA first
 * would break OLE drag-and-drop and the clipboard) and keeps the multithreaded apartment alive on a
 * thread of its own. Every call to BITS runs on rx-bits' call threads, so the STA main thread is
 * never blocked and never handed a pointer it must not use: nothing else to do in an Electron app.
 *
 * Written against the few Electron APIs it needs, so it type-checks without Electron installed:
 * call `startUpdater(app, feedUrl)` from your main process.
 */
import os from 'node:os';
import path from 'node:path';
import { filter, take } from 'rxjs';
import { download, resumePending, type DownloadSnapshot } from 'rx-bits';

interface ElectronApp {
  whenReady(): Promise<void>;
  getPath(name: 'userData'): string;
  on(event: 'before-quit', listener: () => void): void;
}

const appName = 'my-electron-app';

export async function startUpdater(app: ElectronApp, feedUrl: string, onReady: (installer: string) => void): Promise<void> {
  await app.whenReady();
  const installer = path.join(app.getPath('userData'), 'updates', `setup-${os.arch()}.exe`);
  const ready = (snapshot: DownloadSnapshot) => snapshot.done !== undefined;

  // An update left half-way by the last run goes on where it was.
  const pending = await resumePending({ appName });
  const update$ = pending[0]?.download$ ?? download(`${feedUrl}/setup-${os.arch()}.exe`, installer, { appName, persist: true, priority: 'low' });
  for (const extra of pending.slice(1)) await extra.release();

  // persist: quitting the app leaves the download to BITS, which goes on throttled in the background.
  const subscription = update$.pipe(filter(ready), take(1)).subscribe({
    next: (snapshot) => onReady(snapshot.done?.files[0]?.localPath ?? installer),
    error: (error: unknown) => console.error('update failed:', error),
  });
  app.on('before-quit', () => subscription.unsubscribe());
}
