/**
 * An updater that needs the app only to start it. The download goes through an authenticating proxy
 * (the logged-on user's NTLM/Negotiate credentials, or a named account), and BITS itself starts this
 * script again with `--install <job id>` once the file is there, even if the app has exited by then:
 * that run completes the job (the file appears at its name only then) and starts the installer.
 * On a metered network (a phone's hotspot, a capped or roaming plan) BITS holds the download until
 * a network without surcharges comes back: the 'standard' transfer policy.
 *
 * Run on Windows: node --import tsx examples/updater-notify.ts <url> [proxy-user proxy-password]
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, InterfaceNotSupportedError, NotifyFlags, type BitsJob, type Credentials } from 'rx-bits';

const appName = 'updater-example';
const installer = path.join(os.tmpdir(), appName, 'setup.exe');

async function install(jobId: string): Promise<void> {
  const bits = await connect({ backend: 'bits' });
  const job = await bits.getJob(jobId);
  const { partial } = await job.complete();
  await job.release();
  await bits.release();
  if (partial) throw new Error('the download was not complete');
  // Detached: the installer may replace the app this script belongs to.
  spawn(installer, ['/quiet'], { detached: true, stdio: 'ignore' }).unref();
}

/**
 * Transfers only where it costs the user nothing extra: no roaming, no surcharge, not near a data
 * cap (IBackgroundCopyJob5, Windows 8 and later). Older BITS has no cost policy: the job then goes
 * on any network, as it always did there.
 */
async function spareMeteredNetworks(job: BitsJob): Promise<void> {
  try {
    await job.setProperty('transferPolicy', 'standard');
  } catch (error) {
    if (!(error instanceof InterfaceNotSupportedError)) throw error;
    console.warn(`BITS here predates transfer policies (${error.interfaceName} came with BITS ${error.introducedIn}); downloading on any network.`);
  }
}

async function start(url: string, proxyUser?: string, proxyPassword?: string): Promise<void> {
  // The portable engine has no notify command line: BITS starts the program, and only BITS.
  await mkdir(path.dirname(installer), { recursive: true });
  const bits = await connect({ backend: 'bits' });
  const job = await bits.createJob({ displayName: `${appName}: setup.exe`, files: [{ url, localPath: installer }] });
  const proxy: Credentials =
    proxyUser === undefined ? { target: 'proxy', scheme: 'negotiate' } : { target: 'proxy', scheme: 'basic', userName: proxyUser, password: proxyPassword ?? '' };
  await job.setCredentials(proxy);
  await spareMeteredNetworks(job);
  // BITS runs this with no environment expansion and no shell: absolute paths, the arguments after the program.
  await job.setNotifyCommandLine({ program: process.execPath, parameters: `--import tsx "${fileURLToPath(import.meta.url)}" --install ${job.id}` });
  await job.setNotifyFlags(NotifyFlags.JobTransferred);
  await job.resume();
  console.log(`BITS is downloading ${url} as job ${job.id}; this process can exit now.`);
  await job.release();
  await bits.release();
}

const [first, second, third] = process.argv.slice(2);
if (first === '--install' && second !== undefined) await install(second);
else if (first !== undefined) await start(first, second, third);
else console.error('usage: updater-notify.ts <url> [proxy-user proxy-password]');
