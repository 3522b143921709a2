import { describe, expect, it } from 'vitest';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createEnginePool } from '../../src/provenance/engine-pool.js';
import { isRasterImage, sniffProvenanceMime, type ProvenanceMime } from '../../src/provenance/formats.js';
import { signImage } from '../../src/provenance/sign.js';
import { verifyBytes, verifyFile, verifyPaths } from '../../src/provenance/verify.js';
import { collectFiles, sidecarPathFor } from '../../src/provenance/walk.js';
import { buildWithEngine, devWorkspace, IPTC, MEDIA_DIR, syntheticImage } from './helpers.js';
import { startFileServer } from './local-servers.js';

/**
 * Every format the bundled c2pa-rs reads and writes, signed and verified from small media files
 * (fixtures/provenance/media, made with ffmpeg), folder runs that account for every file,
 * sidecar manifests, remote (cloud) manifests against a local server, and unparseable files.
 */

const MEDIA: [file: string, mime: string][] = [
  ['clip.mp4', 'video/mp4'],
  ['clip.mov', 'video/quicktime'],
  ['tone.m4a', 'audio/mp4'],
  ['clip.avi', 'video/x-msvideo'],
  ['tone.wav', 'audio/wav'],
  ['tone.mp3', 'audio/mpeg'],
  ['page.pdf', 'application/pdf'],
  ['badge.svg', 'image/svg+xml'],
  ['photo.heic', 'image/heif'],
  ['art.jxl', 'image/jxl'],
];

