import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '../../src/service/auth.js';
import { loadEngines } from '../../src/service/engines.js';
import { resolveLimits } from '../../src/service/limits.js';
import { createService, type VigilService } from '../../src/service/server.js';
import { HOSTILE_STRINGS, hostileImages, withinTime } from './hostile-inputs.js';

const KEY = 'hardening-key-0123456789';
let service: VigilService;
let release: () => Promise<void> = async () => {};

beforeAll(async () => {
  const engines = loadEngines({ screener: {}, trustAnchors: [] });
  service = createService({ limits: resolveLimits({ maxPixels: 20_000_000 }), keys: new ApiKeyStore([KEY]), engines });
  await service.ready;
  release = (await engines).release;
});
afterAll(async () => {
  await service?.app.close();
  await release();
});

describe('vigil serve with real engines on hostile uploads', () => {
  it('answers every hostile image on both routes with a result or a named 4xx, never 500', async () => {
    for (const { name, bytes, expected } of await hostileImages()) {
      for (const url of ['/v1/screen', '/v1/provenance/verify']) {
        const response = await withinTime(
          service.app.inject({ method: 'POST', url: `${url}?filename=${encodeURIComponent(name)}`, headers: { authorization: `Bearer ${KEY}` }, payload: bytes }),
          30_000,
          `${url} ${name}`,
        );
        const body = response.json() as { error?: { code: string; message: string } };
        expect([200, 400, 413, 415, 422], `${url} ${name}: ${response.body.slice(0, 200)}`).toContain(response.statusCode);
        if (response.statusCode !== 200) expect(body.error?.message, `${url} ${name}`).toBeTruthy();
        if (url === '/v1/screen' && expected === 'ok') expect(response.statusCode, `${name}: ${response.body.slice(0, 200)}`).toBe(200);
        if (url === '/v1/screen' && expected === 'error') expect(response.statusCode, name).not.toBe(200);
      }
    }
  }, 120_000);

  it('keeps hostile upload names as inert data in the JSON it returns', async () => {
    const [png] = (await hostileImages()).filter((i) => i.name === 'png-named.jpg');
    const response = await service.app.inject({
      method: 'POST',
      url: `/v1/screen?filename=${encodeURIComponent(`dir/${HOSTILE_STRINGS[1]}`)}`,
      headers: { authorization: `Bearer ${KEY}` },
      payload: png.bytes,
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect((response.json() as { file: string }).file).toBe(HOSTILE_STRINGS[1]);
  });
});
