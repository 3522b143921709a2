import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScreener, screenImage, type Screener } from '../../src/screen/index.js';
import { verdictFor } from '../../src/screen/fusion.js';
import { readMetadataFacts, scoreMetadata } from '../../src/screen/signals/metadata.js';
import { devCredentials, IPTC, signedJpeg, syntheticImage, tempDir, type DevCredentials } from '../provenance/helpers.js';

/**
 * The metadata signal reads the AI disclosure of the whole C2PA manifest chain (src/provenance/
 * disclosure.ts), on manifests built through c2pa-rs's builder the way generators write them.
 * Before, it read only the active manifest's source types, so a declaration held in a parent
 * ingredient (ChatGPT over DALL-E) came out `no-evidence`.
 */

const agent = (name: string): { name: string; version: string } => ({ name, version: '1.0' });
const created = (type: string): Record<string, unknown> => ({ assertions: [{ label: 'c2pa.actions', data: { actions: [{ action: 'c2pa.created', digitalSourceType: IPTC(type) }] } }] });
const opened = (extra: Record<string, unknown>[] = [], softwareAgent = agent('Share sheet')): Record<string, unknown> => ({
  assertions: [{ label: 'c2pa.actions', data: { actions: [{ action: 'c2pa.opened', softwareAgent, parameters: { ingredientIds: ['parent'] } }, ...extra] } }],
});

