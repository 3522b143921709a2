/**
 * Bounded admission for inference. A request reserves a place (running or waiting) before its body
 * is read; when every place is taken it is turned away at once (503 + Retry-After), so memory is
 * bounded by (maxInFlight + maxQueued) request bodies, however many clients connect.
 *
 * A place is released only when the work it started has really finished: a request that timed out
 * (504) keeps its slot until its inference returns, because onnxruntime cannot be interrupted.
 */
export class AdmissionGate {
  private running = 0;
  private reserved = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly maxInFlight: number,
    readonly maxQueued: number,
  ) {}

  /** Requests admitted and not yet finished: running plus waiting for a slot. */
  get admitted(): number {
    return this.reserved;
  }

  get inFlight(): number {
    return this.running;
  }

  /** Requests admitted but not running yet (the queue depth). */
  get queued(): number {
    return this.reserved - this.running;
  }

  /** A place for one request, or undefined when running and waiting places are all taken. */
  tryReserve(): Reservation | undefined {
    if (this.reserved >= this.maxInFlight + this.maxQueued) return undefined;
    this.reserved++;
    return new Reservation(this);
  }

  /** @internal */
  acquireSlot(signal: AbortSignal | undefined): Promise<void> {
    if (this.running < this.maxInFlight) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.running++;
        resolve();
      };
      const onAbort = (): void => {
        const index = this.waiting.indexOf(grant);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(signal?.reason ?? new Error('aborted while waiting for an inference slot'));
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(grant);
    });
  }

  /** @internal */
  releaseSlot(): void {
    this.running--;
    this.waiting.shift()?.();
  }

  /** @internal */
  releaseReservation(): void {
    this.reserved--;
  }
}

/** One admitted request's place; `release` once the response is sent or the request is dropped. */
export class Reservation {
  private released = false;
  private working = 0;

  constructor(private readonly gate: AdmissionGate) {}

  /**
   * Runs `work` once an inference slot is free. An abort while waiting gives the place up without
   * running anything; once running, the work always completes and frees its slot itself.
   */
  async run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.gate.acquireSlot(signal);
    this.working++;
    try {
      return await work();
    } finally {
      this.working--;
      this.gate.releaseSlot();
      if (this.released && this.working === 0) this.gate.releaseReservation();
    }
  }

  /** The reservation ends when the request ends, or later, when work it started finishes. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.working === 0) this.gate.releaseReservation();
  }
}
