/**
 * koffi's relay of the service's calls does not hold the event loop, so a script waiting for a
 * notification would exit. One ref'd timer holds the process while any hub is attached.
 */
let holders = 0;
let timer: NodeJS.Timeout | undefined;

export function holdProcess(): void {
  if (holders++ === 0) timer = setInterval(() => undefined, 0x7fffffff);
}

export function releaseProcess(): void {
  if (--holders === 0) {
    clearInterval(timer);
    timer = undefined;
  }
}
