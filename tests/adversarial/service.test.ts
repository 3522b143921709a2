/**
 * Attacks on `vigil serve`: slow clients holding every admission slot, API keys in the query
 * string (and in the access log), malformed multipart bodies answered 500.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { ApiKeyStore } from '../../src/service/auth.js';
import { resolveLimits, type ServiceLimits } from '../../src/service/limits.js';
import { createService, type VigilService } from '../../src/service/server.js';
import { RecordingEngines, sampleImage } from '../service/helpers.js';

const ATTACKER_KEY = 'attacker-key-0123456789abcdef';
const USER_KEY = 'honest-user-key-0123456789abcd';

let service: VigilService | undefined;
afterEach(async () => {
  await service?.app.close();
  service = undefined;
});

async function start(limits: Partial<ServiceLimits>, logger?: Record<string, unknown>): Promise<{ url: string; port: number; engines: RecordingEngines }> {
  const engines = new RecordingEngines(20);
  service = createService({ limits: resolveLimits(limits), keys: new ApiKeyStore([ATTACKER_KEY, USER_KEY]), engines: Promise.resolve(engines), logger });
  await service.ready;
  const url = await service.app.listen({ host: '127.0.0.1', port: 0 });
  return { url, port: Number(new URL(url).port), engines };
}

/** A client announcing a large body and sending one byte every `intervalMs`; resolves with the status it gets (or 'closed'). */
function trickle(port: number, key: string, intervalMs: number): { done: Promise<{ status: number | 'closed'; ms: number }>; socket: Socket } {
  const socket = connect(port, '127.0.0.1');
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<{ status: number | 'closed'; ms: number }>((resolve) => {
    let response = '';
    socket.on('connect', () => {
      socket.write(`POST /v1/screen HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n`);
      timer = setInterval(() => socket.write('x'), intervalMs);
    });
    socket.on('data', (chunk) => (response += chunk.toString()));
    const finish = (): void => {
      clearInterval(timer);
      const match = /^HTTP\/1\.1 (\d{3})/.exec(response);
      resolve({ status: match ? Number(match[1]) : 'closed', ms: Date.now() - started });
    };
    socket.on('close', finish);
    socket.on('error', () => {});
  });
  return { done, socket };
}

describe('slow clients', () => {
  it('18 authenticated sockets trickling 1 byte every 200 ms cannot block other uploads: these keep getting 200', async () => {
    const { url, port } = await start({ maxInFlight: 1, maxQueued: 2, bodyGraceMs: 300, minBodyBytesPerSecond: 1000, bodyTimeoutMs: 3000, maxPerKey: 4 });
    const slow = Array.from({ length: 18 }, () => trickle(port, ATTACKER_KEY, 200));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const image = new Uint8Array(await sampleImage());
    const statuses: number[] = [];
    const deadline = Date.now() + 1500;
    while (Date.now() < deadline) {
      const batch = await Promise.all(
        Array.from({ length: 3 }, () => fetch(`${url}/v1/screen`, { method: 'POST', headers: { authorization: `Bearer ${USER_KEY}` }, body: image, signal: AbortSignal.timeout(5000) })),
      );
      statuses.push(...batch.map((r) => r.status));
    }
    expect(statuses.length).toBeGreaterThan(5);
    expect(new Set(statuses)).toEqual(new Set([200]));
    const outcomes = await Promise.all(slow.map((s) => s.done));
    // The attacker's key gets 4 places at a time (429 beyond); each is cut off (408) once under the
    // minimum rate, which frees the place for the next socket: every trickler is answered, quickly.
    const refused = outcomes.filter((o) => o.status === 429).length;
    const cut = outcomes.filter((o) => o.status === 408).length;
    expect(refused + cut).toBe(18);
    expect(cut).toBeGreaterThanOrEqual(4);
    expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(5000);
    expect(service!.gate.admitted).toBe(0);
    const metrics = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${USER_KEY}` } })).text();
    expect(metrics).toContain(`vigil_errors_total{kind="slow-client"} ${cut}`);
    expect(metrics).toContain(`vigil_errors_total{kind="too-many-requests"} ${refused}`);
  }, 30_000);

  it('a body that keeps a fair rate but never ends is cut off at the body deadline', async () => {
    const { port } = await start({ bodyGraceMs: 100, minBodyBytesPerSecond: 1, bodyTimeoutMs: 800 });
    const client = trickle(port, USER_KEY, 50);
    const outcome = await client.done;
    expect(outcome.status).toBe(408);
    expect(outcome.ms).toBeGreaterThanOrEqual(800);
    expect(outcome.ms).toBeLessThan(2000);
  });
});

describe('API keys in the query string', () => {
  it('are refused with 400 and never written to the access log', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString());
        callback();
      },
    });
    const { url, engines } = await start({}, { level: 'info', stream });
    for (const parameter of ['api_key', 'key', 'token', 'access_token', 'apiKey']) {
      const response = await fetch(`${url}/v1/screen?${parameter}=${USER_KEY}&filename=a.png`, { method: 'POST', body: new Uint8Array(await sampleImage()) });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { message: string } }).error.message).toContain('only in the Authorization header');
    }
    // Even with a valid header, a key in the URL is refused.
    const both = await fetch(`${url}/v1/screen?api_key=${USER_KEY}`, { method: 'POST', headers: { authorization: `Bearer ${USER_KEY}` }, body: new Uint8Array(await sampleImage()) });
    expect(both.status).toBe(400);
    expect(engines.calls).toBe(0);
    const log = lines.join('');
    expect(log).toContain('/v1/screen');
    expect(log).not.toContain(USER_KEY);
    expect(log).not.toContain('api_key');
  });
});

describe('malformed multipart bodies', () => {
  it.each([
    ['no closing boundary', '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nabc'],
    ['garbage', 'this is not multipart at all'],
    ['a boundary the body never uses', '--other\r\n\r\n--other--\r\n'],
  ])('%s: 400 with the reason, not 500', async (_name, body) => {
    const { url } = await start({});
    const response = await fetch(`${url}/v1/screen`, {
      method: 'POST',
      headers: { authorization: `Bearer ${USER_KEY}`, 'content-type': 'multipart/form-data; boundary=xyz' },
      body,
    });
    expect(response.status).toBe(400);
    const json = (await response.json()) as { error: { code: string; message: string } };
    expect(json.error.code).toBe('bad-request');
    expect(json.error.message.length).toBeGreaterThan(10);
  });
});
