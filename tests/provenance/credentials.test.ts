import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VigilInputError } from '../../src/core/errors.js';
import { loadSigningCredentials } from '../../src/provenance/credentials.js';
import { generateDevCredentials, type KeygenResult } from '../../src/provenance/keygen.js';
import { buildCertificate, OID, readCertificateExtensions, type KeyUsage } from '../../src/provenance/x509.js';
import { tempDir } from './helpers.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

describe('signing credentials', () => {
  let workspace: { dir: string; cleanup: () => Promise<void> };
  let dev: KeygenResult;
  let caKey: KeyObject;
  let caCertPem: string;

  beforeAll(async () => {
    workspace = await tempDir();
    dev = await generateDevCredentials({ outDir: join(workspace.dir, 'dev') });
    caKey = createPrivateKey(await readFile(dev.files.caKey, 'utf8'));
    caCertPem = await readFile(dev.files.caCert, 'utf8');
  });
  afterAll(() => workspace.cleanup());

  /** Writes a signer issued by the dev CA with the given deviations; returns its chain and key paths. */
  async function issue(
    name: string,
    options: { isCa?: boolean; keyUsages?: KeyUsage[]; ekus?: string[]; notBefore?: Date; notAfter?: Date; key?: { publicKey: KeyObject; privateKey: KeyObject } } = {},
  ): Promise<{ cert: string; key: string }> {
    const ca = new X509Certificate(caCertPem);
    const pair = options.key ?? generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const caName = { commonName: 'vigil development CA (untrusted)', organization: 'UNTRUSTED TEST CREDENTIALS', organizationalUnit: 'FOR TESTING ONLY' };
    const cert = buildCertificate({
      subject: { commonName: name },
      issuer: caName,
      subjectPublicKey: pair.publicKey,
      issuerPublicKey: createPublicKey(ca.publicKey.export({ type: 'spki', format: 'pem' })),
      issuerPrivateKey: caKey,
      notBefore: options.notBefore ?? new Date(Date.now() - HOUR),
      notAfter: options.notAfter ?? new Date(Date.now() + DAY),
      isCa: options.isCa ?? false,
      extendedKeyUsages: options.ekus ?? [OID.documentSigning],
      ...(options.keyUsages ? { keyUsages: options.keyUsages } : {}),
    });
    const certPath = join(workspace.dir, `${name}.pem`);
    const keyPath = join(workspace.dir, `${name}.key.pem`);
    await writeFile(certPath, cert.toString() + caCertPem);
    await writeFile(keyPath, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    return { cert: certPath, key: keyPath };
  }

  async function refusal(promise: Promise<unknown>): Promise<string> {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(VigilInputError);
    return (error as VigilInputError).message;
  }

  it('keygen writes a CA and a C2PA signer with the right extensions, keys readable only by the owner', async () => {
    const [signerPem] = (await readFile(dev.files.signerChain, 'utf8')).match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)!;
    const signer = new X509Certificate(signerPem);
    const ca = new X509Certificate(caCertPem);
    expect(signer.subject).toMatch(/UNTRUSTED/);
    expect(readCertificateExtensions(signer)).toEqual({
      digitalSignature: true,
      keyCertSign: false,
      isCa: false,
      extendedKeyUsages: [OID.documentSigning, OID.emailProtection],
    });
    expect(readCertificateExtensions(ca)).toMatchObject({ isCa: true, keyCertSign: true, digitalSignature: false });
    expect(signer.verify(ca.publicKey)).toBe(true);
    expect(ca.ca).toBe(true);
    expect((await stat(dev.files.signerKey)).mode & 0o077).toBe(0);
  });

  it('keygen refuses to overwrite credentials without overwrite', async () => {
    expect(await refusal(generateDevCredentials({ outDir: join(workspace.dir, 'dev') }))).toMatch(/already exists; pass --force/);
  });

  it('loads the dev credentials, infers es256 and leaves the self-signed root out of x5chain', async () => {
    const signer = await loadSigningCredentials({ certPath: dev.files.signerChain, keyPath: dev.files.signerKey });
    expect(signer.algorithm).toBe('es256');
    expect(signer.chain).toHaveLength(1);
  });

  it('refuses a key that does not match the certificate, naming both files', async () => {
    const other = await generateDevCredentials({ outDir: join(workspace.dir, 'other') });
    const message = await refusal(loadSigningCredentials({ certPath: dev.files.signerChain, keyPath: other.files.signerKey }));
    expect(message).toContain('does not match the signing certificate');
    expect(message).toContain(other.files.signerKey);
  });

  it('refuses a CA certificate as signer', async () => {
    const { cert, key } = await issue('ca-as-signer', { isCa: true, keyUsages: ['digitalSignature', 'keyCertSign'] });
    expect(await refusal(loadSigningCredentials({ certPath: cert, keyPath: key }))).toMatch(/is a CA certificate/);
  });

  it('refuses a certificate without digitalSignature, or without keyUsage at all', async () => {
    const noDigital = await issue('no-digital-signature', { keyUsages: ['keyEncipherment'] });
    expect(await refusal(loadSigningCredentials({ certPath: noDigital.cert, keyPath: noDigital.key }))).toMatch(/lacks the digitalSignature key usage/);
    const none = await issue('no-key-usage', { keyUsages: [] });
    expect(await refusal(loadSigningCredentials({ certPath: none.cert, keyPath: none.key }))).toMatch(/has no keyUsage extension/);
  });

  it('refuses a certificate without a C2PA extended key usage (anyExtendedKeyUsage is not enough)', async () => {
    const { cert, key } = await issue('any-eku', { ekus: [OID.anyExtendedKeyUsage] });
    expect(await refusal(loadSigningCredentials({ certPath: cert, keyPath: key }))).toMatch(/lacks a C2PA extended key usage .*found: anyExtendedKeyUsage/);
  });

  it('refuses an expired certificate and one not yet valid', async () => {
    const expired = await issue('expired', { notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) });
    expect(await refusal(loadSigningCredentials({ certPath: expired.cert, keyPath: expired.key }))).toMatch(/signing certificate expired on/);
    const future = await issue('future', { notBefore: new Date(Date.now() + DAY), notAfter: new Date(Date.now() + 2 * DAY) });
    expect(await refusal(loadSigningCredentials({ certPath: future.cert, keyPath: future.key }))).toMatch(/is not valid before/);
  });

  it('refuses an algorithm the key cannot sign with, and keys C2PA does not allow', async () => {
    expect(await refusal(loadSigningCredentials({ certPath: dev.files.signerChain, keyPath: dev.files.signerKey, algorithm: 'es384' }))).toMatch(
      /--alg es384 cannot sign with .* an EC prime256v1 key/,
    );
    expect(await refusal(loadSigningCredentials({ certPath: dev.files.signerChain, keyPath: dev.files.signerKey, algorithm: 'rs256' }))).toMatch(
      /Expected one of es256, .* for --alg but received "rs256"/,
    );
    const k1 = await issue('secp256k1', { key: generateKeyPairSync('ec', { namedCurve: 'secp256k1' }) });
    expect(await refusal(loadSigningCredentials({ certPath: k1.cert, keyPath: k1.key }))).toMatch(/unsupported algorithm: an EC secp256k1 key/);
  });

  it('reads SEC1 EC keys and encrypted PKCS#8 keys with the passphrase from an environment variable', async () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const { cert } = await issue('sec1', { key: pair });
    const sec1Path = join(workspace.dir, 'sec1-format.key.pem');
    await writeFile(sec1Path, pair.privateKey.export({ type: 'sec1', format: 'pem' }));
    expect((await readFile(sec1Path, 'utf8')).startsWith('-----BEGIN EC PRIVATE KEY-----')).toBe(true);
    expect((await loadSigningCredentials({ certPath: cert, keyPath: sec1Path })).algorithm).toBe('es256');

    const encryptedPath = join(workspace.dir, 'encrypted.key.pem');
    await writeFile(encryptedPath, pair.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'correct horse' }));
    expect(await refusal(loadSigningCredentials({ certPath: cert, keyPath: encryptedPath, passphraseEnv: 'VIGIL_TEST_UNSET_PASSPHRASE' }))).toMatch(
      /encrypted; set its passphrase in the environment variable VIGIL_TEST_UNSET_PASSPHRASE/,
    );
    process.env.VIGIL_TEST_PASSPHRASE = 'wrong';
    expect(await refusal(loadSigningCredentials({ certPath: cert, keyPath: encryptedPath, passphraseEnv: 'VIGIL_TEST_PASSPHRASE' }))).toMatch(
      /cannot decrypt the key with the passphrase in VIGIL_TEST_PASSPHRASE/,
    );
    process.env.VIGIL_TEST_PASSPHRASE = 'correct horse';
    expect((await loadSigningCredentials({ certPath: cert, keyPath: encryptedPath, passphraseEnv: 'VIGIL_TEST_PASSPHRASE' })).algorithm).toBe('es256');
    delete process.env.VIGIL_TEST_PASSPHRASE;
  });

  it('never puts key material in an error message', async () => {
    const keyPem = await readFile(dev.files.signerKey, 'utf8');
    const body = keyPem.split('\n').filter((line) => line && !line.startsWith('-----'));
    const garbledPath = join(workspace.dir, 'garbled.key.pem');
    await writeFile(garbledPath, keyPem.replace(body[1], body[1].split('').reverse().join('')));
    const messages = [
      await refusal(loadSigningCredentials({ certPath: dev.files.signerChain, keyPath: garbledPath })),
      await refusal(loadSigningCredentials({ certPath: dev.files.signerKey, keyPath: dev.files.signerKey })),
      await refusal(loadSigningCredentials({ certPath: dev.files.signerChain, keyPath: dev.files.signerChain })),
    ];
    for (const message of messages) for (const line of body) expect(message).not.toContain(line.slice(0, 24));
  });
});