describe('metadata signal: AI disclosure across the C2PA manifest chain', () => {
  let workspace: { dir: string; cleanup: () => Promise<void> };
  let dev: DevCredentials;
  let screener: Screener;
  const jpeg = (seed: number): Promise<Buffer> => syntheticImage(seed, 'jpeg', 96, 72);

  const sign = (seed: number, definition: Record<string, unknown>, parent?: Uint8Array): Promise<Uint8Array> => signedJpeg(dev.signer, seed, definition, parent);
  const score = async (bytes: Uint8Array) => scoreMetadata(await readMetadataFacts(bytes));

  beforeAll(async () => {
    workspace = await tempDir('vigil-screen-disclosure-');
    dev = await devCredentials(workspace.dir);
    // Metadata alone: the verdict then depends on provenance only, not on how these small synthetic pixels look.
    screener = await createScreener({ signals: ['metadata'] });
  });
  afterAll(async () => {
    await screener?.release();
    await workspace?.cleanup();
  });

  it('declared in the active manifest: likely-synthetic, citing manifest / assertion / field', async () => {
    const bytes = await sign(1, { title: 'generated.jpg', ...created('trainedAlgorithmicMedia') });
    const metadata = await score(bytes);
    expect(metadata).toMatchObject({ cue: 'declared', declared: true, aiInvolved: false });
    expect(metadata.findings[0]).toMatch(/^C2PA declares AI generation: c2pa\.created with digital source type trainedAlgorithmicMedia .* at \S+ \/ c2pa\.actions\.v2 \/ actions\[0\]\.digitalSourceType$/);
    const result = await screenImage(screener, bytes, 'generated.jpg');
    expect(result.verdict).toBe('likely-synthetic');
    expect(result.reasons[0]).toMatch(/^metadata declares AI generation: C2PA declares AI generation/);
  });

  it('AI declared only in a parent two levels down (ChatGPT over DALL-E): no longer no-evidence; uncertain, naming the ingredient chain', async () => {
    const dalle = await sign(2, { title: 'dalle.png', ...created('trainedAlgorithmicMedia') });
    const converted = await sign(3, opened([{ action: 'c2pa.converted' }], agent('ChatGPT')), dalle);
    const shared = await sign(4, opened([{ action: 'c2pa.resized' }]), converted);
    const metadata = await score(shared);
    expect(metadata).toMatchObject({ cue: 'ai-involved', declared: false, aiInvolved: true });
    expect(metadata.findings[0]).toMatch(/an ingredient, not necessarily the whole image.*trainedAlgorithmicMedia.*\(via ingredient "parent-4\.jpg" -> "parent-3\.jpg"\)$/);
    const result = await screenImage(screener, shared, 'shared.jpg');
    expect(result.verdict).toBe('uncertain');
    expect(result.reasons[0]).toMatch(/^metadata says generative AI was involved, so the verdict is at least uncertain: C2PA declares an ingredient AI-generated/);

    // The same pixels without Content Credentials: nothing says AI. The disclosure floors the verdict
    // but does not raise P(synthetic): the metadata score is that of the rest of the metadata.
    const plain = await screenImage(screener, await jpeg(4), 'plain.jpg');
    expect(plain.signals.metadata!.cue).toBe('absent');
    expect(metadata.score).toBe(plain.signals.metadata!.score);
    expect(result.score).toBe(plain.score);
  });

  it('an edit with generative AI (generative fill on a camera photo) is ai-involved, not declared', async () => {
    const camera = await sign(5, { title: 'camera.jpg', ...created('digitalCapture') });
    expect((await score(camera)).cue).not.toMatch(/declared|ai-involved/);
    const edited = await sign(6, opened([{ action: 'c2pa.edited', digitalSourceType: IPTC('compositeWithTrainedAlgorithmicMedia') }], agent('Photoshop')), camera);
    const metadata = await score(edited);
    expect(metadata).toMatchObject({ cue: 'ai-involved', aiInvolved: true });
    expect(metadata.findings[0]).toMatch(/edit or composite with generative AI \(part of the image, not necessarily all of it\).*actions\[1\]\.digitalSourceType$/);
    expect((await screenImage(screener, edited, 'edited.jpg')).verdict).not.toBe('no-evidence');
  });

  it('a documented vendor assertion (Adobe generative-AI) counts as AI involvement, naming the model', async () => {
    const bytes = await sign(7, {
      title: 'firefly.jpg',
      assertions: [
        { label: 'c2pa.actions', data: { actions: [{ action: 'c2pa.opened', parameters: { ingredientIds: ['parent'] } }, { action: 'c2pa.edited' }] } },
        { label: 'com.adobe.generative-ai', data: { description: 'Firefly', version: '3' } },
      ],
    }, await jpeg(8));
    const metadata = await score(bytes);
    expect(metadata).toMatchObject({ cue: 'ai-involved', aiInvolved: true });
    expect(metadata.findings[0]).toMatch(/^C2PA vendor assertion records generative-AI use \(Firefly 3;.* at \S+ \/ com\.adobe\.generative-ai$/);
  });

  it('AI only in free text is shown as a weak cue and changes neither cue nor score', async () => {
    const bytes = await sign(9, opened([{ action: 'c2pa.edited', parameters: { description: 'AI Generated Image' } }], agent('Bing Image Creator')), await jpeg(10));
    const metadata = await score(bytes);
    expect(metadata).toMatchObject({ cue: 'absent', declared: false, aiInvolved: false, score: 0.55 });
    expect(metadata.findings).toContainEqual(expect.stringMatching(/^C2PA free text mentions AI \(weak cue, not a declaration\): "AI Generated Image" at /));
    // The manifest itself is reported, not passed over as if the file had none.
    expect(metadata.findings).toContainEqual(expect.stringMatching(/^C2PA Content Credentials present \(claim generator ".+"\) and disclose no AI use \(this does not show the content is not AI-made; /));
  });

  it('AI involvement floors the verdict at uncertain; a declaration forces likely-synthetic; out of distribution stays uncertain', () => {
    const thresholds = { likelySynthetic: 0.9, uncertain: 0.5 };
    expect(verdictFor(0.1, thresholds, false)).toBe('no-evidence');
    expect(verdictFor(0.1, thresholds, false, false, true)).toBe('uncertain');
    expect(verdictFor(0.95, thresholds, false, false, true)).toBe('likely-synthetic');
    expect(verdictFor(0.95, thresholds, false, true, true)).toBe('uncertain');
    expect(verdictFor(0.1, thresholds, true, true, false)).toBe('likely-synthetic');
  });
});
