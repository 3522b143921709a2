import { afterEach, describe, expect, it } from 'vitest';
import { AdmissionGate } from '../../src/service/admission.js';
import type { VigilService } from '../../src/service/server.js';
import { RecordingEngines, auth, sampleImage, startTestService } from './helpers.js';

let service: VigilService | undefined;
afterEach(async () => {
  await service?.app.close();
  service = undefined;
});

async function listen(s: VigilService): Promise<string> {
  return s.app.listen({ host: '127.0.0.1', port: 0 });
}

describe('AdmissionGate', () => {
  it('runs at most maxInFlight at once, queues up to maxQueued, refuses beyond', async () => {
    const gate = new AdmissionGate(1, 1);
    const first = gate.tryReserve();
    const second = gate.tryReserve();
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect(gate.tryReserve()).toBeUndefined();
    const order: string[] = [];
    let finishFirst: () => void = () => {};
    const a = first!.run(() => new Promise<void>((resolve) => { order.push('a'); finishFirst = resolve; }));
    const b = second!.run(async () => { order.push('b'); });
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['a']);
    expect(gate.inFlight).toBe(1);
    expect(gate.queued).toBe(1);
    finishFirst();
    await Promise.all([a, b]);
    expect(order).toEqual(['a', 'b']);
    first!.release();
    second!.release();
    expect(gate.admitted).toBe(0);
  });

  it('leaves the queue on abort without running, and holds a timed-out slot until its work ends', async () => {
    const gate = new AdmissionGate(1, 1);
    const running = gate.tryReserve()!;
    const waiting = gate.tryReserve()!;
    let finish: () => void = () => {};
    const work = running.run(() => new Promise<void>((resolve) => { finish = resolve; }));
    const controller = new AbortController();
    let ran = false;
    const queued = waiting.run(async () => { ran = true; }, controller.signal);
    controller.abort(new Error('timeout'));
    await expect(queued).rejects.toThrow('timeout');
    waiting.release();
    running.release(); // the request was answered (504) but its inference goes on
    expect(gate.admitted).toBe(1);
    expect(gate.tryReserve()).toBeDefined();
    expect(gate.tryReserve()).toBeUndefined();
    finish();
    await work;
    expect(ran).toBe(false);
    expect(gate.inFlight).toBe(0);
  });
});

describe('vigil serve under load', () => {
  it('answers 503 + Retry-After beyond in-flight + queue capacity, and never runs more than maxInFlight', async () => {
    const engines = new RecordingEngines(300);
    service = await startTestService(engines, { maxInFlight: 1, maxQueued: 2, retryAfterSeconds: 3 });
    const url = await listen(service);
    const image = await sampleImage();
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => fetch(`${url}/v1/screen`, { method: 'POST', headers: auth, body: new Uint8Array(image) })),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(statuses.filter((s) => s === 503)).toHaveLength(7);
    const refused = responses.find((r) => r.status === 503)!;
    expect(refused.headers.get('retry-after')).toBe('3');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('overloaded');
    expect(engines.maxRunning).toBe(1);
    expect(service.gate.admitted).toBe(0);
  });

  it('drains in-flight requests on shutdown, then refuses new connections', async () => {
    const engines = new RecordingEngines(500);
    service = await startTestService(engines);
    const url = await listen(service);
    const inFlight = fetch(`${url}/v1/screen`, { method: 'POST', headers: auth, body: new Uint8Array(await sampleImage()) });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const drained = service.drain();
    const response = await inFlight;
    expect(response.status).toBe(200);
    await drained;
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
