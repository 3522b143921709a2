import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/core/files.js';
import { ApiKeyStore, parseApiKeysFile } from '../../src/service/auth.js';
import { resolveLimits } from '../../src/service/limits.js';
import { createService, type VigilService } from '../../src/service/server.js';
import { sniffImageMime } from '../../src/core/image-format.js';
import { pngBomb } from '../hardening/hostile-inputs.js';
import { API_KEY, RecordingEngines, auth, sampleImage, startTestService } from './helpers.js';

let service: VigilService | undefined;
afterEach(async () => {
  await service?.app.close();
  service = undefined;
});

function multipartBody(fileName: string, bytes: Buffer): { payload: Buffer; headers: Record<string, string> } {
  const boundary = '----vigiltestboundary';
  const payload = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { payload, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

describe('API keys', () => {
  it('accepts only configured keys, sent as a Bearer token', () => {
    const store = new ApiKeyStore(['first-key-aaaaaaaaaaaa', 'second-key-bbbbbbbbbbb']);
    expect(store.verifyAuthorization('Bearer first-key-aaaaaaaaaaaa')).toBe(true);
    expect(store.verifyAuthorization('bearer second-key-bbbbbbbbbbb')).toBe(true);
    expect(store.verifyAuthorization('Bearer first-key-aaaaaaaaaaab')).toBe(false);
    expect(store.verifyAuthorization('first-key-aaaaaaaaaaaa')).toBe(false);
    expect(store.verifyAuthorization('Basic Zmlyc3Q=')).toBe(false);
    expect(store.verifyAuthorization(undefined)).toBe(false);
  });

  it('refuses to start without keys or with short keys, naming the problem', () => {
    expect(() => new ApiKeyStore([])).toThrow(/VIGIL_API_KEYS/);
    expect(() => new ApiKeyStore(['short'])).toThrow(/at least 16 characters without whitespace for API key #1 but received "a key of 5 characters"/);
  });

  it('reads one key per line from a keys file, skipping comments and blanks', () => {
    expect(parseApiKeysFile('# ops team\nkey-one-xxxxxxxxxxxx\n\n  key-two-yyyyyyyyyyyy  \r\n')).toEqual([
      'key-one-xxxxxxxxxxxx',
      'key-two-yyyyyyyyyyyy',
    ]);
  });
});

describe('content sniffing', () => {
  it('recognises formats from bytes', async () => {
    expect(sniffImageMime(await sampleImage('png'))).toBe('image/png');
    expect(sniffImageMime(await sampleImage('jpeg'))).toBe('image/jpeg');
    expect(sniffImageMime(await sampleImage('webp'))).toBe('image/webp');
    expect(sniffImageMime(Buffer.from('%PDF-1.7'))).toBeUndefined();
    expect(sniffImageMime(Buffer.alloc(0))).toBeUndefined();
  });
});

describe('limits', () => {
  it('rejects invalid limits by name', () => {
    expect(() => resolveLimits({ maxInFlight: 0 })).toThrow('Expected a positive integer for maxInFlight but received 0');
    expect(() => resolveLimits({ maxQueued: -1 })).toThrow(/maxQueued/);
  });
});

describe('vigil serve routes', () => {
  it('screens a raw body and a multipart upload, passing the exact bytes to the engine', async () => {
    service = await startTestService(new RecordingEngines());
    const image = await sampleImage('png');
    const raw = await service.app.inject({
      method: 'POST',
      url: '/v1/screen?filename=../../etc/cat.png',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: image,
    });
    expect(raw.statusCode).toBe(200);
    expect(raw.json()).toEqual({ kind: 'screen', file: 'cat.png', sha256: sha256Hex(image), bytes: image.length });

    const form = multipartBody('dog.png', image);
    const multi = await service.app.inject({ method: 'POST', url: '/v1/provenance/verify', headers: { ...auth, ...form.headers }, payload: form.payload });
    expect(multi.statusCode).toBe(200);
    expect(multi.json()).toMatchObject({ kind: 'verify', file: 'dog.png', sha256: sha256Hex(image) });
  });

  it('answers 401 without a valid key, but serves health, readiness and the OpenAPI document openly', async () => {
    service = await startTestService(new RecordingEngines());
    const image = await sampleImage();
    for (const headers of [{}, { authorization: 'Bearer wrong-key-000000000000' }, { authorization: API_KEY }]) {
      const response = await service.app.inject({ method: 'POST', url: '/v1/screen', headers, payload: image });
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(response.json().error.code).toBe('unauthorized');
    }
    expect((await service.app.inject({ url: '/metrics' })).statusCode).toBe(401);
    expect((await service.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await service.app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ready', engines: { kind: 'recording' } });
    const openapi = (await service.app.inject({ url: '/openapi.json' })).json();
    expect(openapi.openapi).toBe('3.1.0');
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/v1/screen', '/v1/provenance/verify', '/metrics']));
  });

  it('sniffs content from the bytes: 415 for a non-image even when labelled image/png', async () => {
    const engines = new RecordingEngines();
    service = await startTestService(engines);
    const response = await service.app.inject({
      method: 'POST',
      url: '/v1/screen?filename=evil.png',
      headers: { ...auth, 'content-type': 'image/png' },
      payload: Buffer.from('<script>alert(1)</script>'),
    });
    expect(response.statusCode).toBe(415);
    expect(response.json().error.message).toMatch(/evil\.png: the bytes are not an image.*3c 73 63 72/);
    expect(engines.calls).toBe(0);
  });

  it('answers 413 over the body limit (raw and multipart) and over the pixel limit, before inference', async () => {
    const engines = new RecordingEngines();
    service = await startTestService(engines, { maxBodyBytes: 4096, maxPixels: 1_000_000 });
    const big = Buffer.concat([await sampleImage(), Buffer.alloc(8192)]);
    const raw = await service.app.inject({ method: 'POST', url: '/v1/screen', headers: auth, payload: big });
    expect(raw.statusCode).toBe(413);
    expect(raw.json().error.code).toBe('body-too-large');
    const form = multipartBody('big.png', big);
    const multi = await service.app.inject({ method: 'POST', url: '/v1/screen', headers: { ...auth, ...form.headers }, payload: form.payload });
    expect(multi.statusCode).toBe(413);

    const bomb = pngBomb(50_000, 50_000);
    const pixels = await service.app.inject({ method: 'POST', url: '/v1/screen?filename=bomb.png', headers: auth, payload: bomb });
    expect(pixels.statusCode).toBe(413);
    expect(pixels.json().error).toEqual({
      code: 'pixel-limit',
      message: 'bomb.png: Expected at most 1000000 pixels but received 50000×50000 = 2500000000',
    });
    expect(engines.calls).toBe(0);
  });

  it('answers 400 for an empty body and 422 for an image whose header cannot be read', async () => {
    service = await startTestService(new RecordingEngines());
    const empty = await service.app.inject({ method: 'POST', url: '/v1/screen', headers: auth });
    expect(empty.statusCode).toBe(400);
    const truncated = (await sampleImage('png')).subarray(0, 20);
    const broken = await service.app.inject({ method: 'POST', url: '/v1/screen?filename=t.png', headers: auth, payload: truncated });
    expect(broken.statusCode).toBe(422);
    expect(broken.json().error).toMatchObject({ code: 'invalid-image', message: expect.stringMatching(/^t\.png: cannot read the image header/) });
  });

  it('answers 504 when inference outlasts the request timeout', async () => {
    service = await startTestService(new RecordingEngines(1500), { requestTimeoutMs: 200 });
    const response = await service.app.inject({ method: 'POST', url: '/v1/screen', headers: auth, payload: await sampleImage() });
    expect(response.statusCode).toBe(504);
    expect(response.json().error.code).toBe('timeout');
  });

  it('answers 503 not-ready while models load, then serves', async () => {
    let resolveEngines: (engines: RecordingEngines) => void = () => {};
    service = createService({
      limits: resolveLimits(),
      keys: new ApiKeyStore([API_KEY]),
      engines: new Promise((resolve) => {
        resolveEngines = resolve;
      }),
    });
    const image = await sampleImage();
    const early = await service.app.inject({ method: 'POST', url: '/v1/screen', headers: auth, payload: image });
    expect(early.statusCode).toBe(503);
    expect(early.json().error.code).toBe('not-ready');
    expect((await service.app.inject({ url: '/readyz' })).statusCode).toBe(503);
    resolveEngines(new RecordingEngines());
    await service.ready;
    expect((await service.app.inject({ method: 'POST', url: '/v1/screen', headers: auth, payload: image })).statusCode).toBe(200);
  });

  it('counts requests, latency and errors by kind in /metrics', async () => {
    service = await startTestService(new RecordingEngines());
    await service.app.inject({ method: 'POST', url: '/v1/screen', headers: auth, payload: await sampleImage() });
    await service.app.inject({ method: 'POST', url: '/v1/screen', payload: Buffer.from('x') });
    await service.app.inject({ method: 'POST', url: '/v1/screen', headers: auth, payload: Buffer.from('not an image') });
    const text = (await service.app.inject({ url: '/metrics', headers: auth })).body;
    expect(text).toMatch(/vigil_http_requests_total\{route="\/v1\/screen",method="POST",status="200"\} 1/);
    expect(text).toMatch(/vigil_errors_total\{kind="unauthorized"\} 1/);
    expect(text).toMatch(/vigil_errors_total\{kind="unsupported-media-type"\} 1/);
    expect(text).toMatch(/vigil_http_request_duration_seconds_count\{route="\/v1\/screen"\} 3/);
    expect(text).toMatch(/vigil_inference_queue_depth 0/);
    expect(text).toMatch(/vigil_process_resident_memory_bytes/);
  });
});
