import { config, type Subscription } from 'rxjs';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { download } from '../src/index.js';
import { liveHubs, whenHubsIdle } from '../src/observables/hub.js';
import { until, useLoopback } from './support/harness.js';

describe('download(): user callbacks that throw', () => {
  // A BITS second of 0 ms: a 503 stays transient for no time at all, so it soon fails for good (ERROR)
  // and reaches `shouldRetry`, however fast the machine is.
  const h = useLoopback({ secondMs: 0 });
  const opts = () => ({ runtime: h.service.runtime, pollInterval: 5, appName: 'myapp' });
  let unhandled: Promise<unknown>;
  let previous: typeof config.onUnhandledError;

  beforeEach(() => {
    previous = config.onUnhandledError;
    unhandled = new Promise((resolve) => (config.onUnhandledError = resolve));
  });

  afterEach(async () => {
    config.onUnhandledError = previous;
    await whenHubsIdle();
    await until(() => h.service.references().jobs === 0);
    expect(liveHubs()).toBe(0);
  });

  test('a throwing retry.shouldRetry errors the download with what it threw, and the job is cancelled', async () => {
    const boom = new Error('shouldRetry failed');
    let subscription: Subscription | undefined;
    const outcome = new Promise<unknown>((resolve) => {
      subscription = download(h.server.url('/status/503'), h.local('x.bin'), {
        ...opts(),
        retry: {
          shouldRetry: () => {
            throw boom;
          },
        },
      }).subscribe({ error: resolve, complete: () => resolve('completed') });
    });
    // Whichever comes first: the download's own end, or the error lost to RxJS's unhandled-error hook.
    const first = await Promise.race([outcome, unhandled.then((error) => ({ unhandled: error }))]);
    subscription?.unsubscribe();
    expect(first).toBe(boom);
    await until(() => h.service.queue.length === 0);
    expect(h.service.calls('IBackgroundCopyJob::Cancel')).toBe(1);
  });
});
