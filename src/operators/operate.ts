import { Observable, type OperatorFunction, type Subscriber, type Subscription } from 'rxjs';

/*
 * The one place where a hand-made operator's handlers are guarded (the idea of RxJS 7's internal
 * `operate` and `createOperatorSubscriber`). A function a user hands to an operator that throws
 * inside a plain observer would go to `config.onUnhandledError` and leave the stream stalled; here
 * it errors the stream, as it does in RxJS's own operators.
 */

/** What an operator does with the notifications of a source it follows. */
export interface Handlers<T> {
  /** Each value. */
  readonly next: (value: T) => void;
  /** The source failed. Default: the stream fails with the same error. */
  readonly error?: (error: unknown) => void;
  /** The source completed. Default: the stream completes. */
  readonly complete?: () => void;
}

/** An operator's handlers for its upstream, and its teardown. */
export interface OperatorHandlers<T> extends Handlers<T> {
  /** Runs once per subscription, however it ends (error, completion, the subscriber leaving), after upstream is unsubscribed. */
  readonly finalize?: () => void;
}

/**
 * Makes an operator from what it does for each subscriber: `setup` keeps that subscription's state
 * in its closure and answers the handlers for upstream. What `setup` throws errors the stream too
 * (the Observable constructor sends it to the subscriber).
 */
export function operate<T, R>(setup: (subscriber: Subscriber<R>) => OperatorHandlers<T>): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      const { finalize, ...handlers } = setup(subscriber);
      follow(subscriber, source, handlers);
      // Added after upstream's subscription, so that it runs after upstream has been left (none: add ignores undefined).
      subscriber.add(finalize);
    });
}

/**
 * Subscribes to `source` on behalf of `subscriber`: upstream, or a source of the operator's own (a
 * timer, a promise through `defer`), whose handlers then run guarded as well. What a handler throws
 * errors `subscriber`; the subscription ends with the subscriber's, and once the subscriber is
 * closed nothing more reaches the handlers (a synchronous source only notices later).
 */
export function follow<T>(subscriber: Subscriber<unknown>, source: Observable<T>, handlers: Handlers<T>): Subscription {
  const { next, error = (cause: unknown) => subscriber.error(cause), complete = () => subscriber.complete() } = handlers;
  const guard =
    <A extends unknown[]>(handler: (...args: A) => void) =>
    (...args: A): void => {
      if (subscriber.closed) return;
      try {
        handler(...args);
      } catch (thrown) {
        subscriber.error(thrown);
      }
    };
  const subscription = source.subscribe({ next: guard(next), error: guard(error), complete: guard(complete) });
  subscriber.add(subscription);
  return subscription;
}
