import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readAsset } from '../../src/provenance/engine.js';
import { signImage } from '../../src/provenance/sign.js';
import { certificateValidity } from '../../src/provenance/summarize.js';
import { formatTrustText } from '../../src/provenance/text.js';
import { engineTrust, loadTrustList, loadTrustLists, trustListOf } from '../../src/provenance/trust.js';
import { rfc3161Provider } from '../../src/provenance/tsa.js';
import { verifyBytes } from '../../src/provenance/verify.js';
import { buildCertificate, CLAIM_SIGNING_EKUS } from '../../src/provenance/x509.js';
import { buildWithEngine, devCredentials, devWorkspace, IPTC, MEDIA_DIR, syntheticImage, type DevCredentials } from './helpers.js';
import { hasOpensslTs, startFileServer, startLocalTsa, type LocalTsa } from './local-servers.js';

/**
 * Trust input (PEM, JSON trust lists, end-entity allowed lists, TSA anchors) and time: RFC 3161
 * time-stamps from a local openssl TSA, and a certificate that expires after a time-stamped
 * signature staying valid when the TSA is trusted.
 */

const opensslTs = await hasOpensslTs();

describe('trust lists and time-stamps', () => {
  const workspace = devWorkspace();
  const path = workspace.path;
  let dev: DevCredentials;

  beforeAll(async () => {
    dev = workspace.dev;
    await writeFile(path('in.jpg'), await syntheticImage(61));
    await signImage({ input: path('in.jpg'), output: path('signed.jpg'), signer: dev.signer });
  });

  it('a JSON trust list (Microsoft validator format) trusts the signer; thumbprint-only entries are listed as unusable', async () => {
    const ca = new X509Certificate(await readFile(dev.keygen.files.caCert));
    await writeFile(
      path('list.json'),
      JSON.stringify({
        name: 'Test newsroom list',
        last_updated: '2026-11-01T00:00:00Z',
        entities: [
          { name: 'Dev CA', display_name: 'Dev', isCA: true, jwks: { keys: [{ kty: 'EC', x5c: [ca.raw.toString('base64')] }] } },
          { name: 'Pinned only', isCA: false, jwks: { keys: [{ kty: 'EC', 'x5t#S256': 'abc' }] } },
        ],
      }),
    );
    const list = await loadTrustList('newsroom', path('list.json'));
    expect(list).toMatchObject({ format: 'json', purpose: 'signer', title: 'Test newsroom list', lastUpdated: '2026-11-01T00:00:00Z' });
    expect(list.anchors).toHaveLength(1);
    expect(list.skipped).toEqual(['entities[1] (Pinned only) key 0: thumbprint only (x5t#S256); c2pa-rs needs the certificate itself']);
    const result = await verifyBytes(await readFile(path('signed.jpg')), 'signed.jpg', { trustLists: [list] });
    expect(result.state).toBe('Trusted');
    expect(result.trustLists).toEqual([{ name: 'newsroom', trusted: true }]);
    expect(formatTrustText([list])).toMatch(/newsroom: signer trust list, JSON .*"Test newsroom list" \(updated 2026-11-01T00:00:00Z\)\n {2}1 anchor\(s\).*\n {4}anchor .*\n {4}unusable: entities\[1\]/);
    await writeFile(path('broken.json'), '{"entities": 3}');
    await expect(loadTrustList('broken', path('broken.json'))).rejects.toThrow(/broken\.json: expected a JSON trust list with an "entities" array/);
  });

  it('an end-entity certificate on its own is an allowed list: exactly that signer is trusted', async () => {
    const leafPem = (await readFile(dev.keygen.files.signerChain, 'utf8')).split('-----END CERTIFICATE-----')[0] + '-----END CERTIFICATE-----\n';
    await writeFile(path('leaf.pem'), leafPem);
    const [allowed] = await loadTrustLists({ signer: [`pinned=${path('leaf.pem')}`] });
    expect([allowed.anchors.length, allowed.allowed.length]).toEqual([0, 1]);
    expect((await verifyBytes(await readFile(path('signed.jpg')), 'signed.jpg', { trustLists: [allowed] })).state).toBe('Trusted');
    const other = await devCredentials(path('other-keys'));
    await signImage({ input: path('in.jpg'), output: path('other.jpg'), signer: other.signer });
    // Same CA name, different key: the pinned certificate does not vouch for it.
    expect((await verifyBytes(await readFile(path('other.jpg')), 'other.jpg', { trustLists: [allowed] })).state).toBe('Valid');
  });

  it('a time-stamp authority anchor never vouches for a signer, and each list keeps its purpose', async () => {
    const [asTsa] = await loadTrustLists({ tsa: [`tsa=${dev.keygen.files.caCert}`] });
    const result = await verifyBytes(await readFile(path('signed.jpg')), 'signed.jpg', { trustLists: [asTsa] });
    expect(result.state).toBe('Valid');
    expect(engineTrust([asTsa, trustListOf('c', 'c.pem', asTsa.anchors, { purpose: 'cawg' })]).map((entry) => entry.kind)).toEqual(['tsa', 'cawg']);
  });

  it('CAWG identity anchors (--cawg-anchors) vouch for the creator identity, not for the claim signer', async () => {
    const identity = await devCredentials(path('identity-keys'), 'es256');
    const { asset } = await buildWithEngine({
      signer: dev.signer,
      mime: 'image/jpeg',
      source: await syntheticImage(62),
      definition: { title: 'credited.jpg', assertions: [{ label: 'c2pa.actions', data: { actions: [{ action: 'c2pa.created', digitalSourceType: IPTC('digitalCapture') }] } }] },
      identity: { signer: identity.signer, referencedAssertions: ['c2pa.actions'] },
    });
    const without = await verifyBytes(asset, 'credited.jpg', { trustLists: [dev.trustList] });
    expect(without.state).toBe('Valid');
    expect(without.codes.failure.map((code) => code.code)).toEqual(['cawg.x509.credential.untrusted']);
    const [cawg] = await loadTrustLists({ cawg: [`creators=${identity.keygen.files.caCert}`] });
    const withCawg = await verifyBytes(asset, 'credited.jpg', { trustLists: [dev.trustList, cawg] });
    expect(withCawg.state).toBe('Trusted');
    expect(withCawg.codes.success.map((code) => code.code)).toContain('cawg.x509.credential.trusted');
    expect(withCawg.trustLists).toEqual([{ name: 'dev', trusted: true }]);
    // The identity's CA given as a signer list instead does not vouch for the CAWG credential.
    const misused = await verifyBytes(asset, 'credited.jpg', { trustLists: [dev.trustList, await loadTrustList('creators', identity.keygen.files.caCert)] });
    expect(misused.codes.failure.map((code) => code.code)).toContain('cawg.x509.credential.untrusted');
  });

  it('says whether a certificate expired before or after signing', () => {
    const certificate = { notBefore: '2024-01-01T00:00:00Z', notAfter: '2025-01-01T00:00:00Z' };
    const now = new Date('2026-06-01T00:00:00Z');
    expect(certificateValidity(certificate, { time: '2025-03-01T00:00:00Z', attested: true }, now)).toMatch(/was NOT valid when the claim was signed/);
    expect(certificateValidity(certificate, { time: '2024-06-01T00:00:00Z', attested: true }, now)).toMatch(/valid when the claim was signed.*expired later.*judged at the time-stamp/);
    expect(certificateValidity(certificate, { time: '2024-06-01T00:00:00Z', attested: false }, now)).toMatch(/expired after signing.*only the signer.s word/);
    expect(certificateValidity(certificate, { time: '2024-06-01T00:00:00Z', attested: false }, new Date('2024-07-01T00:00:00Z'))).toBeUndefined();
  });

  describe.skipIf(!opensslTs)('with a local RFC 3161 time-stamp authority (openssl ts)', () => {
    let tsa: LocalTsa;
    beforeAll(async () => {
      tsa = await startLocalTsa(path('tsa'));
    });
    afterAll(() => tsa?.close());

    it('--tsa time-stamps the signature; a certificate that expires later stays Trusted when the TSA is trusted', async () => {
      const ca = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const leaf = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const now = Date.now();
      const name = { commonName: 'short-lived CA', organization: 'vigil tests' };
      const caCert = buildCertificate({ subject: name, issuer: name, subjectPublicKey: ca.publicKey, issuerPublicKey: ca.publicKey, issuerPrivateKey: ca.privateKey, notBefore: new Date(now - 86_400_000), notAfter: new Date(now + 86_400_000), isCa: true });
      const notAfter = new Date(now + 4000);
      const leafCert = buildCertificate({
        subject: { commonName: 'short-lived signer', organization: 'vigil tests' },
        issuer: name,
        subjectPublicKey: leaf.publicKey,
        issuerPublicKey: ca.publicKey,
        issuerPrivateKey: ca.privateKey,
        notBefore: new Date(now - 60_000),
        notAfter,
        isCa: false,
        extendedKeyUsages: [[...CLAIM_SIGNING_EKUS.keys()][0]],
      });
      const signer = { algorithm: 'es256' as const, chain: [leafCert], key: leaf.privateKey };
      const stamped = await signImage({ input: path('in.jpg'), output: path('stamped.jpg'), signer, timestamp: rfc3161Provider(tsa.url), thumbnail: false });
      expect(stamped.timestamped).toBe(true);
      expect(tsa.requests).toBe(1);
      const plain = await signImage({ input: path('in.jpg'), output: path('unstamped.jpg'), signer, thumbnail: false });
      expect(plain.timestamped).toBe(false);
      const signers = trustListOf('short', 'short.pem', [caCert]);
      const tsaList = await loadTrustList('tsa', tsa.rootFile, 'tsa');
      const before = await verifyBytes(await readFile(path('stamped.jpg')), 'stamped.jpg', { trustLists: [signers, tsaList] });
      expect(before.state).toBe('Trusted');
      expect(before.activeManifest?.timestamp.status).toBe('trusted');
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, notAfter.getTime() - Date.now() + 1200)));

      const withTsa = await verifyBytes(await readFile(path('stamped.jpg')), 'stamped.jpg', { trustLists: [signers, tsaList] });
      expect(withTsa.state).toBe('Trusted');
      expect(withTsa.activeManifest?.signer?.validity).toMatch(/valid when the claim was signed.*expired later.*judged at the time-stamp/);
      const withoutTsa = await verifyBytes(await readFile(path('stamped.jpg')), 'stamped.jpg', { trustLists: [signers] });
      expect(withoutTsa.state).toBe('Invalid');
      expect(withoutTsa.activeManifest?.timestamp.status).toBe('untrusted');
      const expired = withoutTsa.codes.failure.find((code) => code.code === 'signingCredential.expired');
      expect(expired?.finding).toMatch(/expired after signing.*without a trusted time-stamp/);
      const unstamped = await verifyBytes(await readFile(path('unstamped.jpg')), 'unstamped.jpg', { trustLists: [signers, tsaList] });
      expect(unstamped.state).toBe('Invalid');
      expect(unstamped.codes.failure.map((code) => code.code)).toContain('signingCredential.expired');
    }, 30_000);

    it('signs audio with a time-stamp too, and keeps a cloud-only parent as a remote reference', async () => {
      const wav = await readFile(join(MEDIA_DIR, 'tone.wav'));
      const server = await startFileServer('/cloud.c2pa', new Uint8Array(0));
      try {
        const cloud = await buildWithEngine({
          signer: dev.signer,
          mime: 'audio/wav',
          source: wav,
          noEmbed: true,
          remoteUrl: server.url,
          definition: { title: 'cloud.wav', assertions: [{ label: 'c2pa.actions', data: { actions: [{ action: 'c2pa.created', digitalSourceType: IPTC('digitalCapture') }] } }] },
        });
        await writeFile(path('cloud.wav'), cloud.asset);
        const result = await signImage({ input: join(MEDIA_DIR, 'tone.wav'), output: path('edit.wav'), signer: dev.signer, parent: path('cloud.wav'), timestamp: rfc3161Provider(tsa.url), sourceType: 'humanEdits' });
        expect(result.timestamped).toBe(true);
        expect(result.warnings.join(' ')).toMatch(/only a remote \(cloud\) manifest at http:\/\/127\.0\.0\.1:\d+\/cloud\.c2pa; the ingredient keeps that reference/);
        expect(server.requests).toBe(0);
        const reading = await readAsset('audio/wav', await readFile(path('edit.wav')));
        const ingredient = reading.store.manifests[reading.store.active_manifest!].ingredients?.[0];
        expect(JSON.stringify(ingredient)).toContain(server.url);
      } finally {
        await server.close();
      }
    });
  });
});
