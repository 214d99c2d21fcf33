import fc from 'fast-check';
import type { Subscription } from 'rxjs';
import { expect, test } from 'vitest';
import { jobEvents$, JOB_EVENT_TYPES, NotifyFlags, progress$, state$, type BitsJob, type JobEventType } from '../src/index.js';
import { NOTIFY_FLAG_OF, type Interest } from '../src/observables/events.js';
import { liveHubs, whenHubsIdle } from '../src/observables/hub.js';
import { useLoopback } from './support/harness.js';

const h = useLoopback();

const JOBS = 3;
const DEFAULT_FLAGS = NotifyFlags.JobTransferred | NotifyFlags.JobError;

type Spec = { readonly kind: 'events'; readonly types: readonly JobEventType[] } | { readonly kind: 'state' } | { readonly kind: 'progress' };
type Command = { readonly op: 'subscribe'; readonly job: number; readonly spec: Spec } | { readonly op: 'unsubscribe'; readonly pick: number };

const spec: fc.Arbitrary<Spec> = fc.oneof(
  fc.subarray([...JOB_EVENT_TYPES], { minLength: 1 }).map((types): Spec => ({ kind: 'events', types })),
  fc.constant<Spec>({ kind: 'state' }),
  fc.constant<Spec>({ kind: 'progress' }),
);
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ op: fc.constant('subscribe' as const), job: fc.nat(JOBS - 1), spec }),
  fc.record({ op: fc.constant('unsubscribe' as const), pick: fc.nat() }),
);

function interestsOf(s: Spec): Interest[] {
  return s.kind === 'events' ? [...s.types] : [s.kind];
}

function open(job: BitsJob, s: Spec): Subscription {
  if (s.kind === 'state') return state$(job).subscribe();
  if (s.kind === 'progress') return progress$(job).subscribe();
  return jobEvents$(job, s.types).subscribe();
}

test('notify flags always equal the union of what live subscriptions want (fast-check, 1,000 runs)', async () => {
  const jobs = await Promise.all(Array.from({ length: JOBS }, (_, i) => h.bits.createJob({ displayName: `property ${i}` })));
  const everAttached = new Array<boolean>(JOBS).fill(false);

  await fc.assert(
    fc.asyncProperty(fc.array(command, { maxLength: 12 }), async (commands) => {
      const live: Array<{ job: number; spec: Spec; subscription: Subscription }> = [];
      const check = async () => {
        await whenHubsIdle();
        for (let j = 0; j < JOBS; j++) {
          const mine = live.filter((entry) => entry.job === j);
          const union = mine.flatMap((entry) => interestsOf(entry.spec)).reduce((flags, interest) => flags | NOTIFY_FLAG_OF[interest], 0);
          const expected = mine.length > 0 ? union : everAttached[j] ? NotifyFlags.Disable : DEFAULT_FLAGS;
          expect(await jobs[j]!.getNotifyFlags()).toBe(expected);
          expect(await jobs[j]!.hasNotifyInterface()).toBe(mine.length > 0);
        }
      };
      try {
        for (const c of commands) {
          if (c.op === 'subscribe') {
            live.push({ job: c.job, spec: c.spec, subscription: open(jobs[c.job]!, c.spec) });
            everAttached[c.job] = true;
          } else if (live.length > 0) {
            const [entry] = live.splice(c.pick % live.length, 1);
            entry!.subscription.unsubscribe();
          }
          await check();
        }
      } finally {
        for (const entry of live.splice(0)) entry.subscription.unsubscribe();
        await whenHubsIdle();
      }
      await check();
      expect(liveHubs()).toBe(0);
    }),
    { numRuns: 1000 },
  );

  for (const job of jobs) {
    await job.cancel();
    await job.release();
  }
}, 300_000);
