import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll } from 'vitest';
import { SeededRandom } from '../../src/core/random.js';
import { loadSigningCredentials } from '../../src/provenance/credentials.js';
import { coseSign1, reserveSizeFor, type CoseSigner } from '../../src/provenance/cose.js';
import { encodeSignerPayload } from '@contentauth/c2pa-wasm';
import { buildSignedManifest } from '../../src/provenance/engine.js';
import { generateDevCredentials, type KeygenResult } from '../../src/provenance/keygen.js';
import { loadTrustList, type TrustList } from '../../src/provenance/trust.js';

const execFileAsync = promisify(execFile);

export const CONFORMANCE_DIR = process.env.VIGIL_C2PA_CONFORMANCE ?? join(process.cwd(), '..', 'shared', 'conformance', 'c2pa-rs');

export async function tempDir(prefix = 'vigil-provenance-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'tiff' | 'gif' | 'avif';

/**
 * A photo-like test image: a smooth random colour field (low-resolution noise upscaled) plus fine
 * grain, so perceptual hashes behave as on real photos. Deterministic for a seed.
 */
export async function syntheticImage(seed: number, format: ImageFormat = 'jpeg', width = 192, height = 144): Promise<Buffer> {
  const random = new SeededRandom(seed);
  const coarse = Buffer.alloc(8 * 6 * 3);
  for (let i = 0; i < coarse.length; i++) coarse[i] = random.int(256);
  const smooth = await sharp(coarse, { raw: { width: 8, height: 6, channels: 3 } })
    .resize(width, height, { kernel: 'cubic' })
    .raw()
    .toBuffer();
  for (let i = 0; i < smooth.length; i++) smooth[i] = Math.max(0, Math.min(255, smooth[i] + Math.round(random.normal() * 6)));
  const image = sharp(smooth, { raw: { width, height, channels: 3 } });
  if (format === 'png') return image.png().toBuffer();
  if (format === 'webp') return image.webp({ quality: 90 }).toBuffer();
  if (format === 'tiff') return image.tiff().toBuffer();
  if (format === 'gif') return image.gif().toBuffer();
  if (format === 'avif') return image.avif({ quality: 70 }).toBuffer();
  return image.jpeg({ quality: 90 }).toBuffer();
}

export interface DevCredentials {
  keygen: KeygenResult;
  signer: CoseSigner;
  trustList: TrustList;
}

export async function devCredentials(dir: string, algorithm = 'es256'): Promise<DevCredentials> {
  const keygen = await generateDevCredentials({ outDir: dir, algorithm });
  const signer = await loadSigningCredentials({ certPath: keygen.files.signerChain, keyPath: keygen.files.signerKey, algorithm });
  return { keygen, signer, trustList: await loadTrustList('dev', keygen.files.caCert) };
}

/** Signs through the c2pa-rs builder directly (manifest definitions the sign command does not write: vendor assertions, sidecars, remote manifests). */
export async function buildWithEngine(request: {
  signer: CoseSigner;
  mime: string;
  source: Uint8Array;
  definition: Record<string, unknown>;
  ingredients?: { definition: Record<string, unknown>; mime: string; bytes: Uint8Array }[];
  noEmbed?: boolean;
  remoteUrl?: string;
  /** A CAWG X.509 identity assertion signed by this signer, over these assertion labels. */
  identity?: { signer: CoseSigner; referencedAssertions: string[] };
}): Promise<{ asset: Uint8Array; manifest: Uint8Array }> {
  const reserveSize = reserveSizeFor(request.signer);
  return buildSignedManifest({
    definition: { claim_generator_info: [{ name: 'vigil-tests', version: '1.0' }], ...request.definition },
    mime: request.mime,
    source: request.source,
    ingredients: request.ingredients ?? [],
    signer: { alg: request.signer.algorithm, reserveSize, sign: async (claim) => coseSign1(request.signer, claim, reserveSize) },
    ...(request.noEmbed ? { noEmbed: true } : {}),
    ...(request.remoteUrl === undefined ? {} : { remoteUrl: request.remoteUrl }),
    ...(request.identity === undefined
      ? {}
      : {
          identityAssertions: [
            {
              sigType: 'cawg.x509.cose',
              reserveSize: 10_000,
              referencedAssertions: request.identity.referencedAssertions,
              roles: [],
              // The CAWG credential: a COSE_Sign1 by the identity's certificate over the canonical signer payload.
              sign: async (payload: unknown) => coseSign1(request.identity!.signer, encodeSignerPayload(payload as Parameters<typeof encodeSignerPayload>[0])),
            },
          ],
        }),
  });
}

/**
 * A 96×72 JPEG signed through the builder with `definition`, optionally over a parent ingredient
 * (label "parent", title parent-<seed>.jpg): how generators chain manifests (ChatGPT over DALL-E).
 */
export async function signedJpeg(signer: CoseSigner, seed: number, definition: Record<string, unknown>, parent?: Uint8Array): Promise<Uint8Array> {
  const { asset } = await buildWithEngine({
    signer,
    mime: 'image/jpeg',
    source: await syntheticImage(seed, 'jpeg', 96, 72),
    definition,
    ...(parent ? { ingredients: [{ definition: { title: `parent-${seed}.jpg`, relationship: 'parentOf', label: 'parent' }, mime: 'image/jpeg', bytes: parent }] } : {}),
  });
  return asset;
}

export const IPTC = (term: string): string => `http://cv.iptc.org/newscodes/digitalsourcetype/${term}`;

export const MEDIA_DIR = join(process.cwd(), 'fixtures', 'provenance', 'media');

/**
 * A temporary folder with development credentials in `keys/`, made before the suite's tests and
 * removed after them: call inside a describe block.
 */
export function devWorkspace(): { path: (name: string) => string; readonly dev: DevCredentials } {
  let workspace: { dir: string; cleanup: () => Promise<void> } | undefined;
  let dev: DevCredentials | undefined;
  beforeAll(async () => {
    workspace = await tempDir();
    dev = await devCredentials(join(workspace.dir, 'keys'));
  });
  afterAll(() => workspace?.cleanup());
  return {
    path: (name) => join(workspace!.dir, name),
    get dev() {
      return dev!;
    },
  };
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs this checkout's CLI (`vigil <args>`) with extra environment, capturing its exit code and output. */
export async function runVigil(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: process.cwd(), env: { ...process.env, CI: '1', ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
