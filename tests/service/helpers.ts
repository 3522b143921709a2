import sharp from 'sharp';
import { ApiKeyStore } from '../../src/service/auth.js';
import type { InferenceEngines } from '../../src/service/engines.js';
import { resolveLimits, type ServiceLimits } from '../../src/service/limits.js';
import { createService, type VigilService } from '../../src/service/server.js';
import { sha256Hex } from '../../src/core/files.js';

export const API_KEY = 'test-key-0123456789abcdef';

/** A small real image, encoded by sharp. */
export async function sampleImage(format: 'png' | 'jpeg' | 'webp' = 'png', size = 32): Promise<Buffer> {
  return sharp({ create: { width: size, height: size, channels: 3, background: { r: 200, g: 40, b: 90 } } })
    .toFormat(format)
    .toBuffer();
}

/**
 * Engines for testing the HTTP layer on its own: they answer with the sha256 of the bytes they
 * received (proving the body arrived intact) after an optional delay, and count concurrent calls.
 */
export class RecordingEngines implements InferenceEngines {
  readonly description = { kind: 'recording' };
  running = 0;
  maxRunning = 0;
  calls = 0;

  constructor(private readonly delayMs = 0) {}

  private async work(kind: string, bytes: Buffer, fileName: string): Promise<unknown> {
    this.calls++;
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      return { kind, file: fileName, sha256: sha256Hex(bytes), bytes: bytes.length };
    } finally {
      this.running--;
    }
  }

  screen(bytes: Buffer, fileName: string): Promise<unknown> {
    return this.work('screen', bytes, fileName);
  }

  verify(bytes: Buffer, fileName: string): Promise<unknown> {
    return this.work('verify', bytes, fileName);
  }
}

export async function startTestService(
  engines: InferenceEngines,
  limits: Partial<ServiceLimits> = {},
): Promise<VigilService> {
  const service = createService({
    limits: resolveLimits(limits),
    keys: new ApiKeyStore([API_KEY]),
    engines: Promise.resolve(engines),
  });
  await service.ready;
  return service;
}

export const auth = { authorization: `Bearer ${API_KEY}` };
