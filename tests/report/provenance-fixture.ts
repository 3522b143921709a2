/**
 * A real provenance results document: a fixture image signed with throw-away dev credentials and a
 * hostile claim generator, saved under a hostile file name, then verified with the dev CA as a trust
 * list, next to an unsigned image and a tampered copy of the signed one.
 */
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadSigningCredentials } from '../../src/provenance/credentials.js';
import { generateDevCredentials } from '../../src/provenance/keygen.js';
import type { ProvenanceResults } from '../../src/provenance/result.js';
import { signImage } from '../../src/provenance/sign.js';
import { loadTrustList } from '../../src/provenance/trust.js';
import { verifyPaths } from '../../src/provenance/verify.js';
import { XSS } from './documents.js';

export const FIXTURE_IMAGE = 'fixtures/screen/heldout/real/real-heldout-000.jpg';

/** A file name that is valid on Linux and an HTML injection if rendered raw. */
export const HOSTILE_NAME = `"><img src=x onerror="window.__xss=4">.jpg`;

export async function provenanceDocument(dir: string): Promise<ProvenanceResults> {
  const keys = await generateDevCredentials({ outDir: join(dir, 'keys'), organization: 'vigil report tests' });
  const signer = await loadSigningCredentials({ certPath: keys.files.signerChain, keyPath: keys.files.signerKey });
  const signed = join(dir, HOSTILE_NAME);
  await signImage({ input: FIXTURE_IMAGE, output: signed, signer, generator: `${XSS.generator} 1.0`, title: XSS.label });
  // Tampered: flip bytes in the middle of the signed file (inside the image data).
  const tampered = join(dir, 'tampered.jpg');
  const bytes = await readFile(signed);
  for (let i = bytes.length - 200; i < bytes.length - 150; i++) bytes[i] ^= 0xff;
  await writeFile(tampered, bytes);
  const unsigned = join(dir, 'unsigned.jpg');
  await copyFile(FIXTURE_IMAGE, unsigned);
  const trust = await loadTrustList('vigil-test-ca', keys.files.caCert);
  return verifyPaths([signed, tampered, unsigned], { trustLists: [trust], quiet: true });
}