describe('provenance on every format c2pa-rs reads', () => {
  const workspace = devWorkspace();
  const path = workspace.path;

  it('sniffs each media fixture by its bytes', async () => {
    for (const [file, mime] of MEDIA) expect(sniffProvenanceMime(await readFile(join(MEDIA_DIR, file))), file).toBe(mime);
    expect(sniffProvenanceMime(Buffer.from('just text'))).toBeUndefined();
  });

  it('signs and verifies video, audio, PDF, SVG, HEIC and JPEG XL, and a changed byte makes them Invalid', async () => {
    for (const [file, mime] of MEDIA) {
      const output = path(`signed-${file}`);
      const result = await signImage({ input: join(MEDIA_DIR, file), output, signer: workspace.dev.signer, sourceType: 'digitalCapture' });
      expect(result.format, file).toBe(mime);
      // Non-raster formats (and HEIC where sharp has no HEVC decoder) are signed without a thumbnail, with a warning.
      if (!isRasterImage(mime as ProvenanceMime)) expect(result.warnings.join(' '), file).toMatch(/no claim thumbnail/);
      const bytes = Buffer.from(await readFile(output));
      const verified = await verifyBytes(bytes, output, { trustLists: [workspace.dev.trustList] });
      expect([verified.state, verified.format], file).toEqual(['Trusted', mime]);
      expect(verified.disclosure?.level, file).toBe('none');
      // Flip one byte of the original media data (from the middle of the input, found in the output).
      const tampered = Buffer.from(bytes);
      const original = await readFile(join(MEDIA_DIR, file));
      const middle = Math.floor(original.length / 2);
      // c2pa-rs rewrites PDF objects and SVG markup, so there a known part of the content is changed instead.
      const marker = { 'application/pdf': 'MediaBox', 'image/svg+xml': 'fill=' }[mime];
      const at = marker ? tampered.indexOf(marker) + 1 : tampered.indexOf(original.subarray(middle, middle + 12));
      expect(at, file).toBeGreaterThan(0);
      tampered[at + 6] ^= 0x01;
      const broken = await verifyBytes(tampered, output);
      expect(broken.state, file).toBe('Invalid');
      expect(broken.codes.failure.some((code) => /^assertion\.(dataHash|bmffHash)\.mismatch$/.test(code.code)), file).toBe(true);
      if (mime === 'image/svg+xml') {
        // Markup broken so c2pa-rs cannot parse it, with the (base64) manifest still inside: Invalid, not Unreadable.
        const unparseable = Buffer.from(bytes.toString('utf8').replace('<svg', '<svg <'));
        expect((await verifyBytes(unparseable, output)).state, file).toBe('Invalid');
      }
    }
  });

  it('signs into a sidecar: the asset is written unchanged and <name>.c2pa verifies it (BMFF formats are refused)', async () => {
    const output = path('sidecar-tone.wav');
    const result = await signImage({ input: join(MEDIA_DIR, 'tone.wav'), output, signer: workspace.dev.signer, sidecar: true, sourceType: 'digitalCapture' });
    expect(result.sidecar).toBe(sidecarPathFor(output));
    expect((await readFile(output)).equals(await readFile(join(MEDIA_DIR, 'tone.wav')))).toBe(true);
    const verified = await verifyFile(output, { trustLists: [workspace.dev.trustList] }, result.sidecar);
    expect(verified).toMatchObject({ state: 'Trusted', sidecar: result.sidecar });
    await expect(signImage({ input: join(MEDIA_DIR, 'clip.mp4'), output: path('sidecar.mp4'), signer: workspace.dev.signer, sidecar: true })).rejects.toThrow(/bound by a BMFF hash, so sign it embedded/);
  });

  it('a truncated JPEG without a manifest is Unreadable, a truncated signed one stays Invalid', async () => {
    const plain = await syntheticImage(41);
    const cut = await verifyBytes(plain.subarray(0, 40), 'cut.jpg');
    expect(cut.state).toBe('Unreadable');
    expect(cut.error).toMatch(/cannot be parsed as image\/jpeg and carries no manifest/);
    expect(cut.codes.failure).toEqual([]);
    const signedPath = path('signed-cut.jpg');
    await writeFile(path('cut-in.jpg'), plain);
    await signImage({ input: path('cut-in.jpg'), output: signedPath, signer: workspace.dev.signer });
    const signed = await readFile(signedPath);
    const half = await verifyBytes(signed.subarray(0, Math.floor(signed.length / 2)), 'half.jpg');
    expect(half.state).toBe('Invalid');
    // A PDF cut before its cross-reference table cannot be parsed and holds no manifest.
    const pdf = await readFile(join(MEDIA_DIR, 'page.pdf'));
    const broken = await verifyBytes(pdf.subarray(0, 60), 'broken.pdf');
    expect(broken.state).toBe('Unreadable');
    expect(broken.error).toMatch(/cannot be parsed as application\/pdf and carries no manifest/);
  });

  it('a folder run verifies or lists every file, with --include/--exclude, and sidecars are used with --sidecar', async () => {
    const folder = path('folder');
    await mkdir(join(folder, 'drafts'), { recursive: true });
    await mkdir(join(folder, '.cache'), { recursive: true });
    for (const [file] of MEDIA) await copyFile(join(MEDIA_DIR, file), join(folder, file));
    await writeFile(join(folder, 'notes.txt'), 'not media');
    await writeFile(join(folder, 'drafts', 'draft.jpg'), await syntheticImage(42));
    await writeFile(join(folder, '.cache', 'thumb.jpg'), await syntheticImage(43));
    // A sidecar: the WAV stays untouched, its manifest sits next to it as tone.c2pa.
    const wav = await readFile(join(MEDIA_DIR, 'tone.wav'));
    const { asset, manifest } = await buildWithEngine({
      signer: workspace.dev.signer,
      mime: 'audio/wav',
      source: wav,
      noEmbed: true,
      definition: { title: 'tone.wav', assertions: [{ label: 'c2pa.actions', data: { actions: [{ action: 'c2pa.created', digitalSourceType: IPTC('trainedAlgorithmicMedia') }] } }] },
    });
    expect(Buffer.from(asset).equals(wav)).toBe(true);
    await writeFile(sidecarPathFor(join(folder, 'tone.wav')), manifest);

    const all = await collectFiles([folder], { exclude: ['drafts/**'] });
    expect(all.files.map((file) => file.slice(folder.length + 1)).sort()).toEqual(MEDIA.map(([file]) => file).sort());
    const reasons = Object.fromEntries(all.skipped.map((entry) => [entry.path.slice(folder.length + 1), entry.reason]));
    expect(reasons['notes.txt']).toMatch(/not a format c2pa-rs reads/);
    expect(reasons['drafts/draft.jpg']).toMatch(/excluded by --exclude drafts\/\*\*/);
    expect(reasons['.cache/thumb.jpg']).toMatch(/hidden/);
    expect(reasons['tone.c2pa']).toMatch(/pass --sidecar/);
    const only = await collectFiles([folder], { include: ['**/*.mp4', '**/*.jpg'] });
    expect(only.files.map((file) => file.slice(folder.length + 1)).sort()).toEqual(['clip.mp4', 'drafts/draft.jpg']);

    const withSidecar = await collectFiles([folder], { exclude: ['drafts/**'], sidecar: true });
    expect(withSidecar.skipped.find((entry) => entry.path.endsWith('tone.c2pa'))?.reason).toMatch(/verified with its asset/);
    const results = await verifyPaths(withSidecar.files, { quiet: true, skipped: withSidecar.skipped, sidecars: withSidecar.sidecars });
    expect(results.summary.files + results.summary.skipped!).toBe(all.files.length + all.skipped.length);
    const tone = results.files.find((file) => file.path.endsWith('tone.wav'))!;
    expect(tone).toMatchObject({ state: 'Valid', sidecar: sidecarPathFor(join(folder, 'tone.wav')) });
    expect(tone.codes.success.find((code) => code.code === 'assertion.dataHash.match')?.finding).toMatch(/matches the sidecar manifest's signed data hash/);
    expect(tone.disclosure?.level).toBe('declared');
    // The same run on two c2pa-rs worker threads gives the same verdicts, in the same order.
    const pool = createEnginePool(2);
    try {
      const parallel = await verifyPaths(withSidecar.files, { quiet: true, skipped: withSidecar.skipped, sidecars: withSidecar.sidecars, engine: pool.read, concurrency: pool.size });
      const verdicts = (run: typeof results): unknown[] => run.files.map((file) => [file.path, file.state, file.disclosure?.level, file.codes.failure.map((code) => code.code)]);
      expect(verdicts(parallel)).toEqual(verdicts(results));
    } finally {
      await pool.close();
    }
    // The same sidecar against a different asset: the hard binding does not hold.
    const other = await verifyFile(join(folder, 'tone.mp3'), {}, sidecarPathFor(join(folder, 'tone.wav')));
    expect(other.state).toBe('Invalid');
    expect(other.codes.failure.map((code) => code.code)).toContain('assertion.dataHash.mismatch');
  });

  it('remote manifests: manifest.inaccessible by default; --fetch-remote fetches within limits from a local server', async () => {
    const wav = await readFile(join(MEDIA_DIR, 'tone.wav'));
    const server = await startFileServer('/manifests/cloud.c2pa', new Uint8Array(0));
    try {
      const { asset, manifest } = await buildWithEngine({
        signer: workspace.dev.signer,
        mime: 'audio/wav',
        source: wav,
        noEmbed: true,
        remoteUrl: server.url,
        definition: { title: 'cloud.wav', assertions: [{ label: 'c2pa.actions', data: { actions: [{ action: 'c2pa.created', digitalSourceType: IPTC('trainedAlgorithmicMedia') }] } }] },
      });
      server.setBody(manifest);
      const offline = await verifyBytes(asset, 'cloud.wav');
      expect(offline.state).toBe('Unreadable');
      expect(offline.codes.failure.map((code) => code.code)).toEqual(['manifest.inaccessible']);
      expect(offline.codes.failure[0].explanation).toMatch(/stored remotely/);
      expect(offline.remoteManifest).toEqual({ url: server.url, fetched: false });
      expect(server.requests).toBe(0);

      const fetched = await verifyBytes(asset, 'cloud.wav', { trustLists: [workspace.dev.trustList], fetchRemote: { maxBytes: 1 << 20, timeoutMs: 5000 } });
      expect(fetched).toMatchObject({ state: 'Trusted', remoteManifest: { url: server.url, fetched: true } });
      expect(fetched.disclosure?.level).toBe('declared');
      expect(server.requests).toBeGreaterThan(0);

      const tooBig = await verifyBytes(asset, 'cloud.wav', { fetchRemote: { maxBytes: 100, timeoutMs: 5000 } });
      expect(tooBig.state).toBe('Unreadable');
      expect(tooBig.remoteManifest?.error).toMatch(/over the 100-byte limit|exceeds the 100-byte limit/);

      server.setDelay(1500);
      const slow = await verifyBytes(asset, 'cloud.wav', { fetchRemote: { maxBytes: 1 << 20, timeoutMs: 200 } });
      expect(slow.state).toBe('Unreadable');
      expect(slow.remoteManifest?.fetched).toBe(false);
      // The global fetch is restored after every guarded read.
      expect(globalThis.fetch.name).not.toBe('');
    } finally {
      await server.close();
    }
  });
});
